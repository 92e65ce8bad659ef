-- Foundation schema (SQLite). Times are UTC microseconds since the epoch; ids are UUID text.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters (name, value) VALUES ('case_number', 10000);

CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    name TEXT,
    organisation_id TEXT REFERENCES organisations(id),
    language TEXT,
    time_zone TEXT,
    tier TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    merged_into TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE identities (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX identities_customer ON identities (customer_id);

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT,
    skills TEXT NOT NULL DEFAULT '[]',
    languages TEXT NOT NULL DEFAULT '[]',
    ui_language TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE agent_teams (
    agent_id TEXT NOT NULL REFERENCES agents(id),
    team_id TEXT NOT NULL REFERENCES teams(id),
    PRIMARY KEY (agent_id, team_id)
);

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    team_id TEXT REFERENCES teams(id),
    assignee_id TEXT REFERENCES agents(id),
    tags TEXT NOT NULL DEFAULT '[]',
    fields TEXT NOT NULL DEFAULT '{}',
    channel TEXT NOT NULL,
    language TEXT,
    follow_up_of TEXT REFERENCES cases(id),
    contact_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    waiting_since INTEGER
);
CREATE INDEX cases_created ON cases (created_at, id);
CREATE INDEX cases_customer ON cases (customer_id, created_at);
CREATE INDEX cases_status ON cases (status, created_at);
CREATE INDEX cases_team ON cases (team_id, status, created_at);
CREATE INDEX cases_assignee ON cases (assignee_id, status, created_at);

CREATE TABLE case_tags (
    case_id TEXT NOT NULL REFERENCES cases(id),
    tag TEXT NOT NULL,
    PRIMARY KEY (tag, case_id)
);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    channel TEXT NOT NULL,
    direction TEXT NOT NULL,
    visibility TEXT NOT NULL,
    author TEXT NOT NULL,
    subject TEXT,
    text TEXT NOT NULL,
    html TEXT,
    attachments TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL
);
CREATE INDEX contacts_case ON contacts (case_id, created_at);

CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    case_id TEXT,
    customer_id TEXT,
    type TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX events_case ON events (case_id, seq);
CREATE INDEX events_customer ON events (customer_id, seq);

-- Content-addressed blobs: small ones inline, large ones in append-only pack files.
CREATE TABLE blobs (
    hash TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    data BLOB,
    pack INTEGER,
    pack_offset INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    status TEXT NOT NULL,
    run_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    lease_token TEXT,
    lease_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);

CREATE TABLE projection_checkpoints (
    name TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The "stats" projection: counters kept from the event log.
CREATE TABLE stat_counts (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);

CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_created ON idempotency (created_at);

-- The agent workspace: queue order, drafts and saved views.

-- Queues list unsolved cases by what is due first: priority, then the oldest unanswered customer
-- contact (answered cases after those, oldest first). The writer keeps both columns (see
-- queue_due in sql/common.rs); the expression here fills them for existing rows.
ALTER TABLE cases ADD COLUMN unsolved INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN queue_due INTEGER NOT NULL DEFAULT 0;
UPDATE cases SET
    unsolved = CASE WHEN status IN ('new', 'open', 'waiting_on_customer', 'waiting_on_third_party') THEN 1 ELSE 0 END,
    queue_due = (CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END) * 100000000000000000
        + COALESCE(waiting_since, 50000000000000000 + created_at);
CREATE INDEX cases_queue ON cases (unsolved, queue_due, id);
CREATE INDEX cases_queue_assignee ON cases (assignee_id, unsolved, queue_due, id);
-- "Unassigned": PostgreSQL does not order by the columns after an IS NULL condition.
CREATE INDEX cases_queue_unassigned ON cases (unsolved, queue_due, id) WHERE assignee_id IS NULL;
CREATE INDEX cases_queue_team ON cases (team_id, unsolved, queue_due, id);
CREATE INDEX cases_queue_status ON cases (status, queue_due, id);
CREATE INDEX cases_status_updated ON cases (status, updated_at, id);
CREATE INDEX contacts_case_page ON contacts (case_id, created_at, id);
CREATE INDEX events_case_at ON events (case_id, at);

-- An agent's unsent reply or note on a case, kept across an expired session.
CREATE TABLE drafts (
    agent_id TEXT NOT NULL REFERENCES agents(id),
    case_id TEXT NOT NULL REFERENCES cases(id),
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (agent_id, case_id)
);

-- An agent's saved queue filters.
CREATE TABLE saved_views (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents(id),
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX saved_views_agent ON saved_views (agent_id, name);

-- Macros: reply templates (de/en) with case changes, managed by admins.
CREATE TABLE macros (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    body_de TEXT NOT NULL,
    body_en TEXT NOT NULL,
    actions TEXT NOT NULL,
    active INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX macros_name ON macros (lower(name));

-- The tag catalogue: tags admins offer (cases may carry others).
CREATE TABLE tag_catalog (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- A case merged into another: which contacts moved and what the case was, so a supervisor can
-- undo it. The merged case redirects to the surviving one while the row exists.
CREATE TABLE case_merges (
    source TEXT PRIMARY KEY REFERENCES cases(id),
    target TEXT NOT NULL REFERENCES cases(id),
    contacts TEXT NOT NULL,
    status_before TEXT NOT NULL,
    merged_at INTEGER NOT NULL
);
CREATE INDEX case_merges_target ON case_merges (target);

-- A contact split off into a case of its own, so a supervisor can undo it.
CREATE TABLE case_splits (
    new_case TEXT PRIMARY KEY REFERENCES cases(id),
    source TEXT NOT NULL REFERENCES cases(id),
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    split_at INTEGER NOT NULL
);
CREATE INDEX case_splits_source ON case_splits (source);

-- Agents' notifications, a projection of the event log (rebuildable).
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents(id),
    kind TEXT NOT NULL,
    case_id TEXT REFERENCES cases(id),
    actor TEXT NOT NULL,
    excerpt TEXT NOT NULL,
    seq INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    read_at INTEGER
);
CREATE INDEX notifications_agent ON notifications (agent_id, created_at);
CREATE INDEX notifications_unread ON notifications (agent_id, read_at);

-- What each agent wants to hear about, in the app and by mail.
CREATE TABLE notification_settings (
    agent_id TEXT PRIMARY KEY REFERENCES agents(id),
    settings TEXT NOT NULL
);

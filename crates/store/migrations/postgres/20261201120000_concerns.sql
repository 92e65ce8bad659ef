-- One concern, one case: why each contact is on its case, repeat contacts, escalation,
-- routing rules, team assignment, agent availability, identity offers, customer merge undo.

-- Why a contact is on its case (JSON of anliegen_core::resolve::ConcernMatch).
ALTER TABLE contacts ADD COLUMN concern TEXT;
ALTER TABLE cases ADD COLUMN repeat_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN escalation_level BIGINT NOT NULL DEFAULT 0;
-- Matching reads a customer's recent cases, newest first.
CREATE INDEX cases_customer_updated ON cases (customer_id, updated_at);

ALTER TABLE agents ADD COLUMN available BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE agents ADD COLUMN max_open BIGINT;

-- Team assignment settings (JSON of anliegen_core::routing::TeamAssignment) and the last
-- agent assigned (round-robin).
ALTER TABLE teams ADD COLUMN assignment TEXT NOT NULL DEFAULT '{}';
ALTER TABLE teams ADD COLUMN rr_cursor TEXT;

CREATE TABLE routing_rules (
    id TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    conditions TEXT NOT NULL,
    team_id TEXT REFERENCES teams(id),
    priority TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX routing_rules_position ON routing_rules (position, id);

-- Admin settings as JSON documents ("matching", "escalation").
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A new identity that arrived on a known case, offered to an agent for linking.
CREATE TABLE identity_offers (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    resolution TEXT,
    resolved_at BIGINT
);
CREATE INDEX identity_offers_case ON identity_offers (case_id, created_at);
CREATE INDEX identity_offers_customer ON identity_offers (customer_id, created_at);

-- Customer merges, so that a merge can be undone (identities and cases go back).
CREATE TABLE customer_merges (
    source TEXT PRIMARY KEY REFERENCES customers(id),
    target TEXT NOT NULL REFERENCES customers(id),
    identities TEXT NOT NULL,
    cases TEXT NOT NULL,
    redirected TEXT NOT NULL,
    merged_at BIGINT NOT NULL
);

-- Suggested merges look for customers of the same (folded) name.
ALTER TABLE customers ADD COLUMN name_key TEXT;
UPDATE customers SET name_key = lower(trim(name)) WHERE name IS NOT NULL;
CREATE INDEX customers_name_key ON customers (name_key) WHERE name_key IS NOT NULL;

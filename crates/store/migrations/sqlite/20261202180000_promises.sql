-- Promises made to customers: what, by when, who answers for it, and how it ended.
CREATE TABLE promises (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    owner_id TEXT NOT NULL REFERENCES agents(id),
    what TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    closed_at BIGINT,
    on_time BOOLEAN,
    overdue BOOLEAN NOT NULL DEFAULT FALSE,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX promises_case ON promises (case_id, due_at);
CREATE INDEX promises_owner_open ON promises (owner_id, status, due_at);

-- When a case's status last changed (NULL: since it was opened): timers count from it.
ALTER TABLE cases ADD COLUMN status_since BIGINT;
CREATE INDEX cases_status_since ON cases (status, status_since);

-- A timer rule fires once per case and moment it counts from.
CREATE TABLE automation_runs (
    rule_id TEXT NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases(id),
    anchor BIGINT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (rule_id, case_id, anchor)
);

-- SLA clocks: one per case (the three metrics as JSON, see core::sla), the batch of the log
-- that wrote it (the sweep's optimistic check), when the next warning or breach falls due,
-- and whether any metric is still active (what a recompute goes over).
CREATE TABLE case_sla (
    case_id TEXT PRIMARY KEY REFERENCES cases(id),
    clock TEXT NOT NULL,
    seq BIGINT NOT NULL,
    next_check BIGINT,
    active INTEGER NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX case_sla_next_check ON case_sla (next_check) WHERE next_check IS NOT NULL;
CREATE INDEX case_sla_active ON case_sla (active, case_id);

-- Warnings and breaches recorded, once per metric run.
CREATE TABLE sla_marks (
    case_id TEXT NOT NULL REFERENCES cases(id),
    metric TEXT NOT NULL,
    kind TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (case_id, metric, kind, started_at)
);

-- The earliest SLA due time of an unsolved case (the largest number: none): queues sort by it.
ALTER TABLE cases ADD COLUMN sla_due BIGINT NOT NULL DEFAULT 9223372036854775807;
CREATE INDEX cases_queue_sla ON cases (unsolved, sla_due, id);

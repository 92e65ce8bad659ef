-- SLA clocks: one per case (the three metrics as JSON, see core::sla), the batch of the log
-- that wrote it (the sweep's optimistic check), when the next warning or breach falls due,
-- whether any metric is still active (what a recompute goes over), and the earliest due time
-- of a running target (the largest number: none), which queues sort by. Kept apart from
-- `cases` so that a recompute never rewrites the widely indexed case rows.
CREATE TABLE case_sla (
    case_id TEXT PRIMARY KEY REFERENCES cases(id),
    clock TEXT NOT NULL,
    seq BIGINT NOT NULL,
    next_check BIGINT,
    active INTEGER NOT NULL,
    due BIGINT NOT NULL DEFAULT 9223372036854775807,
    saved_at BIGINT NOT NULL
);
CREATE INDEX case_sla_next_check ON case_sla (next_check) WHERE next_check IS NOT NULL;
CREATE INDEX case_sla_active ON case_sla (active, case_id);
CREATE INDEX case_sla_due ON case_sla (due, case_id);

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

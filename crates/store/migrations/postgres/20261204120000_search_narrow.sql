-- Search on PostgreSQL, second layout: what matching, filtering, ordering and facet counting
-- read per match lives in a narrow table whose tsvectors are kept out of line, so a common word
-- (tens of thousands of matches) costs a visit to a few MB of rows rather than hundreds; the
-- texts shown in hits and snippets live in a table of their own, read for one page of hits.
-- The projection rebuilds both from the store on the next start (checkpoint back to 0).
DROP TABLE search_docs;

-- Partitioned by kind: a word that only cases hold reads only the cases' rows, and later kinds
-- (articles, orders, shipments) get partitions of their own.
CREATE TABLE search_docs (
    id UUID NOT NULL,
    kind TEXT NOT NULL,
    customer_id UUID,
    team_id UUID,
    assignee_id UUID,
    status TEXT,
    has_attachment BOOLEAN NOT NULL DEFAULT FALSE,
    has_note BOOLEAN NOT NULL DEFAULT FALSE,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL,
    -- Title and what the customer sees, and the filters kept as lexemes (tags, channels,
    -- senders, priority: `§tag:…`), so rows stay narrow and the GIN index intersects them.
    public_tsv TSVECTOR NOT NULL,
    -- The same plus internal notes, for agents.
    agent_tsv TSVECTOR NOT NULL,
    PRIMARY KEY (id, kind)
) PARTITION BY LIST (kind);
-- Out of line and uncompressed (once a row passes the 2 kB at which PostgreSQL starts moving
-- values out, it moves them until the row is under 128 bytes of them): a row stays narrow, and
-- a tsvector is read, without decompressing, only for the few rows that are ranked or checked
-- for a phrase.
ALTER TABLE search_docs ALTER COLUMN public_tsv SET STORAGE EXTERNAL;
ALTER TABLE search_docs ALTER COLUMN agent_tsv SET STORAGE EXTERNAL;
-- The small values stay in the row (moved out only past 8 kB): filters and facets read them
-- for thousands of rows, and a value out of line costs a lookup in the TOAST table each.
ALTER TABLE search_docs ALTER COLUMN kind SET STORAGE MAIN, ALTER COLUMN status SET STORAGE MAIN;
CREATE TABLE search_docs_case PARTITION OF search_docs FOR VALUES IN ('case')
    WITH (toast_tuple_target = 128);
CREATE TABLE search_docs_customer PARTITION OF search_docs FOR VALUES IN ('customer')
    WITH (toast_tuple_target = 128);
CREATE TABLE search_docs_other PARTITION OF search_docs DEFAULT
    WITH (toast_tuple_target = 128);
CREATE INDEX search_docs_public_tsv ON search_docs USING GIN (public_tsv);
CREATE INDEX search_docs_agent_tsv ON search_docs USING GIN (agent_tsv);
CREATE INDEX search_docs_updated ON search_docs (updated_us DESC);
CREATE INDEX search_docs_by_customer ON search_docs (customer_id, updated_us DESC);

CREATE TABLE search_texts (
    id UUID PRIMARY KEY,
    reference TEXT NOT NULL,
    title TEXT NOT NULL,
    public_text TEXT NOT NULL,
    notes_text TEXT NOT NULL
);

UPDATE projection_checkpoints SET seq = 0 WHERE name = 'search';

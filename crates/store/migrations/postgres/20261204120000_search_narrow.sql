-- Search on PostgreSQL, second layout: what matching, filtering, ordering and facet counting
-- read per match lives in a narrow table whose tsvectors are kept out of line, so a common word
-- (tens of thousands of matches) costs a visit to a few MB of rows rather than hundreds; the
-- texts shown in hits and snippets live in a table of their own, read for one page of hits.
-- The projection rebuilds both from the store on the next start (checkpoint back to 0).
DROP TABLE search_docs;

CREATE TABLE search_docs (
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL,
    customer_id UUID,
    team_id UUID,
    assignee_id UUID,
    status TEXT,
    priority TEXT,
    tags TEXT[] NOT NULL DEFAULT '{}',
    channels TEXT[] NOT NULL DEFAULT '{}',
    senders TEXT[] NOT NULL DEFAULT '{}',
    has_attachment BOOLEAN NOT NULL DEFAULT FALSE,
    has_note BOOLEAN NOT NULL DEFAULT FALSE,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL,
    -- Title and what the customer sees.
    public_tsv TSVECTOR NOT NULL,
    -- The same plus internal notes, for agents.
    agent_tsv TSVECTOR NOT NULL
) WITH (toast_tuple_target = 128);
-- Out of line and uncompressed: a row stays narrow, and a tsvector is read (without
-- decompressing) only for the few rows that are ranked or checked for a phrase.
ALTER TABLE search_docs ALTER COLUMN public_tsv SET STORAGE EXTERNAL;
ALTER TABLE search_docs ALTER COLUMN agent_tsv SET STORAGE EXTERNAL;
CREATE INDEX search_docs_public_tsv ON search_docs USING GIN (public_tsv);
CREATE INDEX search_docs_agent_tsv ON search_docs USING GIN (agent_tsv);
CREATE INDEX search_docs_updated ON search_docs (updated_us DESC);
CREATE INDEX search_docs_customer ON search_docs (customer_id, updated_us DESC);
CREATE INDEX search_docs_senders ON search_docs USING GIN (senders);

CREATE TABLE search_texts (
    id UUID PRIMARY KEY,
    reference TEXT NOT NULL,
    title TEXT NOT NULL,
    public_text TEXT NOT NULL,
    notes_text TEXT NOT NULL
);

UPDATE projection_checkpoints SET seq = 0 WHERE name = 'search';

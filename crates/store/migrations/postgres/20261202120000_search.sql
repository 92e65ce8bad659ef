-- Search on PostgreSQL: one row per case and per customer, kept by the search projection from
-- the event log. The tsvectors hold Anliegen's own terms (folded, stemmed per language in Rust,
-- identical to the embedded index); no text-search configuration or extension is involved.
CREATE TABLE search_docs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    customer_id TEXT,
    team_id TEXT,
    assignee_id TEXT,
    status TEXT,
    priority TEXT,
    tags TEXT[] NOT NULL DEFAULT '{}',
    channels TEXT[] NOT NULL DEFAULT '{}',
    senders TEXT[] NOT NULL DEFAULT '{}',
    has_attachment BOOLEAN NOT NULL DEFAULT FALSE,
    has_note BOOLEAN NOT NULL DEFAULT FALSE,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL,
    reference TEXT NOT NULL,
    title TEXT NOT NULL,
    public_text TEXT NOT NULL,
    notes_text TEXT NOT NULL,
    -- Title and what the customer sees.
    public_tsv TSVECTOR NOT NULL,
    -- The same plus internal notes, for agents.
    agent_tsv TSVECTOR NOT NULL
);
CREATE INDEX search_docs_public_tsv ON search_docs USING GIN (public_tsv);
CREATE INDEX search_docs_agent_tsv ON search_docs USING GIN (agent_tsv);
CREATE INDEX search_docs_updated ON search_docs (updated_us DESC);
CREATE INDEX search_docs_customer ON search_docs (customer_id, updated_us DESC);
CREATE INDEX search_docs_senders ON search_docs USING GIN (senders);

-- Knowledge bases, knowledge gaps and conversation records (migrations/0003_chat.sql on PostgreSQL).

CREATE TABLE knowledge_entries (
    id            TEXT COLLATE "C" PRIMARY KEY,
    org_id        TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    assistant_id  TEXT COLLATE "C" NOT NULL REFERENCES assistants(id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    content       TEXT NOT NULL,
    -- Alternative phrasings, one per line: searched like the title.
    questions     TEXT NOT NULL DEFAULT '',
    -- The same three texts as search terms (lowercased, stop words dropped, stemmed by the program, so
    -- that questions are stemmed the same way and term frequencies can be looked up).
    search_title      TEXT NOT NULL,
    search_content    TEXT NOT NULL,
    search_questions  TEXT NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    updated_at    TEXT COLLATE "C" NOT NULL,
    -- In place of SQLite's FTS5 table and its three triggers: the search terms as one weighted vector,
    -- recomputed by PostgreSQL on every insert and update. The 'simple' configuration only splits and
    -- lowercases, as FTS5's unicode61 does: the terms are already stemmed by the program. Each text keeps
    -- its own label (title A, questions B, content C), so a query weighs them as it likes: the store ranks
    -- with ts_rank_cd and weights in the proportions of SQLite's bm25 (see PostgresFullText).
    search_vector  TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', search_title), 'A')
        || setweight(to_tsvector('simple', search_questions), 'B')
        || setweight(to_tsvector('simple', search_content), 'C')
    ) STORED
);
CREATE INDEX knowledge_by_assistant ON knowledge_entries(assistant_id, created_at, id);
CREATE INDEX knowledge_search ON knowledge_entries USING GIN (search_vector);
-- No counterpart of SQLite's knowledge_terms (fts5vocab, entries per term): the store counts the entries
-- holding a term through the GIN index (search_vector @@ to_tsquery('simple', term)).

-- Questions an assistant could not answer. One pending row per (assistant, normalised question);
-- asking again counts up and raises the priority.
CREATE TABLE knowledge_gaps (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    org_id             TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    assistant_id       TEXT COLLATE "C" NOT NULL REFERENCES assistants(id) ON DELETE CASCADE,
    question           TEXT NOT NULL,
    normalized         TEXT NOT NULL,
    occurrences        INTEGER NOT NULL DEFAULT 1,
    priority           TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high')),
    status             TEXT NOT NULL CHECK (status IN ('pending', 'resolved')),
    resolved_entry_id  TEXT COLLATE "C",
    created_at         TEXT COLLATE "C" NOT NULL,
    updated_at         TEXT COLLATE "C" NOT NULL
);
-- The target of the stores' INSERT ... ON CONFLICT (assistant_id, normalized) WHERE status = 'pending'.
CREATE UNIQUE INDEX knowledge_gaps_pending ON knowledge_gaps(assistant_id, normalized) WHERE status = 'pending';
CREATE INDEX knowledge_gaps_by_org ON knowledge_gaps(org_id, status, priority, created_at);

-- One row per conversation: a chat, or (later) a provider call. Assistant and number may be deleted
-- afterwards; the conversation stays for analytics.
CREATE TABLE conversations (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    org_id              TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    assistant_id        TEXT COLLATE "C",
    phone_number_id     TEXT COLLATE "C",
    channel             TEXT NOT NULL CHECK (channel IN ('web', 'phone')),
    type                TEXT NOT NULL,
    status              TEXT NOT NULL,
    ended_reason        TEXT,
    started_at          TEXT COLLATE "C" NOT NULL,
    ended_at            TEXT COLLATE "C",
    last_activity_at    TEXT COLLATE "C" NOT NULL,
    -- From the provider's call report: 64-bit, as SQLite's INTEGER is, whatever a report says.
    duration_seconds    BIGINT NOT NULL DEFAULT 0,
    sentiment           TEXT CHECK (sentiment IN ('positive', 'neutral', 'negative')),
    resolution          TEXT CHECK (resolution IN ('resolved', 'escalated', 'failed')),
    summary             TEXT,
    success_evaluation  TEXT,
    transcript          TEXT,
    recording_url       TEXT,
    stereo_recording_url TEXT,
    customer_number     TEXT,
    -- SQLite's REAL is an 8-byte float.
    cost                DOUBLE PRECISION,
    provider_chat_id    TEXT,
    -- A count of unanswered questions, not a flag.
    unanswered          INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT COLLATE "C" NOT NULL,
    updated_at          TEXT COLLATE "C" NOT NULL
);
CREATE INDEX conversations_by_org ON conversations(org_id, created_at, id);
CREATE INDEX conversations_open ON conversations(status, last_activity_at);

CREATE TABLE conversation_messages (
    conversation_id  TEXT COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'error')),
    content          TEXT NOT NULL,
    created_at       TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);

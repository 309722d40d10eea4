-- Knowledge bases, knowledge gaps and conversation records (chat now, provider calls later).

CREATE TABLE knowledge_entries (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    assistant_id  TEXT NOT NULL REFERENCES assistants(id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    content       TEXT NOT NULL,
    -- Alternative phrasings, one per line: searched like the title.
    questions     TEXT NOT NULL DEFAULT '',
    -- The same three texts as search terms (lowercased, stop words dropped, stemmed by the program, so
    -- that questions are stemmed the same way and term frequencies can be looked up).
    search_title      TEXT NOT NULL,
    search_content    TEXT NOT NULL,
    search_questions  TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX knowledge_by_assistant ON knowledge_entries(assistant_id, created_at, id);

-- Full-text index over the search terms, kept in step by triggers; ranked with bm25 by the chat engine.
CREATE VIRTUAL TABLE knowledge_fts USING fts5(
    search_title, search_content, search_questions,
    content = 'knowledge_entries', content_rowid = 'rowid', tokenize = 'unicode61');
CREATE TRIGGER knowledge_fts_insert AFTER INSERT ON knowledge_entries BEGIN
    INSERT INTO knowledge_fts (rowid, search_title, search_content, search_questions)
    VALUES (new.rowid, new.search_title, new.search_content, new.search_questions);
END;
CREATE TRIGGER knowledge_fts_delete AFTER DELETE ON knowledge_entries BEGIN
    INSERT INTO knowledge_fts (knowledge_fts, rowid, search_title, search_content, search_questions)
    VALUES ('delete', old.rowid, old.search_title, old.search_content, old.search_questions);
END;
CREATE TRIGGER knowledge_fts_update AFTER UPDATE ON knowledge_entries BEGIN
    INSERT INTO knowledge_fts (knowledge_fts, rowid, search_title, search_content, search_questions)
    VALUES ('delete', old.rowid, old.search_title, old.search_content, old.search_questions);
    INSERT INTO knowledge_fts (rowid, search_title, search_content, search_questions)
    VALUES (new.rowid, new.search_title, new.search_content, new.search_questions);
END;
-- How many entries hold each term: the chat engine leaves out terms too common to tell entries apart.
CREATE VIRTUAL TABLE knowledge_terms USING fts5vocab('knowledge_fts', 'row');

-- Questions an assistant could not answer. One pending row per (assistant, normalised question);
-- asking again counts up and raises the priority.
CREATE TABLE knowledge_gaps (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    assistant_id       TEXT NOT NULL REFERENCES assistants(id) ON DELETE CASCADE,
    question           TEXT NOT NULL,
    normalized         TEXT NOT NULL,
    occurrences        INTEGER NOT NULL DEFAULT 1,
    priority           TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high')),
    status             TEXT NOT NULL CHECK (status IN ('pending', 'resolved')),
    resolved_entry_id  TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE UNIQUE INDEX knowledge_gaps_pending ON knowledge_gaps(assistant_id, normalized) WHERE status = 'pending';
CREATE INDEX knowledge_gaps_by_org ON knowledge_gaps(org_id, status, priority, created_at);

-- One row per conversation: a chat, or (later) a provider call. Assistant and number may be deleted
-- afterwards; the conversation stays for analytics.
CREATE TABLE conversations (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    assistant_id        TEXT,
    phone_number_id     TEXT,
    channel             TEXT NOT NULL CHECK (channel IN ('web', 'phone')),
    type                TEXT NOT NULL,
    status              TEXT NOT NULL,
    ended_reason        TEXT,
    started_at          TEXT NOT NULL,
    ended_at            TEXT,
    last_activity_at    TEXT NOT NULL,
    duration_seconds    INTEGER NOT NULL DEFAULT 0,
    sentiment           TEXT CHECK (sentiment IN ('positive', 'neutral', 'negative')),
    resolution          TEXT CHECK (resolution IN ('resolved', 'escalated', 'failed')),
    summary             TEXT,
    success_evaluation  TEXT,
    transcript          TEXT,
    recording_url       TEXT,
    stereo_recording_url TEXT,
    customer_number     TEXT,
    cost                REAL,
    provider_chat_id    TEXT,
    unanswered          INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX conversations_by_org ON conversations(org_id, created_at, id);
CREATE INDEX conversations_open ON conversations(status, last_activity_at);

CREATE TABLE conversation_messages (
    conversation_id  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'error')),
    content          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;

-- Analytics: exact daily aggregates kept up to date with the conversations, per-org API keys, provider
-- call fields, and the state of a resumable call import (migrations/0004_analytics.sql on PostgreSQL).

-- One row per (assistant, phone number, day, org, channel, sentiment, resolution), plus the same with the
-- assistant and/or number set to '' meaning "any": so a summary with or without those filters reads at
-- most days x 2 x 3 x 3 rows, whatever the number of conversations. Written in the same transaction as the
-- conversation it counts (INSERT ... ON CONFLICT ... DO UPDATE); `edmo analytics rebuild` recomputes it
-- from the conversations.
CREATE TABLE analytics_daily (
    assistant_id      TEXT COLLATE "C" NOT NULL,
    phone_number_id   TEXT COLLATE "C" NOT NULL,
    -- 'YYYY-MM-DD' (UTC), the prefix of the conversation's created_at.
    day               TEXT COLLATE "C" NOT NULL,
    org_id            TEXT COLLATE "C" NOT NULL,
    channel           TEXT NOT NULL,
    sentiment         TEXT NOT NULL,
    resolution        TEXT NOT NULL,
    -- Sums: 64-bit, as SQLite's INTEGER is.
    conversations     BIGINT NOT NULL,
    duration_seconds  BIGINT NOT NULL,
    PRIMARY KEY (assistant_id, phone_number_id, day, org_id, channel, sentiment, resolution)
);

CREATE TABLE analytics_keys (
    id          TEXT COLLATE "C" PRIMARY KEY,
    org_id      TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name        TEXT,
    -- SHA-256 of the key; the key itself is shown once.
    key_hash    TEXT COLLATE "C" NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    revoked_at  TEXT COLLATE "C"
);

-- Provider calls: when the report was sent (a resent or older report changes nothing) and the day it counts on.
ALTER TABLE conversations ADD COLUMN reported_at TEXT COLLATE "C";
ALTER TABLE conversations ADD COLUMN day TEXT COLLATE "C";
CREATE INDEX conversations_by_time ON conversations(created_at, id);

CREATE TABLE import_state (
    name    TEXT COLLATE "C" PRIMARY KEY,
    cursor  TEXT NOT NULL
);

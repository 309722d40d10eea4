-- Retention and erasure (migrations/0008_retention.sql on PostgreSQL): an organisation's retention period,
-- the anonymous counts of removed conversations, the erased calls' hashed ids, and an index to find one
-- caller's conversations.

-- Days a conversation is kept after it started: NULL = the deployment's default (EDMO_RETENTION_DAYS),
-- 0 = kept forever, whatever the default.
ALTER TABLE organizations ADD COLUMN retention_days INTEGER CHECK (retention_days BETWEEN 0 AND 36500);

-- The counts of every conversation removed (by the retention sweep or an erasure), in the dimensions of
-- analytics_daily: per assistant and number ('-' for none; no '' rows for "any"), day, organisation,
-- channel, sentiment and resolution. Added to in the transaction that removes the conversations; the
-- recount and `edmo analytics rebuild` read it as the removed conversations, so the aggregates keep
-- counting what was removed and still equal a recount.
CREATE TABLE analytics_retired (
    assistant_id      TEXT COLLATE "C" NOT NULL,
    phone_number_id   TEXT COLLATE "C" NOT NULL,
    day               TEXT COLLATE "C" NOT NULL,
    org_id            TEXT COLLATE "C" NOT NULL,
    channel           TEXT NOT NULL,
    sentiment         TEXT NOT NULL,
    resolution        TEXT NOT NULL,
    conversations     BIGINT NOT NULL,
    duration_seconds  BIGINT NOT NULL,
    PRIMARY KEY (assistant_id, phone_number_id, day, org_id, channel, sentiment, resolution)
);

-- SHA-256 of the id of each erased conversation (never the id itself): a late or resent call report for
-- it is dropped instead of bringing the erased content back.
CREATE TABLE erased_conversations (
    id_hash    TEXT COLLATE "C" PRIMARY KEY,
    org_id     TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    erased_at  TEXT COLLATE "C" NOT NULL
);

-- Erasure by phone number finds the caller's calls without reading the organisation's every conversation.
CREATE INDEX conversations_by_customer ON conversations(org_id, customer_number) WHERE customer_number IS NOT NULL;

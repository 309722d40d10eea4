-- Assistants, tools and phone numbers, each owned by an organisation (migrations/0002_resources.sql on PostgreSQL).
-- `body` is the full JSON object the API returns, kept in step on every write, so a read is a copy. It
-- stays TEXT, not jsonb: jsonb would reorder keys and drop duplicates, and the API returns it verbatim.
-- `provider_id` is the id at the voice platform (EDMO_PROVIDER=vapi); {id} in a URL may be either.

CREATE TABLE assistants (
    id           TEXT COLLATE "C" PRIMARY KEY,
    org_id       TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    provider_id  TEXT COLLATE "C" UNIQUE,
    body         TEXT NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    updated_at   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX assistants_by_org ON assistants(org_id, created_at, id);

CREATE TABLE tools (
    id           TEXT COLLATE "C" PRIMARY KEY,
    org_id       TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    provider_id  TEXT COLLATE "C" UNIQUE,
    body         TEXT NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    updated_at   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX tools_by_org ON tools(org_id, created_at, id);

-- A function tool's server secret, sealed with EDMO_SECRET_KEY; never part of `body`.
CREATE TABLE tool_secrets (
    tool_id  TEXT COLLATE "C" PRIMARY KEY REFERENCES tools(id) ON DELETE CASCADE,
    sealed   BYTEA NOT NULL
);

CREATE TABLE phone_numbers (
    id            TEXT COLLATE "C" PRIMARY KEY,
    org_id        TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    provider      TEXT NOT NULL CHECK (provider IN ('edmo', 'twilio', 'vonage')),
    number        TEXT COLLATE "C" NOT NULL UNIQUE,
    name          TEXT,
    -- Deleting an assistant detaches its numbers.
    assistant_id  TEXT COLLATE "C" REFERENCES assistants(id) ON DELETE SET NULL,
    provider_id   TEXT COLLATE "C" UNIQUE,
    -- Twilio or Vonage credentials as sealed JSON.
    credentials   BYTEA,
    created_at    TEXT COLLATE "C" NOT NULL,
    updated_at    TEXT COLLATE "C" NOT NULL
);
CREATE INDEX phone_numbers_by_org ON phone_numbers(org_id, created_at, id);
CREATE INDEX phone_numbers_by_assistant ON phone_numbers(assistant_id);

-- A provider call in flight. Written before the call and removed with the local write that follows
-- it, so a crash in between leaves a row that the next start reconciles (see ProviderSync).
CREATE TABLE provider_operations (
    id          TEXT COLLATE "C" PRIMARY KEY,
    org_id      TEXT COLLATE "C" NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('assistant', 'tool', 'phoneNumber')),
    action      TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    local_id    TEXT COLLATE "C" NOT NULL,
    owner       TEXT NOT NULL,
    started_at  TEXT COLLATE "C" NOT NULL
);

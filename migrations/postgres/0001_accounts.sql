-- Organisations, users, login sessions and failed-login counters (migrations/0001_accounts.sql on PostgreSQL).
-- Dates are ISO 8601 UTC text with milliseconds, as on SQLite, so string order is time order: the stores
-- read and write the same strings on both engines. Ids, keys and dates are COLLATE "C" (byte order, as
-- SQLite compares), so ORDER BY and range comparisons agree with SQLite whatever the database's locale.
-- SQLite's WITHOUT ROWID has no counterpart here: every table is a heap with its primary key indexed.

CREATE TABLE organizations (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE users (
    id             TEXT COLLATE "C" PRIMARY KEY,
    org_id         TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email          TEXT COLLATE "C" NOT NULL UNIQUE,
    name           TEXT,
    role           TEXT NOT NULL CHECK (role IN ('ADMIN', 'EDITOR', 'VIEWER')),
    -- SQLite's INTEGER 0/1 with its CHECK; here the type says it.
    disabled       BOOLEAN NOT NULL DEFAULT false,
    password_hash  TEXT NOT NULL,
    created_at     TEXT COLLATE "C" NOT NULL,
    updated_at     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX users_by_org ON users(org_id, created_at);

-- Only the SHA-256 of a session token is stored.
CREATE TABLE sessions (
    token_hash    TEXT COLLATE "C" PRIMARY KEY,
    user_id       TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id        TEXT COLLATE "C" NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    created_at    TEXT COLLATE "C" NOT NULL,
    last_seen_at  TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C" NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);

-- Keys are 'account:<email>' and 'address:<client ip>'.
CREATE TABLE login_failures (
    key                TEXT COLLATE "C" PRIMARY KEY,
    failures           INTEGER NOT NULL,
    window_started_at  TEXT COLLATE "C" NOT NULL,
    locked_until       TEXT COLLATE "C"
);

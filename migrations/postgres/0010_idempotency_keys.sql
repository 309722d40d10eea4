-- Idempotency-Key (issue 16): the first request with a key claims its row, runs, then stores its response
-- here; a retry is answered from the row (migrations/0010_idempotency_keys.sql on PostgreSQL). Scoped to the
-- caller and the route (method and path, which names the path parameters). Kept 24 h (`expires_at`), then
-- purged; an expired row is also replaced by a new claim.
CREATE TABLE idempotency_keys (
    caller       TEXT COLLATE "C" NOT NULL,
    route        TEXT COLLATE "C" NOT NULL,
    key          TEXT COLLATE "C" NOT NULL,
    fingerprint  TEXT COLLATE "C" NOT NULL,
    owner        TEXT COLLATE "C" NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    lease_until  TEXT COLLATE "C" NOT NULL,
    expires_at   TEXT COLLATE "C" NOT NULL,
    status       INTEGER,
    headers      TEXT,
    body         BYTEA,
    PRIMARY KEY (caller, route, key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys(expires_at);

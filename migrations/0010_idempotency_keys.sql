-- Idempotency-Key (issue 16): the first request with a key claims its row, runs, then stores its response
-- here; a retry is answered from the row. Scoped to the caller and the route (method and path, which names
-- the path parameters). Kept 24 h (`expires_at`), then purged; an expired row is also replaced by a new claim.
CREATE TABLE idempotency_keys (
    caller       TEXT NOT NULL,     -- 'user:<id>': whoever sent it
    route        TEXT NOT NULL,     -- 'POST /api/assistants/<id>/knowledge'
    key          TEXT NOT NULL,     -- the header, 1-255 visible ASCII characters
    fingerprint  TEXT NOT NULL,     -- SHA-256 hex of method, path and body: a retry must send the same
    owner        TEXT NOT NULL,     -- the process and request that claimed it
    created_at   TEXT NOT NULL,
    lease_until  TEXT NOT NULL,     -- still in progress past this: its owner stopped before storing a response
    expires_at   TEXT NOT NULL,
    status       INTEGER,           -- NULL while in progress
    headers      TEXT,              -- JSON array of [name, value] (Content-Type, Location, ETag)
    body         BLOB,
    PRIMARY KEY (caller, route, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys(expires_at);

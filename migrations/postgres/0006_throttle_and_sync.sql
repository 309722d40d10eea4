-- Login throttling keyed on hashes, with expired rows purged; the addresses each account has logged in
-- from; phone-number sync that deletes only what the platform misses twice; and claims that let one
-- host at a time run a periodic job (migrations/0006_throttle_and_sync.sql on PostgreSQL).

-- Keys were raw ('account:<email>'); they are now SHA-256 hex of the kind and value, so a row has a fixed
-- size whatever a client sends. The old counters are short-lived and dropped.
DELETE FROM login_failures;
CREATE INDEX login_failures_by_window ON login_failures(window_started_at);

-- SHA-256 hex of the account and client address of a successful login.
CREATE TABLE login_known_addresses (
    key              TEXT COLLATE "C" PRIMARY KEY,
    last_success_at  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX login_known_addresses_by_time ON login_known_addresses(last_success_at);

-- Consecutive platform syncs that did not list this number (it is deleted at the second).
ALTER TABLE phone_numbers ADD COLUMN missing_syncs INTEGER NOT NULL DEFAULT 0;

-- A periodic job runs where its claim is taken: `claimed_at` moves forward only once per interval.
CREATE TABLE job_claims (
    name        TEXT COLLATE "C" PRIMARY KEY,
    claimed_at  TEXT COLLATE "C" NOT NULL
);

-- The audit log: who changed what, when, and from which address. One row per change made by a person or
-- a key (and each failed login), written by AuditTrail. Append-only: no API changes or deletes a row, and
-- the trigger below refuses every UPDATE; rows go only through the log's own retention
-- (EDMO_AUDIT_RETENTION_DAYS), oldest first, in small batches.

CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY,
    -- NULL for a failed login with an email of no user, in a deployment of several organisations.
    org_id       TEXT REFERENCES organizations(id) ON DELETE CASCADE,
    at           TEXT NOT NULL,
    actor_kind   TEXT NOT NULL CHECK (actor_kind IN ('user', 'analytics_key', 'cli', 'system')),
    -- The user's or key's id, and a label a person reads: the email, the key's prefix, the shell user.
    actor_id     TEXT,
    actor_label  TEXT,
    -- REMOTE_ADDR as nginx passed it; NULL for the command line and the system.
    address      TEXT,
    action       TEXT NOT NULL,
    target_type  TEXT,
    target_id    TEXT,
    -- JSON object: field name -> {"old": ..., "new": ...}; secrets only as "[redacted]".
    changes      TEXT NOT NULL DEFAULT '{}'
);
-- Reading an organisation's log newest first, with or without a time range.
CREATE INDEX audit_log_by_org ON audit_log(org_id, at, id);
-- Retention removes the oldest rows of every organisation.
CREATE INDEX audit_log_by_time ON audit_log(at, id);

CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: its entries cannot be changed');
END;

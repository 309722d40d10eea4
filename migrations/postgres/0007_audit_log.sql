-- The audit log (migrations/0007_audit_log.sql on PostgreSQL): who changed what, when, and from which
-- address. Append-only: no API changes or deletes a row, and the triggers below refuse every UPDATE (and a
-- TRUNCATE); rows go only through the log's own retention (EDMO_AUDIT_RETENTION_DAYS), in small batches.
-- `changes` stays TEXT, not jsonb, so both stores return the very bytes that were written.

CREATE TABLE audit_log (
    id           TEXT COLLATE "C" PRIMARY KEY,
    -- NULL for a failed login with an email of no user, in a deployment of several organisations.
    org_id       TEXT COLLATE "C" REFERENCES organizations(id) ON DELETE CASCADE,
    at           TEXT COLLATE "C" NOT NULL,
    actor_kind   TEXT NOT NULL CHECK (actor_kind IN ('user', 'analytics_key', 'cli', 'system')),
    -- The user's or key's id, and a label a person reads: the email, the key's prefix, the shell user.
    actor_id     TEXT COLLATE "C",
    actor_label  TEXT COLLATE "C",
    -- REMOTE_ADDR as nginx passed it; NULL for the command line and the system.
    address      TEXT,
    action       TEXT COLLATE "C" NOT NULL,
    target_type  TEXT COLLATE "C",
    target_id    TEXT COLLATE "C",
    -- JSON object: field name -> {"old": ..., "new": ...}; secrets only as "[redacted]".
    changes      TEXT NOT NULL DEFAULT '{}'
);
-- Reading an organisation's log newest first, with or without a time range.
CREATE INDEX audit_log_by_org ON audit_log(org_id, at, id);
-- Retention removes the oldest rows of every organisation.
CREATE INDEX audit_log_by_time ON audit_log(at, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: its entries cannot be changed';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Outbound events (README "Outbound events"): the customer's endpoints, the durable outbox of events and
-- one delivery per event and matching endpoint. An event and its deliveries are written in the same
-- transaction as the change that causes it, so none is lost and none is sent for a change rolled back.

CREATE TABLE webhook_endpoints (
    id                     TEXT PRIMARY KEY,
    org_id                 TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    url                    TEXT NOT NULL,
    description            TEXT,
    -- The event types it receives, space-separated (matched with LIKE '% type %' around spaces).
    event_types            TEXT NOT NULL,
    enabled                INTEGER NOT NULL DEFAULT 1,
    -- The signing secret, sealed with EDMO_SECRET_KEY (`edmo rotate-secret-key` re-seals both).
    secret                 BLOB NOT NULL,
    -- After a rotation: the previous secret, also signed with until `previous_secret_until`.
    previous_secret        BLOB,
    previous_secret_until  TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_by_org ON webhook_endpoints(org_id, created_at, id);

-- The outbox: the signed body as built at the change (an erased conversation's are blanked).
CREATE TABLE webhook_events (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    type        TEXT NOT NULL,
    -- What the event is about (a conversation, an assistant, a gap): events of one subject are delivered
    -- to an endpoint in the order they were written.
    subject     TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX webhook_events_by_subject ON webhook_events(subject);

CREATE TABLE webhook_deliveries (
    -- Write order: a delivery waits for every earlier pending one of its endpoint and subject.
    seq              INTEGER PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    event_id         TEXT NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    org_id           TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    subject          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    -- A claim: the host holding it (until `lease_until`) posts it; an expired lease is claimed again.
    lease_until      TEXT,
    lease_owner      TEXT,
    last_error       TEXT,
    last_status      INTEGER,
    response_ms      INTEGER,
    delivered_at     TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(endpoint_id, subject, seq);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries(endpoint_id, seq);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries(event_id);

-- Webhooks (Standard Webhooks): endpoints registered by admins, one delivery per endpoint
-- and event, and every attempt made to deliver it.

CREATE TABLE webhook_endpoints (
    -- "wh_" + a random id.
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- Space-separated event types; empty means every type.
    event_types TEXT NOT NULL DEFAULT '',
    -- The signing secret ("whsec_…"), sealed with the master key; shown once at creation.
    sealed_secret BYTEA NOT NULL,
    enabled BIGINT NOT NULL DEFAULT 1,
    -- The first failed attempt since the last success (NULL while the endpoint answers).
    failing_since BIGINT,
    -- When it was disabled for failing too long (NULL otherwise).
    disabled_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    -- The event's id: the `webhook-id` header of every attempt, replays included.
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    -- The customer the event is about: deliveries with one subject go out in order.
    subject TEXT,
    -- The JSON body, exactly as signed and sent.
    body TEXT NOT NULL,
    -- Order of fan-out per endpoint.
    seq BIGINT NOT NULL,
    -- pending | delivered | abandoned
    state TEXT NOT NULL,
    -- Attempts in the current series (a replay starts a new series).
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(endpoint_id, subject, seq);

CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempted_at BIGINT NOT NULL,
    -- The HTTP status, or NULL when no response came (then `error` says why).
    status BIGINT,
    error TEXT,
    latency_ms BIGINT NOT NULL,
    -- The first KiB of the response body.
    response_excerpt TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, attempted_at);

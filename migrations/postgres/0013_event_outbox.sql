-- The transactional outbox (issue #12): every event is written in the transaction of the
-- change that caused it, and the worker hands it to its consumers at least once, in `seq`
-- order per subject. `lease_owner`/`lease_until`: the worker that claimed it and until when,
-- so several nodes never dispatch one event at the same time.
CREATE TABLE event_outbox (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT,
    payload TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    dispatched_at BIGINT,
    dispatches BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT
);
CREATE INDEX event_outbox_seq ON event_outbox (seq);
CREATE INDEX event_outbox_pending ON event_outbox (dispatched_at, subject, seq);
-- OpenID Connect Back-Channel Logout deliveries, written in the transaction that ends the
-- session and attempted by the worker until the client answers 2xx (or 24 hours pass). The
-- logout token is signed at each attempt (it lives two minutes) with the same `jti`.
CREATE TABLE backchannel_deliveries (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    uri TEXT NOT NULL,
    sub TEXT NOT NULL,
    sid TEXT NOT NULL,
    jti TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    delivered_at BIGINT,
    gave_up_at BIGINT,
    lease_owner TEXT,
    lease_until BIGINT
);
CREATE INDEX backchannel_deliveries_due ON backchannel_deliveries (delivered_at, gave_up_at, next_attempt_at);

-- Privacy requests (issue #14): access/export, deletion, withdraw everything, correction and
-- restriction, each with its jurisdiction and legal due date. customer_id has no foreign key:
-- after an erasure it holds the customer's pseudonym (a keyed hash), the proof that the
-- request was honoured. An export archive is kept here until it is downloaded once.
CREATE TABLE privacy_requests (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    -- access_export | deletion | withdraw_all | correction | restriction
    kind TEXT NOT NULL,
    -- received | verified | in_progress | completed | rejected | cancelled
    status TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    extended_until BIGINT,
    extension_reason TEXT,
    -- restriction: the purpose; correction: what should change.
    purpose TEXT,
    details TEXT,
    -- JSON array of {at, by, text}.
    notes TEXT NOT NULL DEFAULT '[]',
    closed_reason TEXT,
    closed_at BIGINT,
    -- deletion: when the grace period ends.
    erase_after BIGINT,
    export_token_hash TEXT,
    export_archive TEXT,
    export_expires_at BIGINT,
    contact_notified_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX privacy_requests_customer ON privacy_requests (customer_id, received_at);
CREATE INDEX privacy_requests_open ON privacy_requests (status, due_at);
CREATE UNIQUE INDEX privacy_requests_export ON privacy_requests (export_token_hash);

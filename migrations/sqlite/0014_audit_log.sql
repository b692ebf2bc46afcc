-- The audit log (issue #12): who did what to what, when, from where, and how it ended.
-- id: decimal digits that sort in the order entries were written (time first), so "newest
--   first" and the page cursor are one index;
-- actor_kind: customer | client | operator | anonymous | system; actor_id: the customer or
--   client id (NULL for the others);
-- outcome: success | failure | refused, with reason (a short code, never a secret);
-- detail: JSON without secrets.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    occurred_at INTEGER NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    target TEXT,
    ip TEXT,
    user_agent TEXT,
    outcome TEXT NOT NULL,
    reason TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
-- The queries: by customer (target), by action, by time (and retention), each newest first.
CREATE INDEX audit_log_target ON audit_log (target, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_occurred_at ON audit_log (occurred_at);

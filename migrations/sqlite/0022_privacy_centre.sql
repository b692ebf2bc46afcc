-- The privacy centre (issue #14).
-- Channel preferences: the channels (space-separated: email sms push phone) by which the
-- customer lets a purpose granted to a client reach them. A grant on the consent screen sets
-- every channel the purpose names (they are shown beside it); the privacy centre narrows or
-- widens them, each change a ledger entry. Grants made before this migration keep the
-- channels their purpose names today (what they implied until now).
ALTER TABLE purpose_decisions ADD COLUMN channels TEXT NOT NULL DEFAULT '';
UPDATE purpose_decisions SET channels = COALESCE((SELECT p.channels FROM purposes p WHERE p.id = purpose_decisions.purpose_id), '')
    WHERE granted = 1;

-- Where each profile attribute came from and when it last changed: source is `typed` (by the
-- customer), `connector` (detail: the connector id) or `app` (detail: the client that asked).
CREATE TABLE profile_sources (
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    attribute TEXT NOT NULL,
    source TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (customer_id, attribute)
);

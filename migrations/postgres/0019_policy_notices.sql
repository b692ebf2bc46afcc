-- Notice of policy changes (issue #13). A version may take effect later than it is published
-- (effective_at; until then the previous version stays in force), and customers who agreed
-- to something under an earlier version get one mail about a material change, before it
-- takes effect: policy_notices remembers who was told, so nobody gets two.
ALTER TABLE policies ADD COLUMN effective_at BIGINT NOT NULL DEFAULT 0;
UPDATE policies SET effective_at = published_at;

CREATE TABLE policy_notices (
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    policy_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (customer_id, policy_id, version)
);

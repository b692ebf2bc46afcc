-- A refresh token names the token it replaced. The unique index makes rotation one atomic
-- statement: a second successor of the same token cannot be inserted, so a reused token is
-- detected without a transaction.
ALTER TABLE refresh_tokens ADD COLUMN parent_hash TEXT;
CREATE UNIQUE INDEX refresh_tokens_parent ON refresh_tokens(parent_hash);

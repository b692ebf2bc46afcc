-- When the owner last proved the account's mailbox to Tessera (a mail link or code). NULL
-- for accounts set up through a provider and never proven by mail: their first mail proof
-- shows the owner what is attached (providers, passkeys, authenticator app) to keep or remove.
ALTER TABLE customers ADD COLUMN mailbox_proven_at BIGINT;
UPDATE customers SET mailbox_proven_at = created_at
    WHERE id NOT IN (SELECT customer_id FROM federated_identities);

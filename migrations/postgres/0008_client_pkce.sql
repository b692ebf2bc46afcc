-- PKCE (S256) is required of every client (RFC 9700 §2.1.1); a legacy confidential client
-- that cannot send it is registered with pkce_required = 0 (`tessera client … --pkce optional`).
-- Existing clients are required too: switch one that never sent PKCE with
-- `tessera client update ID --pkce optional`.
ALTER TABLE clients ADD COLUMN pkce_required BIGINT NOT NULL DEFAULT 1;

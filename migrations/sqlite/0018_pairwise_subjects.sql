-- OpenID Connect Core §8.1: a client registered for pairwise subject identifiers gets a `sub`
-- of its own per customer, derived from its sector identifier (empty: the public `sub`).
ALTER TABLE clients ADD COLUMN sector_identifier TEXT NOT NULL DEFAULT '';

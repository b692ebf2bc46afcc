-- Progressive profiling (issue #13): what an app may need later, asked for when it needs it.
-- phone_number in E.164, birthdate as YYYY-MM-DD (OpenID Connect Core §5.1), address as the
-- JSON of the §5.1.1 address claim. NULL: never given.
ALTER TABLE customers ADD COLUMN phone_number TEXT;
ALTER TABLE customers ADD COLUMN birthdate TEXT;
ALTER TABLE customers ADD COLUMN address TEXT;

-- The claims a client cannot work without, and the reason the customer is shown when asked.
CREATE TABLE client_required_claims (
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    claim TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (client_id, claim)
);

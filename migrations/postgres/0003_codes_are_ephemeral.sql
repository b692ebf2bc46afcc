-- Authorization codes moved to the ephemeral store (they live 60 seconds); the table goes.
DROP TABLE authorization_codes;

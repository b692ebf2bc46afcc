-- A customer may turn off approving sign-ins from another device (issue #10): with it off,
-- the mail's link signs in only in the browser that asked for it. On (1) by default.
ALTER TABLE customers ADD COLUMN cross_device_approval BIGINT NOT NULL DEFAULT 1;

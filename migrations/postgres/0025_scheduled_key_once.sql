-- The key-rotation schedule on several nodes (issue #15): a key the schedule adds names the
-- key it succeeds, and a key has at most one scheduled successor. Two nodes that find the
-- same key due at the same moment both try to insert its successor; the second insert
-- meets this index and does nothing, so one `next` key is added between them. Keys rotated
-- by hand (`tessera keys rotate`, the admin API) name none.
ALTER TABLE signing_keys ADD COLUMN succeeds TEXT;
CREATE UNIQUE INDEX signing_keys_one_scheduled_successor ON signing_keys (succeeds) WHERE succeeds IS NOT NULL;

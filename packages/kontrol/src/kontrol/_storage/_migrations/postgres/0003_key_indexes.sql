-- Go Kontrol's 003-migration-002-add-key-indexes.sql, same index names.

CREATE INDEX IF NOT EXISTS "kite_key_public_idx" ON key USING btree (public);
CREATE INDEX IF NOT EXISTS "kite_key_deleted_at_public_idx"
    ON key USING btree (deleted_at DESC NULLS FIRST, public);

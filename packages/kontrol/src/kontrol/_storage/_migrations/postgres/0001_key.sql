-- Key pairs: Go Kontrol's "kite"."key" (002-table.sql / 003-migration-001), column for column.
-- Unqualified names resolve to the storage's schema (search_path), "kite" by default.
-- The id default uses the built-in gen_random_uuid() (PostgreSQL 13+) instead of the uuid-ossp
-- extension's uuid_generate_v4(); both give random v4 UUIDs and Kontrol always passes the id.

CREATE TABLE IF NOT EXISTS key (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    public TEXT NOT NULL COLLATE "default",
    private TEXT NOT NULL COLLATE "default",
    created_at timestamp(6) WITH TIME ZONE NOT NULL DEFAULT (NOW() AT TIME ZONE 'UTC'),
    deleted_at timestamp(6) WITH TIME ZONE,

    PRIMARY KEY ("id") NOT DEFERRABLE INITIALLY IMMEDIATE,
    CONSTRAINT "key_public_unique" UNIQUE ("public") NOT DEFERRABLE INITIALLY IMMEDIATE,
    CONSTRAINT "key_private_unique" UNIQUE ("private") NOT DEFERRABLE INITIALLY IMMEDIATE,
    CONSTRAINT "key_created_at_lte_deleted_at_check" CHECK (created_at <= deleted_at)
);

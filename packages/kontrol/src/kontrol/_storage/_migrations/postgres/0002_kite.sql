-- Registrations: Go Kontrol's "kite"."kite" (002-table.sql), an UNLOGGED table like Go's
-- (registrations are refreshed every minute, so crash safety is not worth the WAL traffic).

CREATE UNLOGGED TABLE IF NOT EXISTS kite (
    username TEXT NOT NULL,
    environment TEXT NOT NULL,
    kitename TEXT NOT NULL,
    version TEXT NOT NULL,
    region TEXT NOT NULL,
    hostname TEXT NOT NULL,
    id uuid PRIMARY KEY,
    url TEXT NOT NULL,
    created_at timestamptz NOT NULL DEFAULT (NOW() AT TIME ZONE 'UTC'),
    updated_at timestamptz NOT NULL DEFAULT (NOW() AT TIME ZONE 'UTC'),
    key_id UUID NOT NULL,

    CONSTRAINT "kite_key_id_fkey" FOREIGN KEY ("key_id") REFERENCES key (id)
        ON UPDATE NO ACTION ON DELETE NO ACTION NOT DEFERRABLE INITIALLY IMMEDIATE
);

CREATE INDEX IF NOT EXISTS kite_updated_at_btree_idx ON kite USING BTREE (updated_at DESC);

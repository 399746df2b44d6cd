-- Kontrol's registry and key pairs in SQLite: the same tables and columns as Go Kontrol's
-- PostgreSQL schema (kite.key, kite.kite), with SQLite types: ids as TEXT, times as REAL Unix
-- seconds (written by Kontrol's clock, not the database's).

CREATE TABLE IF NOT EXISTS key (
    id TEXT NOT NULL PRIMARY KEY,
    public TEXT NOT NULL UNIQUE,
    private TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    deleted_at REAL,
    CHECK (deleted_at IS NULL OR created_at <= deleted_at)
);

CREATE TABLE IF NOT EXISTS kite (
    username TEXT NOT NULL,
    environment TEXT NOT NULL,
    kitename TEXT NOT NULL,
    version TEXT NOT NULL,
    region TEXT NOT NULL,
    hostname TEXT NOT NULL,
    id TEXT NOT NULL PRIMARY KEY,
    url TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    key_id TEXT NOT NULL REFERENCES key (id)
) WITHOUT ROWID;

-- expiry sweeps
CREATE INDEX IF NOT EXISTS kite_updated_at_idx ON kite (updated_at);
-- queries by name (the common getKites shape) and by username
CREATE INDEX IF NOT EXISTS kite_kitename_idx ON kite (kitename, username, environment);
CREATE INDEX IF NOT EXISTS kite_username_idx ON kite (username, environment, kitename);
-- the foreign key's reverse lookup, and "live keys in order"
CREATE INDEX IF NOT EXISTS kite_key_id_idx ON kite (key_id);
CREATE INDEX IF NOT EXISTS key_deleted_at_created_at_idx ON key (deleted_at, created_at);

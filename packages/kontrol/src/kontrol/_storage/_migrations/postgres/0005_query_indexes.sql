-- Not in Go's schema (purely additive, Go Kontrol is unaffected): indexes for the query shapes
-- getKites uses, so a name query stays an index lookup with many thousands of kites.

CREATE INDEX IF NOT EXISTS kite_kitename_idx ON kite USING btree (kitename, username, environment);
CREATE INDEX IF NOT EXISTS kite_username_idx ON kite USING btree (username, environment, kitename);
CREATE INDEX IF NOT EXISTS kite_key_id_idx ON kite USING btree (key_id);

-- Not in Go's schema (additive, Go Kontrol is unaffected): every change of the kite table,
-- whoever makes it (Python or Go Kontrol, the expiry cleaner), is sent with NOTIFY on the
-- channel 'kontrol_<schema>' as a JSON change object, so every Kontrol sharing the database
-- can tell its watchers. New rows are 'register' changes, deleted rows 'deregister' changes;
-- an update is a change only when the identity (deregister old, register new) or the URL
-- (register) changed, so heartbeats notify nobody. A NOTIFY payload holds at most 8000 bytes:
-- a longer change is sent as its action and id only ("truncated": true), never failing the
-- write. The function names nothing outside pg_catalog, so it works under any search_path
-- (Go Kontrol's sessions do not have the schema in theirs).

CREATE OR REPLACE FUNCTION kontrol_kite_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    channel text := left('kontrol_' || TG_TABLE_SCHEMA, 63);
    identity_changed boolean := false;
    url_changed boolean := false;
    action text;
    r record;
    payload text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        identity_changed :=
            (OLD.username, OLD.environment, OLD.kitename, OLD.version, OLD.region, OLD.hostname)
            IS DISTINCT FROM
            (NEW.username, NEW.environment, NEW.kitename, NEW.version, NEW.region, NEW.hostname);
        url_changed := OLD.url IS DISTINCT FROM NEW.url;
    END IF;
    FOR step IN 1..2 LOOP
        IF step = 1 AND (TG_OP = 'DELETE' OR identity_changed) THEN
            action := 'deregister';
            r := OLD;
        ELSIF step = 2 AND (TG_OP = 'INSERT' OR identity_changed OR url_changed) THEN
            action := 'register';
            r := NEW;
        ELSE
            CONTINUE;
        END IF;
        payload := json_build_object(
            'action', action,
            'kite', json_build_object(
                'username', r.username, 'environment', r.environment, 'name', r.kitename,
                'version', r.version, 'region', r.region, 'hostname', r.hostname,
                'id', r.id::text),
            'url', r.url,
            'key_id', r.key_id::text)::text;
        IF octet_length(payload) > 7900 THEN
            payload := json_build_object(
                'action', action, 'kite', json_build_object('id', r.id::text),
                'truncated', true)::text;
        END IF;
        PERFORM pg_notify(channel, payload);
    END LOOP;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS kontrol_kite_changed ON kite;
CREATE TRIGGER kontrol_kite_changed AFTER INSERT OR UPDATE OR DELETE ON kite
    FOR EACH ROW EXECUTE FUNCTION kontrol_kite_changed();

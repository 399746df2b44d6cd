-- Go's 001-schema.sql/002-table.sql grant the tables to a role "kontrol" (its login user
-- "kontrolapplication" is a member). Creating roles is a cluster administrator's job, so we only
-- grant when that role exists: a database shared with Go Kontrol keeps working for both.

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kontrol') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO kontrol', current_schema());
        EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I.key TO kontrol', current_schema());
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I.kite TO kontrol',
                       current_schema());
    END IF;
END
$$;

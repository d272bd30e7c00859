-- Each user's entry in other people's contact lists, kept rendered, as
-- sqlite/0007_contact_entry.sql. The text must be byte for byte what SQLite's
-- json_object writes (same keys in the same order, ts a string), so that a
-- deployment copied from SQLite and one born on PostgreSQL answer alike.
-- json_build_object cannot give it: its text form writes "key" : value with
-- spaces, and jsonb reorders keys. So the object is joined from to_json of
-- each value, which escapes strings as SQLite does
-- (TestPostgresContactJSONMatchesSQLite checks it).
ALTER TABLE users ADD COLUMN contact_json TEXT NOT NULL DEFAULT '';

CREATE FUNCTION contact_entry(name TEXT, status TEXT, phone TEXT, photo TEXT, thumbnail TEXT, profile_at BIGINT)
RETURNS TEXT LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '{"name":' || to_json(name)::text
        || ',"status":' || to_json(status)::text
        || ',"phone":' || to_json(substr(phone, 2))::text
        || ',"photo":' || to_json(photo)::text
        || ',"tn":' || to_json(thumbnail)::text
        || ',"gid":"0"'
        || ',"ts":' || to_json((profile_at / 1000)::text)::text
        || '}'
$$;

UPDATE users SET contact_json = contact_entry(name, status, phone, photo, thumbnail, profile_at);

-- A BEFORE trigger sets the column in the row being written; SQLite's AFTER
-- trigger has to update the row a second time.
CREATE FUNCTION users_contact_json() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.contact_json := contact_entry(NEW.name, NEW.status, NEW.phone, NEW.photo, NEW.thumbnail, NEW.profile_at);
    RETURN NEW;
END $$;
CREATE TRIGGER users_contact_json_insert BEFORE INSERT ON users
    FOR EACH ROW EXECUTE FUNCTION users_contact_json();
CREATE TRIGGER users_contact_json_update BEFORE UPDATE OF phone, name, status, photo, thumbnail, profile_at ON users
    FOR EACH ROW EXECUTE FUNCTION users_contact_json();

-- Each user's entry in other people's contact lists (getcontacts replies),
-- kept rendered: a sync returning 1,000 contacts reads one column a row
-- instead of scanning seven and encoding them. The triggers keep it right
-- whatever writes the row (sign-up, profile changes, the dashboard, seeding),
-- so no code path can forget it. The JSON is the protocol's contact object:
-- phone without '+', gid "0" (a person), ts the unix second of the last
-- profile change, as a string.
ALTER TABLE users ADD COLUMN contact_json TEXT NOT NULL DEFAULT '';

UPDATE users SET contact_json = json_object('name', name, 'status', status, 'phone', substr(phone, 2),
    'photo', photo, 'tn', thumbnail, 'gid', '0', 'ts', CAST(profile_at / 1000 AS TEXT));

CREATE TRIGGER users_contact_json_insert AFTER INSERT ON users BEGIN
    UPDATE users SET contact_json = json_object('name', NEW.name, 'status', NEW.status, 'phone', substr(NEW.phone, 2),
        'photo', NEW.photo, 'tn', NEW.thumbnail, 'gid', '0', 'ts', CAST(NEW.profile_at / 1000 AS TEXT))
    WHERE id = NEW.id;
END;

CREATE TRIGGER users_contact_json_update AFTER UPDATE OF phone, name, status, photo, thumbnail, profile_at ON users BEGIN
    UPDATE users SET contact_json = json_object('name', NEW.name, 'status', NEW.status, 'phone', substr(NEW.phone, 2),
        'photo', NEW.photo, 'tn', NEW.thumbnail, 'gid', '0', 'ts', CAST(NEW.profile_at / 1000 AS TEXT))
    WHERE id = NEW.id;
END;

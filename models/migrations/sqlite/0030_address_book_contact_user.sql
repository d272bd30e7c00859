-- Each address-book row carries the id of the user who holds its number
-- (NULL: nobody does), so the delta sync reaches its contacts' rows by id
-- instead of one lookup per number in users_phone_hash, whose 32-byte keys
-- made those lookups two thirds of the query: a delta of 800 contacts out of
-- a 1,580-number book took 1.7 ms of SQLite's time, 0.9 ms by id.
--
-- An upload sets the id as it inserts a row; these triggers keep it exact
-- whenever a user's phone_hash appears (sign-up, an account restored),
-- changes (change of number) or goes (a recycled number, a deletion).
-- SQLite's one writer runs them all in turn, so an upload and a sign-up
-- cannot miss each other. PostgreSQL's writers run side by side, where an
-- upload and a sign-up of the same number would each miss the other's row:
-- there the delta sync keeps matching by hash (its 0030 changes nothing).
ALTER TABLE address_book ADD COLUMN contact_user_id INTEGER;
UPDATE address_book SET contact_user_id = u.id FROM users u WHERE u.phone_hash = address_book.contact_hash;

CREATE TRIGGER address_book_contact_user_insert AFTER INSERT ON users WHEN NEW.phone_hash IS NOT NULL BEGIN
    UPDATE address_book SET contact_user_id = NEW.id WHERE contact_hash = NEW.phone_hash;
END;
CREATE TRIGGER address_book_contact_user_update AFTER UPDATE OF phone_hash ON users
WHEN NEW.phone_hash IS NOT OLD.phone_hash BEGIN
    UPDATE address_book SET contact_user_id = NULL WHERE contact_hash = OLD.phone_hash;
    UPDATE address_book SET contact_user_id = NEW.id WHERE contact_hash = NEW.phone_hash;
END;
CREATE TRIGGER address_book_contact_user_delete AFTER DELETE ON users WHEN OLD.phone_hash IS NOT NULL BEGIN
    UPDATE address_book SET contact_user_id = NULL WHERE contact_hash = OLD.phone_hash;
END;

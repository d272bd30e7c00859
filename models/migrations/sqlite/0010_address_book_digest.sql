-- What a re-sync may skip: digests (SHA-256 of the sorted keyed hashes, cut
-- to 16 bytes) of lists of numbers that are all in the owner's address book,
-- the latest few per owner (clients that send a large book in batches have
-- one list per batch). An upload whose list has a digest here has nothing to
-- write and need not look each number up in the book. A digest is written
-- in the transaction that stores its list, or after a re-sync found the list
-- all there (checked again in the write); every change that can take numbers
-- out of a book (delcontacts, reset) removes the owner's digests.
CREATE TABLE address_book_digest (
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest   BLOB    NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (owner_id, digest)
) WITHOUT ROWID;

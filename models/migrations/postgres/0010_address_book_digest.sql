-- Digests of lists a re-sync may skip, as sqlite/0010_address_book_digest.sql.
CREATE TABLE address_book_digest (
    owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest   BYTEA  NOT NULL,
    at       BIGINT NOT NULL,
    PRIMARY KEY (owner_id, digest)
);

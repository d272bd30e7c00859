package models

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
)

// CheckWritable reports whether the database takes a write now: it
// rewrites the probe row (write_probe) through the writer, as a request's
// write would go. A database that answers reads but refuses writes (a full
// disk, a file system turned read-only) fails it; a writer that is only
// slow (ctx's deadline passed while it waited) does not: that is load, not
// a fault. The error says what kind of failure it was (StorageFailure),
// never a driver's text.
func (d *DB) CheckWritable(ctx context.Context, now time.Time) error {
	err := d.WriteTx(ctx, func(tx *Tx) error {
		return tx.Exec("UPDATE write_probe SET at = ? WHERE id = 1", toMillis(now)).Error
	})
	if err == nil || IsBusy(err) {
		return nil
	}
	return errors.New("the database refuses writes: " + StorageFailure(err))
}

// StorageFailure names the kind of a database failure for an operator: a
// full disk, a read-only database, an I/O error, the process out of file
// descriptors, or, for anything else, "a write failed".
func StorageFailure(err error) string {
	if OutOfFiles(err) {
		return outOfFiles
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrFull:
			return "the disk is full"
		case sqlite3.ErrReadonly:
			return "the database is read-only"
		case sqlite3.ErrIoErr:
			return "an I/O error"
		case sqlite3.ErrCantOpen:
			return "the database file cannot be opened"
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "53100":
			return "the disk is full"
		case "25006":
			return "the database is read-only"
		case "58030":
			return "an I/O error"
		case "53000":
			return "the database server is out of resources"
		}
	}
	return "a write failed"
}

// outOfFiles is how StorageFailure names descriptor exhaustion.
const outOfFiles = "too many open files (the process's file-descriptor limit; see --max-connections)"

// OutOfFiles reports a failure to open a file or a connection because the
// process (EMFILE) or the system (ENFILE) has no descriptor left: the
// database is there, the process cannot reach it for now.
func OutOfFiles(err error) bool {
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		return true
	}
	var se sqlite3.Error
	return errors.As(err, &se) && (se.SystemErrno == syscall.EMFILE || se.SystemErrno == syscall.ENFILE)
}

// MaxDescriptors is how many file descriptors the database's connections
// may hold open at most: on SQLite the database file and its WAL for each
// connection of every pool, and the shared-memory file once; on PostgreSQL
// a socket per connection.
func (d *DB) MaxDescriptors() int {
	pools := []*gorm.DB{d.Write}
	if d.Read != d.Write {
		pools = append(pools, d.Read)
	}
	n := 0
	for _, g := range pools {
		if s, err := g.DB(); err == nil {
			n += s.Stats().MaxOpenConnections
		}
	}
	if d.dialect == dialectPostgres {
		return n
	}
	if d.ckpt != nil {
		n += d.ckpt.Stats().MaxOpenConnections
	}
	return 2*n + 1
}

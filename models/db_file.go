package models

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// The SQLite file under the running server. Its health is read from the
// file system's metadata alone, never by opening the file: POSIX record
// locks belong to a process and an inode, and closing any descriptor of the
// file drops every lock the process holds on it. A check that opened and
// closed roster.db would leave SQLite's connections unlocked, and the next
// process to open the database (roster admin, roster backup, a second
// server) would take it for unused, checkpoint and delete the -wal and -shm
// under the server, losing acknowledged writes.

// ErrDatabaseLost means the database file was deleted or replaced since it
// was opened: what the open connections write would not survive a restart.
var ErrDatabaseLost = errors.New("the database file was deleted or replaced since it was opened; " +
	"restore it and restart Roster")

// dbFile is the SQLite file as it was opened; the zero value (PostgreSQL)
// has nothing to check.
type dbFile struct {
	path   string
	opened os.FileInfo
}

// lost reports whether the file at path is no longer the one opened.
func (f dbFile) lost() error {
	if f.opened == nil {
		return nil
	}
	fi, err := os.Stat(f.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ErrDatabaseLost
	case err != nil:
		return err
	case !os.SameFile(f.opened, fi):
		return ErrDatabaseLost
	}
	return nil
}

// FileHealth reports a database file that is gone, replaced or no longer
// writable by this process since it was opened (nil on PostgreSQL).
func (d *DB) FileHealth() error {
	if err := d.file.lost(); err != nil {
		return err
	}
	if d.file.opened == nil {
		return nil
	}
	// access(2) asks the permission without opening the file.
	const writable = 2 // W_OK
	if err := syscall.Access(d.file.path, writable); err != nil {
		return errors.New("the database file is not writable")
	}
	return nil
}

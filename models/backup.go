package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
)

// Backup writes a consistent copy of the database at path to out with
// VACUUM INTO: it runs while the server keeps serving (it reads one
// snapshot, as any reader does) and the copy is compacted. It opens its own
// connection and applies no migrations, so a newer binary never changes the
// database it backs up.
func Backup(ctx context.Context, path, out string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no database at %s: %w", path, err)
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s already exists: choose a new file", out)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	db, err := sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// The copy holds phone numbers and token hashes: owner-only, wherever
	// it is written.
	return os.Chmod(out, 0o600)
}

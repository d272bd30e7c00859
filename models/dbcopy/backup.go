package dbcopy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"roster/models"
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
	// The copy holds phone numbers and token hashes: it is created
	// owner-only before VACUUM INTO fills it (an empty file is allowed
	// there), never readable by others while it is being written.
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: choose a new file", out)
	}
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	db, err := models.OpenSQLiteAsIs(path)
	if err != nil {
		os.Remove(out)
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", out); err != nil {
		os.Remove(out)
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

package web

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"roster/models/dbcopy"
)

// BackupCommand is `roster backup --out FILE`: a consistent copy of the
// database, taken while the server runs, and a copy of the secrets next to
// it (FILE.secrets/, mode 0700): without them the copy's codes, address
// books and cookies cannot be read.
func BackupCommand(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("roster backup", flag.ContinueOnError)
	fs.SetOutput(out)
	dataDir := fs.String("data-dir", "./data", "data directory to back up [$"+EnvName("data-dir")+"]")
	dest := fs.String("out", "", "file to write the database copy to (must not exist); secrets go to FILE.secrets/")
	if v := getenv(EnvName("data-dir")); v != "" {
		*dataDir = v
	}
	if err := fs.Parse(args); err != nil {
		return MarkUsage(err)
	}
	if url := getenv(EnvName("database-url")); url != "" {
		return fmt.Errorf("the database is PostgreSQL (%s is set): roster backup copies SQLite files only. "+
			"Back PostgreSQL up with its own tools, e.g. pg_dump --format=custom --file roster.dump %s, "+
			"or continuous archiving; keep the ROSTER_*_KEY secrets and the object store's files with it", EnvName("database-url"), redactURL(url))
	}
	if *dest == "" || fs.NArg() > 0 {
		return MarkUsage(errors.New("usage: roster backup --out FILE [--data-dir DIR]"))
	}
	path, err := existingDatabase(*dataDir)
	if err != nil {
		return err
	}
	if err := dbcopy.Backup(ctx, path, *dest); err != nil {
		return err
	}
	n, err := copySecrets(filepath.Join(*dataDir, "secrets"), *dest+".secrets")
	if err != nil {
		return fmt.Errorf("the database was copied to %s, but copying the secrets failed: %w", *dest, err)
	}
	fmt.Fprintf(out, "database copied to %s; %d secret files copied to %s.secrets/\n", *dest, n, *dest)
	fmt.Fprintf(out, "uploaded files are not included: back up %s too\n", filepath.Join(*dataDir, "files"))
	return nil
}

// copySecrets copies the generated secret files (secrets given in the
// environment are not files and are the operator's to keep).
func copySecrets(from, to string) (int, error) {
	entries, err := os.ReadDir(from)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if err := os.Mkdir(to, 0o700); err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			return n, err
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

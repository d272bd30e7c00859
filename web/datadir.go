package web

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// The data directory: its modes, the database file, and the generated
// secrets that must stay with it. A lost database or a lost secret stops
// the start with what was lost and how to restore it: starting anyway
// would quietly begin a new, empty service next to the old data (sign-ins,
// address books and dashboard accounts gone, or stored hashes that never
// match again).

// dataPaths are the files of one data directory.
type dataPaths struct{ dir, db, secrets string }

func pathsOf(dataDir string) dataPaths {
	return dataPaths{dir: dataDir, db: filepath.Join(dataDir, "roster.db"), secrets: filepath.Join(dataDir, "secrets")}
}

// openDatabase makes the data directory the owner's alone (0700), refuses a
// missing database when generated secrets show that one existed (unless
// --new-database), and opens the database.
func openDatabase(ctx context.Context, cfg Config, log *slog.Logger) (*models.DB, error) {
	if cfg.DatabaseURL != "" {
		db, err := models.OpenPostgres(ctx, cfg.DatabaseURL, models.PostgresPool{MaxOpen: cfg.DatabaseConns, MaxIdle: cfg.DatabaseConns,
			LockTimeout: cfg.RequestTimeout}, log)
		if err != nil {
			return nil, fmt.Errorf("--database-url %s: %w", redactURL(cfg.DatabaseURL), err)
		}
		return db, nil
	}
	p := pathsOf(cfg.DataDir)
	if err := ownerOnlyDir(p.dir); err != nil {
		return nil, err
	}
	if _, err := os.Stat(p.db); errors.Is(err, fs.ErrNotExist) {
		if keys, _ := filepath.Glob(filepath.Join(p.secrets, "*.key")); len(keys) > 0 && !cfg.NewDatabase {
			return nil, fmt.Errorf("the database %s is missing, but %s holds the keys of an existing one: restore roster.db "+
				"from your backup (roster backup writes one), or start with --new-database to begin with an empty database", p.db, p.secrets)
		}
		if cfg.NewDatabase {
			log.Warn("creating a new, empty database (--new-database)", "path", p.db)
		}
	} else if err != nil {
		return nil, fmt.Errorf("database %s: %w", p.db, err)
	}
	return models.Open(ctx, p.db, log)
}

// ownerOnlyDir creates dir with mode 0700, or takes group and other
// permissions away from an existing one: it holds the database and secrets.
func ownerOnlyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, fi.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("restrict data directory %s to its owner: %w", dir, err)
		}
	}
	return nil
}

// secretGuard says what stored data depends on a generated secret, for
// LoadSecret: "" when nothing does and a new one may be made.
func secretGuard(ctx context.Context, db *models.DB, name string) func() (string, error) {
	return func() (string, error) {
		n, what, err := db.Dependents(ctx, name)
		if err != nil || n == 0 {
			return "", err
		}
		return fmt.Sprintf("%d %s", n, what), nil
	}
}

// databaseHealth reports a database file that is gone, replaced or no longer
// writable since it was opened: the open connections would keep working on
// the deleted file while nothing they write survives a restart.
func databaseHealth(path string, opened os.FileInfo) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("the database file is gone")
	}
	if err != nil {
		return errors.New("the database file cannot be read")
	}
	if opened != nil && !os.SameFile(opened, fi) {
		return errors.New("the database file was replaced since it was opened")
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if models.OutOfFiles(err) {
		return nil // no descriptor to look with says nothing of the file (readiness reports the exhaustion)
	}
	if err != nil {
		return errors.New("the database file is not writable")
	}
	return f.Close()
}

// databaseCheckInterval is how often the running server looks at its
// database file.
const databaseCheckInterval = 2 * time.Second

// watchDatabase checks the database file every interval until ctx ends.
func (s *Server) watchDatabase(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.CheckDatabase()
		}
	}
}

// CheckDatabase looks at the database file now (the watcher calls it;
// tests call it directly). While the file is gone, replaced or not
// writable, the op endpoint refuses requests: connections still open on a
// deleted file would acknowledge sign-ins that no restart will find.
func (s *Server) CheckDatabase() {
	if s.dbOpened == nil {
		return // not a file (PostgreSQL)
	}
	err := databaseHealth(pathsOf(s.cfg.DataDir).db, s.dbOpened)
	was := s.dbLost.Swap(err != nil)
	switch {
	case err != nil && !was:
		s.log.Error("the database file is lost: requests are refused until it is restored and Roster restarted", "err", err)
	case err == nil && was:
		s.log.Info("the database file is back")
	}
}

// errDatabaseLost is what a refused request logs.
var errDatabaseLost = errors.New("the database file is lost; not acknowledging writes that would not survive a restart")

// refuseWhileDatabaseLost guards the op endpoint (see CheckDatabase).
func (s *Server) refuseWhileDatabaseLost(next fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.dbLost.Load() {
			return errDatabaseLost
		}
		return next(c)
	}
}

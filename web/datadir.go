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

// openDatabase refuses a missing database when generated secrets show that
// one existed (unless --new-database), and opens the database.
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
	return models.OpenForServer(ctx, p.db, cfg.SQLiteMemory, log)
}

// existingDatabase is the path of the data directory's database, for the
// commands that work on a deployment: a mistyped --data-dir must not
// quietly become a new, empty database beside the real one. Only the
// server's first start (and roster seed) creates a database.
func existingDatabase(dataDir string) (string, error) {
	p := pathsOf(dataDir)
	fi, err := os.Stat(p.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("there is no data directory %s: check --data-dir (or %s); the server creates it at its first start", p.dir, EnvName("data-dir"))
	case err != nil:
		return "", fmt.Errorf("data directory %s: %w", p.dir, err)
	case !fi.IsDir():
		return "", fmt.Errorf("%s is not a directory: check --data-dir", p.dir)
	}
	if _, err := os.Stat(p.db); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s holds no Roster database (roster.db): check --data-dir (or %s); the server creates it at its first start", p.dir, EnvName("data-dir"))
	} else if err != nil {
		return "", fmt.Errorf("database %s: %w", p.db, err)
	}
	return p.db, nil
}

// lockServedDataDir makes the data directory the owner's alone and takes
// its lock for the server; on PostgreSQL there is no file to guard (several
// instances may share one directory of uploaded files).
func lockServedDataDir(cfg Config) (*dataDirLock, error) {
	if cfg.DatabaseURL != "" {
		return nil, nil
	}
	if err := ownerOnlyDir(cfg.DataDir); err != nil {
		return nil, err
	}
	return lockDataDir(cfg.DataDir, "server")
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
	err := s.db.FileHealth()
	was := s.dbLost.Swap(err != nil)
	switch {
	case err != nil && !was:
		s.log.Error("the database file is lost: requests are refused until it is restored and Roster restarted", "err", err)
	case err == nil && was:
		s.log.Info("the database file is back")
	}
}

// refuseWhileDatabaseLost guards the op endpoint (see CheckDatabase).
func (s *Server) refuseWhileDatabaseLost(next fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.dbLost.Load() {
			return models.ErrDatabaseLost
		}
		return next(c)
	}
}

// dashboardWhileDatabaseLost guards the dashboard likewise: its pages say
// what was lost instead of showing actions that could not be saved.
func (s *Server) dashboardWhileDatabaseLost(c *fiber.Ctx) error {
	if s.dbLost.Load() {
		return models.ErrDatabaseLost
	}
	return c.Next()
}

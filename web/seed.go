package web

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"roster/models"
	"roster/models/seed"
)

// Seed is the `roster seed` command: it fills an empty data directory with
// a generated deployment (for benchmarks and demos). It uses the data
// directory's contacts key (created if missing), so a server started on the
// directory afterwards finds the generated contacts.
//
// The database and the photos are built beside their final names
// (roster.db.partial, files.partial) and moved into place only when
// complete: an interrupted seed leaves nothing a server would open, and
// the next run starts again from a clean slate.
//
// With ROSTER_DATABASE_URL set, the deployment is generated in SQLite first
// and then copied into PostgreSQL with COPY (seed_postgres.go).
func Seed(ctx context.Context, args []string, getenv func(string) string, out io.Writer, log *slog.Logger) error {
	cfg := seed.DefaultConfig()
	fs := flag.NewFlagSet("roster seed", flag.ContinueOnError)
	fs.SetOutput(out)
	dataDir := fs.String("data-dir", "./data", "data directory to fill (it must have no database yet) [$"+EnvName("data-dir")+"]")
	fs.IntVar(&cfg.Users, "users", cfg.Users, "registered users")
	fs.IntVar(&cfg.Books, "books", cfg.Books, "users with an address book (each book: --book-min to --book-max numbers)")
	fs.IntVar(&cfg.BookMin, "book-min", cfg.BookMin, "fewest numbers in an address book")
	fs.IntVar(&cfg.BookMax, "book-max", cfg.BookMax, "most numbers in an address book")
	fs.Float64Var(&cfg.UserShare, "user-share", cfg.UserShare, "share of address-book numbers that are users")
	fs.IntVar(&cfg.Popular, "popular", cfg.Popular, "address books holding the joiner number "+seed.Joiner+" and user 1 (fan-out size)")
	fs.BoolVar(&cfg.Uniform, "uniform", false, "no blocked or moderated users, everyone findable by everyone (for benchmarks)")
	fs.Float64Var(&cfg.PhotoShare, "photo-share", cfg.PhotoShare, "share of users with a profile photo")
	fs.Uint64Var(&cfg.RandSeed, "random-seed", cfg.RandSeed, "seed of the generator (same seed, same data)")
	if v := getenv(EnvName("data-dir")); v != "" {
		*dataDir = v
	}
	if err := fs.Parse(args); err != nil {
		return MarkUsage(err)
	}
	if fs.NArg() > 0 {
		return MarkUsage(fmt.Errorf("unexpected arguments: %v", fs.Args()))
	}
	getenv, err := withSecretFiles(getenv, log)
	if err != nil {
		return err
	}
	if dbURL := getenv(EnvName("database-url")); dbURL != "" {
		return seedPostgres(ctx, dbURL, *dataDir, cfg, getenv, out, log)
	}
	st, err := seedSQLite(ctx, *dataDir, cfg, getenv, log)
	if err != nil {
		return err
	}
	size := int64(0)
	if fi, err := os.Stat(filepath.Join(*dataDir, "roster.db")); err == nil {
		size = fi.Size()
	}
	fmt.Fprintf(out, "seeded %s: %d users, %d address books, %d address-book rows in %s; database %.1f MiB\n",
		*dataDir, st.Users, st.Books, st.BookRows, st.Took.Round(100_000_000), float64(size)/(1<<20))
	printSeedStats(out, st, cfg)
	return nil
}

// printSeedStats prints the rest of what a seed made, and how to use it.
func printSeedStats(out io.Writer, st seed.Stats, cfg seed.Config) {
	fmt.Fprintf(out, "  %d sessions, %d codes of the last 30 days, %d audit entries, %d contact syncs, %d photos, %d blocked users\n"+
		"user N has the number models/seed.UserPhone(N) (user 1: %s); %s is in %d address books and not a user\n",
		st.Sessions, st.Codes, st.Audit, st.Syncs, st.Photos, st.Blocked,
		seed.UserPhone(1), seed.Joiner, cfg.Popular)
}

// seedSQLite seeds the data directory's database and files.
func seedSQLite(ctx context.Context, dataDir string, cfg seed.Config, getenv func(string) string, log *slog.Logger) (seed.Stats, error) {
	var st seed.Stats
	if err := ownerOnlyDir(dataDir); err != nil {
		return st, err
	}
	lock, err := lockDataDir(dataDir, "seed")
	if err != nil {
		return st, err
	}
	defer lock.release()
	path, files := filepath.Join(dataDir, "roster.db"), filepath.Join(dataDir, "files")
	if err := seedTargetsFree(path, files); err != nil {
		return st, err
	}
	key, err := LoadSecret(dataDir, "contacts", getenv("ROSTER_CONTACTS_KEY"), nil)
	if err != nil {
		return st, err
	}
	// The sign-in key too: the server refuses to generate it over users.
	codeKey, err := LoadSecret(dataDir, "otp", getenv("ROSTER_OTP_KEY"), nil)
	if err != nil {
		return st, err
	}
	partial, partialFiles := path+".partial", files+".partial"
	if err := removeSeedLeftovers(partial, partialFiles, log); err != nil {
		return st, err
	}
	if err := os.Mkdir(partialFiles, 0o700); err != nil {
		return st, err
	}
	cfg.FilesDir = partialFiles
	st, err = seedInto(ctx, partial, map[string][]byte{"contacts": key, "otp": codeKey}, cfg, log)
	if err != nil {
		return st, errors.Join(err, removeSeedLeftovers(partial, partialFiles, log))
	}
	if fi, err := os.Stat(partial + "-wal"); err == nil && fi.Size() > 0 {
		return st, fmt.Errorf("seed: %s-wal was not checkpointed into the database; run the seed again", partial)
	}
	if err := os.RemoveAll(files); err != nil { // empty: seedTargetsFree checked
		return st, err
	}
	if err := os.Rename(partialFiles, files); err != nil {
		return st, err
	}
	return st, os.Rename(partial, path)
}

// seedTargetsFree refuses a data directory that already has a database or
// files: seeding never mixes generated data with real data.
func seedTargetsFree(db, files string) error {
	if _, err := os.Stat(db); err == nil {
		return fmt.Errorf("%s exists: seed makes a new database; choose an empty data directory or remove it", db)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	entries, err := os.ReadDir(files)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty: seed makes new files; choose an empty data directory", files)
	}
	return nil
}

// removeSeedLeftovers removes what an interrupted seed left.
func removeSeedLeftovers(partial, partialFiles string, log *slog.Logger) error {
	var errs []error
	for _, p := range []string{partial, partial + "-wal", partial + "-shm", partialFiles} {
		if _, err := os.Stat(p); err == nil {
			log.Info("seed: removing an unfinished seed", "path", p)
		}
		errs = append(errs, os.RemoveAll(p))
	}
	return errors.Join(errs...)
}

// seedInto seeds the database at path and closes it, which checkpoints the
// WAL into the database file. The keys' check values are recorded with the
// data (models.CheckSecret): a server started on it with other keys is
// refused.
func seedInto(ctx context.Context, path string, keys map[string][]byte, cfg seed.Config, log *slog.Logger) (seed.Stats, error) {
	// The seed's statements are big by design (an index over 11 million
	// rows takes 20 s): its own progress lines say where it is, so the
	// database's slow-statement warnings are left out; failures still log.
	db, err := models.Open(ctx, path, slog.New(minLevel{log.Handler(), slog.LevelError}))
	if err != nil {
		return seed.Stats{}, err
	}
	st, err := seed.Fill(ctx, db, models.NewPhoneHasher(keys["contacts"]), cfg, log)
	for name, key := range keys {
		if err == nil {
			_, err = db.CheckSecret(ctx, name, key, time.Now())
		}
	}
	return st, errors.Join(err, db.Close())
}

// minLevel passes on the records of at least its level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}

package web

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"roster/models"
)

// Seed is the `roster seed` command: it fills an empty data directory with
// generated users and address books (for benchmarks and demos). It uses the
// data directory's contacts key (created if missing), so a server started on
// the directory afterwards finds the generated contacts.
func Seed(ctx context.Context, args []string, getenv func(string) string, out io.Writer, log *slog.Logger) error {
	cfg := models.DefaultSeedConfig()
	fs := flag.NewFlagSet("roster seed", flag.ContinueOnError)
	fs.SetOutput(out)
	dataDir := fs.String("data-dir", "./data", "data directory to fill (its database must have no users) [$"+EnvName("data-dir")+"]")
	fs.IntVar(&cfg.Users, "users", cfg.Users, "registered users")
	fs.IntVar(&cfg.Books, "books", cfg.Books, "users with an address book (each book: --book-min to --book-max numbers)")
	fs.IntVar(&cfg.BookMin, "book-min", cfg.BookMin, "fewest numbers in an address book")
	fs.IntVar(&cfg.BookMax, "book-max", cfg.BookMax, "most numbers in an address book")
	fs.Float64Var(&cfg.UserShare, "user-share", cfg.UserShare, "share of address-book numbers that are users")
	fs.IntVar(&cfg.Popular, "popular", cfg.Popular, "address books holding the joiner number "+models.SeedJoiner+" and user 1 (fan-out size)")
	fs.Uint64Var(&cfg.RandSeed, "random-seed", cfg.RandSeed, "seed of the generator (same seed, same data)")
	if v := getenv(EnvName("data-dir")); v != "" {
		*dataDir = v
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if err := ownerOnlyDir(*dataDir); err != nil {
		return err
	}
	key, err := LoadSecret(*dataDir, "contacts", getenv("ROSTER_CONTACTS_KEY"), nil)
	if err != nil {
		return err
	}
	// The sign-in key too: the server refuses to generate it over users.
	if _, err := LoadSecret(*dataDir, "otp", getenv("ROSTER_OTP_KEY"), nil); err != nil {
		return err
	}
	path := filepath.Join(*dataDir, "roster.db")
	db, err := models.Open(ctx, path, log)
	if err != nil {
		return err
	}
	st, err := models.Seed(ctx, db, models.NewPhoneHasher(key), cfg, log)
	if cerr := db.Close(); err == nil {
		err = cerr // closing checkpoints the WAL into the database file
	}
	if err != nil {
		return err
	}
	size := int64(0)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if fi, err := os.Stat(path + suffix); err == nil {
			size += fi.Size()
		}
	}
	fmt.Fprintf(out, "seeded %s: %d users, %d address books, %d address-book rows in %s; database %.1f MiB\n"+
		"user N has the number models.SeedUserPhone(N) (user 1: %s); %s is in %d address books and not a user\n",
		*dataDir, st.Users, st.Books, st.BookRows, st.Took.Round(100_000_000), float64(size)/(1<<20),
		models.SeedUserPhone(1), models.SeedJoiner, cfg.Popular)
	return nil
}

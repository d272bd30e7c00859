package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// SeedConfig shapes a generated database (for benchmarks and demos).
type SeedConfig struct {
	Users     int // registered users
	Books     int // users who have uploaded an address book
	BookMin   int // numbers per address book, uniform in [BookMin, BookMax]
	BookMax   int
	UserShare float64 // share of address-book numbers that are users
	Popular   int     // address books holding SeedJoiner and user 1 (fan-out targets)
	RandSeed  uint64
}

// DefaultSeedConfig: 1,000,000 users, 10,000 of them with address books of
// 200-2,000 numbers, half of them users; the joiner number is in 10,000 books.
func DefaultSeedConfig() SeedConfig {
	return SeedConfig{Users: 1_000_000, Books: 10_000, BookMin: 200, BookMax: 2000, UserShare: 0.5, Popular: 10_000, RandSeed: 1}
}

// SeedJoiner is a number that is not a user but is in the first Popular
// address books: signing it in makes a join notice with that many recipients.
const SeedJoiner = "+12025550100"

// seedAreaCodes are US area codes that phonenumbers accepts as valid.
func seedAreaCodes() [20]int {
	return [...]int{201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225, 228}
}

// SeedUserPhone is the E.164 number of the seeded user with 1-based id i.
func SeedUserPhone(i int) string {
	codes := seedAreaCodes()
	n := len(codes)
	return fmt.Sprintf("+1%d%07d", codes[(i-1)%n], 2_000_000+(i-1)/n)
}

// SeedOtherPhone is the j-th (0-based) number that no seeded user has.
func SeedOtherPhone(j int) string {
	codes := seedAreaCodes()
	n := len(codes)
	return fmt.Sprintf("+1%d%07d", codes[j%n], 7_000_000+j/n)
}

// SeedStats reports what Seed made.
type SeedStats struct {
	Users, Books, BookRows int64
	Took                   time.Duration
}

// Seed fills an empty database quickly: users and address books are written
// with prepared multi-row INSERTs in large transactions, with durability
// switched off for the duration (a crash mid-seed leaves a database to
// delete, which is acceptable for generated data) and the reverse index
// built once at the end instead of row by row.
func Seed(ctx context.Context, db *DB, hasher *PhoneHasher, cfg SeedConfig, log *slog.Logger) (SeedStats, error) {
	start := time.Now()
	var st SeedStats
	if cfg.Users < 2 || cfg.Books < 0 || cfg.Books >= cfg.Users || cfg.BookMin < 0 || cfg.BookMax < cfg.BookMin ||
		cfg.UserShare < 0 || cfg.UserShare > 1 || cfg.Popular > cfg.Books {
		return st, errors.New("seed: users >= 2, 0 <= popular <= books < users, 0 <= book-min <= book-max, 0 <= user-share <= 1")
	}
	sqlDB, err := db.Write.DB()
	if err != nil {
		return st, err
	}
	conn, err := sqlDB.Conn(ctx) // the pool's one connection: pragmas apply to it
	if err != nil {
		return st, err
	}
	defer conn.Close()
	var existing int64
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&existing); err != nil {
		return st, err
	}
	if existing > 0 {
		return st, fmt.Errorf("seed: the database already has %d users; seed an empty data directory", existing)
	}
	for _, p := range []string{"PRAGMA synchronous = OFF", "PRAGMA cache_size = -1000000", "PRAGMA temp_store = MEMORY"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return st, err
		}
	}
	defer conn.ExecContext(context.Background(), "PRAGMA synchronous = NORMAL")

	log.Info("seed: hashing numbers", "users", cfg.Users)
	userHashes := parallelHashes(hasher, cfg.Users, func(i int) string { return SeedUserPhone(i + 1) })
	others := max(cfg.Users, 100_000)
	otherHashes := parallelHashes(hasher, others, SeedOtherPhone)
	log.Info("seed: writing users")
	if err := seedUsers(ctx, conn, cfg, userHashes); err != nil {
		return st, err
	}
	st.Users = int64(cfg.Users)
	log.Info("seed: writing address books", "books", cfg.Books)
	if _, err := conn.ExecContext(ctx, "DROP INDEX IF EXISTS address_book_contact"); err != nil {
		return st, err
	}
	if err := seedBooks(ctx, conn, cfg, hasher, userHashes, otherHashes); err != nil {
		return st, err
	}
	st.Books = int64(cfg.Books)
	// Numbers drawn twice for one book were ignored: count what is stored.
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM address_book").Scan(&st.BookRows); err != nil {
		return st, err
	}
	log.Info("seed: building the reverse index", "rows", st.BookRows)
	if _, err := conn.ExecContext(ctx, "CREATE INDEX address_book_contact ON address_book (contact_hash)"); err != nil {
		return st, err
	}
	if _, err := conn.ExecContext(ctx, "ANALYZE"); err != nil {
		return st, err
	}
	st.Took = time.Since(start)
	return st, nil
}

func parallelHashes(h *PhoneHasher, n int, phone func(int) string) [][]byte {
	out := make([][]byte, n)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	step := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += step {
		wg.Go(func() {
			for i := lo; i < min(lo+step, n); i++ {
				out[i] = h.Hash(phone(i))
			}
		})
	}
	wg.Wait()
	return out
}

// multiInsert runs INSERTs of rowsPer rows each through one prepared statement.
type multiInsert struct {
	tx      *sql.Tx
	stmt    *sql.Stmt
	prefix  string
	rowSQL  string
	cols    int
	rowsPer int
	args    []any
}

func newMultiInsert(ctx context.Context, tx *sql.Tx, prefix, rowSQL string, cols, rowsPer int) (*multiInsert, error) {
	m := &multiInsert{tx: tx, prefix: prefix, rowSQL: rowSQL, cols: cols, rowsPer: rowsPer}
	stmt, err := tx.PrepareContext(ctx, m.sql(rowsPer))
	m.stmt = stmt
	return m, err
}

func (m *multiInsert) sql(n int) string {
	return m.prefix + strings.TrimSuffix(strings.Repeat(m.rowSQL+",", n), ",")
}

func (m *multiInsert) add(ctx context.Context, vals ...any) error {
	m.args = append(m.args, vals...)
	if len(m.args) == m.cols*m.rowsPer {
		_, err := m.stmt.ExecContext(ctx, m.args...)
		m.args = m.args[:0]
		return err
	}
	return nil
}

func (m *multiInsert) flush(ctx context.Context) error {
	defer m.stmt.Close()
	if len(m.args) == 0 {
		return nil
	}
	_, err := m.tx.ExecContext(ctx, m.sql(len(m.args)/m.cols), m.args...)
	m.args = m.args[:0]
	return err
}

func seedUsers(ctx context.Context, conn *sql.Conn, cfg SeedConfig, hashes [][]byte) error {
	rng := rand.New(rand.NewPCG(cfg.RandSeed, 7))
	now := time.Now().UnixMilli()
	year := int64(365 * 24 * time.Hour / time.Millisecond)
	const batch = 100_000
	for lo := 0; lo < cfg.Users; lo += batch {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		ins, err := newMultiInsert(ctx, tx, `INSERT INTO users (id, phone, country_code, name, status, discoverable,
			created_at, profile_at, phone_hash) VALUES `, "(?,?,1,?,?,?,?,?,?)", 8, 100)
		if err != nil {
			tx.Rollback()
			return err
		}
		for i := lo; i < min(lo+batch, cfg.Users); i++ {
			id := i + 1
			created := now - rng.Int64N(year)
			profile := created + rng.Int64N(now-created+1)
			disc := DiscoverEveryone
			switch r := rng.IntN(100); {
			case id == 1:
			case r < 3:
				disc = DiscoverContacts
			case r < 4:
				disc = DiscoverNobody
			}
			err := ins.add(ctx, id, SeedUserPhone(id), fmt.Sprintf("User %d", id), "Hey there! I am using Roster",
				disc, created, profile, hashes[i])
			if err != nil {
				tx.Rollback()
				return err
			}
		}
		if err := ins.flush(ctx); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// seedBooks gives address books to users 2..Books+1 (user 1 is the popular
// user). The first Popular books also hold SeedJoiner and user 1.
func seedBooks(ctx context.Context, conn *sql.Conn, cfg SeedConfig, hasher *PhoneHasher, userHashes, otherHashes [][]byte) error {
	joiner := hasher.Hash(SeedJoiner)
	const booksPerTx = 200
	for lo := 0; lo < cfg.Books; lo += booksPerTx {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		ins, err := newMultiInsert(ctx, tx, "INSERT OR IGNORE INTO address_book (owner_id, contact_hash) VALUES ", "(?,?)", 2, 500)
		if err != nil {
			tx.Rollback()
			return err
		}
		for b := lo; b < min(lo+booksPerTx, cfg.Books); b++ {
			owner := b + 2
			rng := rand.New(rand.NewPCG(cfg.RandSeed, uint64(owner)))
			size := cfg.BookMin + rng.IntN(cfg.BookMax-cfg.BookMin+1)
			book := make([][]byte, 0, size+2)
			for range size {
				if rng.Float64() < cfg.UserShare {
					book = append(book, userHashes[rng.IntN(len(userHashes))])
				} else {
					book = append(book, otherHashes[rng.IntN(len(otherHashes))])
				}
			}
			if b < cfg.Popular {
				book = append(book, joiner, userHashes[0])
			}
			slices.SortFunc(book, func(x, y []byte) int { return strings.Compare(string(x), string(y)) })
			for _, h := range book {
				if err := ins.add(ctx, owner, h); err != nil {
					tx.Rollback()
					return err
				}
			}
		}
		if err := ins.flush(ctx); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

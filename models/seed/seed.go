package seed

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"roster/models"
)

// Config shapes a generated database (for benchmarks and demos).
type Config struct {
	Users     int // registered users
	Books     int // users who have uploaded an address book
	BookMin   int // numbers per address book, uniform in [BookMin, BookMax]
	BookMax   int
	UserShare float64 // share of address-book numbers that are users
	Popular   int     // address books holding Joiner and user 1 (fan-out targets)
	RandSeed  uint64
	// PhotoShare is the share of users with a profile photo, stored in
	// FilesDir (no photos when it is empty).
	PhotoShare float64
	FilesDir   string
	Now        time.Time // the end of the generated history; zero: now
	// Uniform leaves out the users who differ in what others see of them
	// (blocked, moderated, not findable by everyone), so that a benchmark's
	// contact lists are the same size every time (web/testdata/loadbench).
	Uniform bool
}

// DefaultConfig: 1,000,000 users, 10,000 of them with address books of
// 200-2,000 numbers, half of them users; the joiner number is in 10,000
// books; 8% of users have a photo.
func DefaultConfig() Config {
	return Config{Users: 1_000_000, Books: 10_000, BookMin: 200, BookMax: 2000, UserShare: 0.5, Popular: 10_000, RandSeed: 1,
		PhotoShare: 0.08}
}

// Joiner is a number that is not a user but is in the first Popular
// address books: signing it in makes a join notice with that many recipients.
const Joiner = "+12025550100"

// seedAreaCodes are US area codes that phonenumbers accepts as valid.
func seedAreaCodes() [20]int {
	return [...]int{201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225, 228}
}

// UserPhone is the E.164 number of the seeded user with 1-based id i.
func UserPhone(i int) string {
	codes := seedAreaCodes()
	n := len(codes)
	return fmt.Sprintf("+1%d%07d", codes[(i-1)%n], 2_000_000+(i-1)/n)
}

// OtherPhone is the j-th (0-based) number that no seeded user has.
func OtherPhone(j int) string {
	codes := seedAreaCodes()
	n := len(codes)
	return fmt.Sprintf("+1%d%07d", codes[j%n], 7_000_000+j/n)
}

// Stats reports what Fill made.
type Stats struct {
	Users, Books, BookRows int64
	Sessions, Codes, Audit int64
	Photos, Blocked, Syncs int64
	Took                   time.Duration
}

// seedHistory is how far back the generated activity (codes, deliveries,
// syncs, audit entries) goes: the default retention, so that nothing seeded
// is pruned at once and nothing older looks missing.
const seedHistory = 30 * 24 * time.Hour

// Fill fills an empty database quickly: rows are written with prepared
// multi-row INSERTs in large transactions, with durability switched off
// for the duration (the caller seeds a new file and discards it if the seed
// does not finish), the name-search trigger replaced by grams computed in
// Go, and the reverse index built once at the end instead of row by row.
//
// What it makes, beyond users and address books: names in several scripts,
// statuses, photos (in cfg.FilesDir), sessions on one to three devices, the
// last 30 days of sign-ins with their codes, deliveries and audit entries
// (and the codes that expired, were guessed wrong or could not be
// delivered), contact-sync history, blocked and moderated users.
func Fill(ctx context.Context, db *models.DB, hasher *models.PhoneHasher, cfg Config, log *slog.Logger) (Stats, error) {
	start := time.Now()
	var st Stats
	if cfg.Users < 2 || cfg.Books < 0 || cfg.Books >= cfg.Users || cfg.BookMin < 0 || cfg.BookMax < cfg.BookMin ||
		cfg.UserShare < 0 || cfg.UserShare > 1 || cfg.Popular > cfg.Books || cfg.PhotoShare < 0 || cfg.PhotoShare > 1 {
		return st, errors.New("seed: users >= 2, 0 <= popular <= books < users, 0 <= book-min <= book-max, 0 <= user-share <= 1, 0 <= photo-share <= 1")
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	sqlDB, err := db.BulkLoadPool()
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
	// Without the readers' connections the writer may leave WAL mode (below).
	readDB, err := db.Read.DB()
	if err != nil {
		return st, err
	}
	readDB.SetMaxIdleConns(0)
	// Rows are written table by table in batches, a session sometimes
	// before its user's batch is flushed: foreign keys are checked once at
	// the end instead (PRAGMA foreign_key_check).
	for _, p := range []string{"PRAGMA synchronous = OFF", "PRAGMA cache_size = -1000000", "PRAGMA temp_store = MEMORY",
		"PRAGMA foreign_keys = OFF"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return st, err
		}
	}
	defer conn.ExecContext(context.Background(), "PRAGMA synchronous = NORMAL")
	defer conn.ExecContext(context.Background(), "PRAGMA foreign_keys = ON")
	// No journal: every page is written once, straight to the file, not
	// to the WAL and again at each checkpoint. A failed seed cannot roll
	// back; its file is discarded.
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode = OFF").Scan(&mode); err != nil {
		return st, err
	}
	if mode == "off" {
		defer conn.ExecContext(context.Background(), "PRAGMA journal_mode = WAL")
	}

	w := newSeedWorld(cfg)
	if cfg.FilesDir != "" && cfg.PhotoShare > 0 {
		if w.avatars, err = newSeedAvatars(ctx, cfg.FilesDir); err != nil {
			return st, fmt.Errorf("seed: avatars: %w", err)
		}
	}
	log.Info("seed: hashing numbers", "users", cfg.Users)
	userHashes := parallelHashes(hasher, cfg.Users, func(i int) string { return UserPhone(i + 1) })
	others := max(cfg.Users, 100_000)
	otherHashes := parallelHashes(hasher, others, OtherPhone)

	restoreTrigger, err := suspendSchema(ctx, conn, "type = 'trigger' AND name = 'users_name_grams_insert'")
	if err != nil {
		return st, err
	}
	// Secondary indexes are built once at the end from sorted keys, not
	// row by row at random places.
	restoreIndexes, err := suspendSchema(ctx, conn, "type = 'index' AND sql IS NOT NULL AND tbl_name IN ('users', 'sessions', 'audit_log', 'otp_codes', 'outbox', 'outbox_attempts', 'contact_syncs')")
	if err != nil {
		return st, err
	}
	if err := w.writeUsers(ctx, conn, userHashes, newSeedProgress(log, "users", cfg.Users), &st); err != nil {
		return st, err
	}
	if err := restoreTrigger(); err != nil {
		return st, err
	}
	if err := w.writeGrams(ctx, conn, newSeedProgress(log, "name search", w.gramRows())); err != nil {
		return st, err
	}
	if err := w.writeHistory(ctx, conn, log, &st); err != nil {
		return st, err
	}
	// The reverse index too: built from all rows at once it takes a
	// third of the time of 11 million random inserts.
	restoreReverse, err := suspendSchema(ctx, conn, "type = 'index' AND name = 'address_book_contact'")
	if err != nil {
		return st, err
	}
	if err := w.writeBooks(ctx, conn, hasher, userHashes, otherHashes, newSeedProgress(log, "address books", cfg.Books), &st); err != nil {
		return st, err
	}
	st.Books = int64(cfg.Books)
	// Numbers drawn twice for one book were ignored: count what is stored.
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM address_book").Scan(&st.BookRows); err != nil {
		return st, err
	}
	log.Info("seed: building the indexes", "address-book rows", st.BookRows)
	if err := restoreReverse(); err != nil {
		return st, err
	}
	if err := restoreIndexes(); err != nil {
		return st, err
	}
	log.Info("seed: checking references")
	if err := foreignKeysHold(ctx, conn); err != nil {
		return st, err
	}
	log.Info("seed: analyzing")
	if _, err := conn.ExecContext(ctx, "ANALYZE"); err != nil {
		return st, err
	}
	st.Took = time.Since(start)
	return st, nil
}

// foreignKeysHold reports the first row that refers to a missing one.
func foreignKeysHold(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return err
		}
		return fmt.Errorf("seed: a row of %s (rowid %d) refers to a missing row of %s", table, rowid.Int64, parent)
	}
	return rows.Err()
}

// suspendSchema drops the triggers or indexes that match where (a
// constant of this file) and returns the function that puts them back as
// the migrations wrote them (their SQL read from the schema, not repeated
// here).
func suspendSchema(ctx context.Context, conn *sql.Conn, where string) (restore func() error, err error) {
	rows, err := conn.QueryContext(ctx, "SELECT type, name, sql FROM sqlite_master WHERE "+where)
	if err != nil {
		return nil, err
	}
	var kinds, names, ddls []string
	for rows.Next() {
		var kind, name, ddl string
		if err := rows.Scan(&kind, &name, &ddl); err != nil {
			rows.Close()
			return nil, err
		}
		kinds, names, ddls = append(kinds, kind), append(names, name), append(ddls, ddl)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("seed: nothing in the schema matches %s", where)
	}
	for i, name := range names {
		if _, err := conn.ExecContext(ctx, "DROP "+strings.ToUpper(kinds[i])+" "+name); err != nil {
			return nil, err
		}
	}
	return func() error {
		for _, ddl := range ddls {
			if _, err := conn.ExecContext(ctx, ddl); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// seedProgress logs a stage's progress every few seconds, with an estimate
// of the time left from the rate so far.
type seedProgress struct {
	log         *slog.Logger
	stage       string
	total, done int
	start, next time.Time
}

func newSeedProgress(log *slog.Logger, stage string, total int) *seedProgress {
	now := time.Now()
	log.Info("seed: writing "+stage, "total", total)
	return &seedProgress{log: log, stage: stage, total: total, start: now, next: now.Add(3 * time.Second)}
}

func (p *seedProgress) add(n int) {
	p.done += n
	now := time.Now()
	if now.Before(p.next) || p.done == 0 || p.total == 0 {
		return
	}
	p.next = now.Add(3 * time.Second)
	left := time.Duration(float64(now.Sub(p.start)) * float64(p.total-p.done) / float64(p.done))
	p.log.Info("seed: "+p.stage, "done", p.done, "of", p.total, "percent", p.done*100/p.total, "left", left.Round(time.Second))
}

func (p *seedProgress) finish() {
	p.log.Info("seed: "+p.stage+" done", "rows", p.done, "took", time.Since(p.start).Round(100*time.Millisecond))
}

func parallelHashes(h *models.PhoneHasher, n int, phone func(int) string) [][]byte {
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

package seed

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"roster/models"
)

// seedWorld is the generated deployment while it is written: what later
// stages need to know of each user (when they joined and were last seen),
// and the activity of the last 30 days, collected while users are written
// and stored in time order afterwards (the dashboard lists codes, messages
// and audit entries newest id first, so ids must follow time).
type seedWorld struct {
	cfg         Config
	now, window int64 // unix ms: the end and the start of the history
	created     []int64
	seen        []int64 // 0: never seen
	events      []seedEvent
	nextSession int64
	avatars     *seedAvatars
	tokenLife   int64
	// The name-search index, built in memory and written in its key
	// order at the end (appending to a B-tree is several times faster
	// than inserting at random): grams by name (names repeat: each is
	// folded once) and the users of each gram, in id order.
	gramsOf   map[string][]string
	gramUsers map[string][]int32
}

// seedEventKind is what happened in one piece of sign-in history.
type seedEventKind uint8

const (
	seedSignIn      seedEventKind = iota // a code verified and a session made
	seedSignUp                           // the same, for a new user
	seedExpired                          // a code never entered
	seedWrong                            // a code guessed wrong until it was exhausted
	seedUndelivered                      // a code the provider could not deliver
	seedLogout                           // a session ended from the app
	seedBlock                            // an administrator blocked the user
	seedModerate                         // an administrator cleared the user's status
)

// seedEvent is one sign-in, failed code or administrator action.
type seedEvent struct {
	at      int64
	session int64 // the session made (sign-ins) or ended (logouts)
	until   int64 // blocks: blocked_until
	user    int32 // 0: the number is not a user's (other)
	other   int32 // OtherPhone index when user is 0
	kind    seedEventKind
	device  uint8  // seedDevices index
	variant uint8  // sign-ins: 1 = one wrong try first; channel choice
	revoked uint16 // blocks: sessions revoked
	ip      string
	devID   string
}

func (e *seedEvent) phone() string {
	if e.user == 0 {
		return OtherPhone(int(e.other))
	}
	return UserPhone(int(e.user))
}

func newSeedWorld(cfg Config) *seedWorld {
	now := (cfg.Now).UnixMilli()
	return &seedWorld{cfg: cfg, now: now, window: now - seedHistory.Milliseconds(),
		created: make([]int64, cfg.Users), seen: make([]int64, cfg.Users),
		tokenLife: (365 * 24 * time.Hour).Milliseconds(), gramsOf: map[string][]string{}, gramUsers: map[string][]int32{}}
}

// inWindow reports whether t falls in the generated history.
func (w *seedWorld) inWindow(t int64) bool { return t >= w.window && t <= w.now }

// between is a uniform time in [lo, hi].
func between(rng *rand.Rand, lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + rng.Int64N(hi-lo+1)
}

// writeUsers writes the users with their sessions and name-search grams,
// 50,000 users a transaction, and collects their sign-in history.
func (w *seedWorld) writeUsers(ctx context.Context, conn *sql.Conn, hashes [][]byte, prog *seedProgress, st *Stats) error {
	rng := rand.New(rand.NewPCG(w.cfg.RandSeed, 7))
	const batch = 50_000
	for lo := 0; lo < w.cfg.Users; lo += batch {
		err := seedTx(ctx, conn, func(tx *sql.Tx) error {
			users, err := newMultiInsert(ctx, tx, `INSERT INTO users (id, phone, country_code, name, status, photo, thumbnail,
				discoverable, blocked_until, created_at, profile_at, last_seen_at, phone_hash) VALUES `, "(?,?,1,?,?,?,?,?,?,?,?,?,?)", 12, 100)
			if err != nil {
				return err
			}
			sessions, err := newMultiInsert(ctx, tx, `INSERT INTO sessions (id, user_id, token_hash, device, device_type, app_id, ip,
				user_agent, created_at, last_used_at, expires_at, revoked_at, revoke_reason) VALUES `, "(?,?,?,?,?,?,?,?,?,?,?,?,?)", 13, 100)
			if err != nil {
				return err
			}
			for i := lo; i < min(lo+batch, w.cfg.Users); i++ {
				if err := w.user(ctx, rng, i+1, hashes[i], users, sessions, st); err != nil {
					return err
				}
			}
			prog.add(min(batch, w.cfg.Users-lo))
			for _, m := range []*multiInsert{users, sessions} {
				if err := m.flush(ctx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	st.Users = int64(w.cfg.Users)
	prog.finish()
	return nil
}

// user generates and writes user id: about 12% joined in the last 30 days
// (the overview's chart has a slope), 6% were never seen, the rest were
// last seen between joining and now, most of them recently.
func (w *seedWorld) user(ctx context.Context, rng *rand.Rand, id int, hash []byte, users, sessions *multiInsert, st *Stats) error {
	year := (365 * 24 * time.Hour).Milliseconds()
	created := between(rng, w.now-year, w.now)
	if rng.IntN(100) < 12 {
		created = between(rng, w.window, w.now)
	}
	seen := int64(0)
	switch r := rng.IntN(100); {
	case r < 6:
	case r < 20: // today's
		seen = between(rng, max(created, w.now-12*time.Hour.Milliseconds()), w.now)
	case r < 55: // this month's
		seen = between(rng, max(created, w.window), w.now)
	default:
		seen = between(rng, created, w.now)
	}
	w.created[id-1], w.seen[id-1] = created, seen
	name, status := seedName(rng), seedStatus(rng)
	profile := between(rng, created, max(created, seen))
	disc := models.DiscoverEveryone
	switch r := rng.IntN(100); {
	case id == 1, w.cfg.Uniform:
	case r < 3:
		disc = models.DiscoverContacts
	case r < 4:
		disc = models.DiscoverNobody
	}
	photo, thumb := "", ""
	if w.avatars != nil && rng.Float64() < w.cfg.PhotoShare {
		var err error
		if photo, thumb, err = w.avatars.give(rng, rng.IntN(seedAvatarCount)); err != nil {
			return err
		}
		st.Photos++
	}
	var blocked any // NULL
	var block *seedEvent
	if id > 1 && rng.IntN(1000) < 3 && !w.cfg.Uniform { // user 1 is the benchmarks' popular user
		at := between(rng, max(created, w.window), w.now)
		block = &seedEvent{at: at, user: int32(id), kind: seedBlock, until: models.BlockedForever}
		if rng.IntN(2) == 0 { // until the end of a day 1 to 90 days later
			day := time.UnixMilli(at).UTC().Truncate(24 * time.Hour)
			block.until = day.AddDate(0, 0, 2+rng.IntN(90)).UnixMilli()
		}
		blocked = block.until
		seen = min(seen, at) // blocked users' apps are refused from then on
		w.seen[id-1] = seen
		st.Blocked++
	}
	if id > 1 && status != "" && rng.IntN(1000) < 2 && !w.cfg.Uniform {
		at := between(rng, max(profile, w.window), w.now)
		if w.inWindow(at) && (block == nil || at < block.at) {
			w.events = append(w.events, seedEvent{at: at, user: int32(id), kind: seedModerate})
			status, profile = "", at
		}
	}
	var lastSeen any
	if seen > 0 {
		lastSeen = seen
	}
	if err := users.add(ctx, id, UserPhone(id), name, status, photo, thumb, disc, blocked, created, profile, lastSeen, hash); err != nil {
		return err
	}
	w.addGrams(name, id)
	if seen == 0 {
		return nil // imported from an older backend and never signed in here
	}
	return w.sessions(ctx, rng, id, created, seen, block, sessions, st)
}

// sessions writes a user's sessions: one device for most, up to three; the
// first made when the user joined, the one used last at seen. Earlier
// devices were sometimes logged out; a block revoked them all.
func (w *seedWorld) sessions(ctx context.Context, rng *rand.Rand, id int, created, seen int64, block *seedEvent, ins *multiInsert, st *Stats) error {
	n := 1
	switch r := rng.IntN(100); {
	case r < 7:
		n = 3
	case r < 28:
		n = 2
	}
	devices := seedDevices()
	for j := range n {
		w.nextSession++
		sid := w.nextSession
		at := created
		if j > 0 {
			at = between(rng, created, seen)
		}
		used := between(rng, at, seen)
		if j == n-1 {
			used = seen
		}
		// Stands for the SHA-256 of a token nobody holds. It starts with
		// the session id so that the unique index is appended to, not
		// written at random (1.3 million sessions); lookups of real
		// tokens are not affected.
		var token [32]byte
		binary.BigEndian.PutUint64(token[:8], uint64(sid))
		for k := 8; k < len(token); k += 8 {
			binary.LittleEndian.PutUint64(token[k:], rng.Uint64())
		}
		d := uint8(rng.IntN(len(devices)))
		ev := seedEvent{at: at, session: sid, user: int32(id), kind: seedSignIn, device: d, variant: uint8(rng.IntN(10)),
			ip: seedIP(rng), devID: fmt.Sprintf("%016x", rng.Uint64())}
		if j == 0 && at == created {
			ev.kind = seedSignUp
		}
		var revokedAt any
		reason := ""
		switch {
		case block != nil:
			revokedAt, reason = block.at, models.RevokeBlocked
			block.revoked++
		case j < n-1 && rng.IntN(4) == 0:
			revokedAt, reason = used, models.RevokeLogout
			if w.inWindow(used) {
				w.events = append(w.events, seedEvent{at: used, session: sid, user: int32(id), kind: seedLogout,
					device: d, ip: ev.ip})
			}
		}
		err := ins.add(ctx, sid, id, token[:], ev.devID, devices[d].dt, "com.mesibo.messenger", ev.ip, devices[d].userAgent,
			at, used, at+w.tokenLife, revokedAt, reason)
		if err != nil {
			return err
		}
		st.Sessions++
		if w.inWindow(at) {
			w.events = append(w.events, ev)
		}
	}
	if block != nil {
		w.events = append(w.events, *block)
	}
	return nil
}

// addGrams notes the name-search grams of a user's name.
func (w *seedWorld) addGrams(name string, id int) {
	gs, ok := w.gramsOf[name]
	if !ok {
		gs = models.NameGrams(models.FoldName(name))
		w.gramsOf[name] = gs
	}
	for _, g := range gs {
		w.gramUsers[g] = append(w.gramUsers[g], int32(id))
	}
}

// gramRows is the number of rows of the name-search index.
func (w *seedWorld) gramRows() int {
	n := 0
	for _, ids := range w.gramUsers {
		n += len(ids)
	}
	return n
}

// writeGrams writes the name-search index in its key order (gram, user).
func (w *seedWorld) writeGrams(ctx context.Context, conn *sql.Conn, prog *seedProgress) error {
	grams := slices.Sorted(maps.Keys(w.gramUsers)) // byte order, as SQLite compares TEXT
	for lo := 0; lo < len(grams); {
		hi, rows := lo, 0
		for hi < len(grams) && rows < 200_000 {
			rows += len(w.gramUsers[grams[hi]])
			hi++
		}
		err := seedTx(ctx, conn, func(tx *sql.Tx) error {
			ins, err := newMultiInsert(ctx, tx, "INSERT INTO user_name_grams (gram, user_id) VALUES ", "(?,?)", 2, 500)
			if err != nil {
				return err
			}
			for _, g := range grams[lo:hi] {
				for _, id := range w.gramUsers[g] {
					if err := ins.add(ctx, g, id); err != nil {
						return err
					}
				}
			}
			return ins.flush(ctx)
		})
		if err != nil {
			return err
		}
		prog.add(rows)
		lo = hi
	}
	prog.finish()
	return nil
}

// seedTx runs f in a transaction of conn.
func seedTx(ctx context.Context, conn *sql.Conn, f func(*sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

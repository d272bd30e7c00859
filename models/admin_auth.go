package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Signing in to the dashboard: the login throttle, the server-side admin
// sessions and their CSRF tokens. admin.go holds the accounts.

// AdminSession is a signed-in dashboard session.
type AdminSession struct {
	ID         int64
	IDHash     []byte
	AdminID    int64
	CSRFToken  string `gorm:"column:csrf_token"`
	IP         string
	UserAgent  string
	CreatedAt  int64 `gorm:"autoCreateTime:false"`
	LastSeenAt int64
	ExpiresAt  int64
	RevokedAt  *int64
	// RecheckFailures counts wrong passwords at the re-check since the last
	// right one.
	RecheckFailures int
	// SecondFactorDue: the password was checked, the second factor must
	// come by then; until it does the session grants nothing.
	SecondFactorDue *int64
}

type adminThrottle struct {
	Key         string `gorm:"primaryKey"`
	Failures    int
	WindowStart int64
	LockedUntil *int64
}

func (adminThrottle) TableName() string { return "admin_login_throttle" }

// LoginFormLifetime is how long a sign-in form may be posted after it was
// shown.
const LoginFormLifetime = time.Hour

// NewLoginForm returns the token of a new sign-in form: its time of issue
// and 32 random bytes. The caller keeps it where the client cannot change
// it (the signed cookie) and compares the posted copy with it.
func (s *Admins) NewLoginForm() string {
	return strconv.FormatInt(toMillis(s.clock.Now()), 10) + "." + randomToken()
}

// loginFormIssued is when a NewLoginForm token was made (0 when the token
// is not one).
func loginFormIssued(form string) int64 {
	at, _, ok := strings.Cut(form, ".")
	ms, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil {
		return 0
	}
	return ms
}

// useLoginForm marks a sign-in form as posted, in the transaction that
// counts the attempt: a form is good for one try, so that each try costs
// its client a fresh form. Its tokens are remembered (hashed) until pruned
// (--retention, longer than a form lives).
func useLoginForm(tx *gorm.DB, form string, now int64) error {
	h := sha256.Sum256([]byte(form))
	// The hash is not the first value after a parenthesis: there gorm would
	// expand a []byte as a list.
	res := tx.Exec("INSERT INTO admin_login_forms (used_at, token_hash) VALUES (?, ?) ON CONFLICT (token_hash) DO NOTHING", now, h[:])
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrLoginFormUsed
	}
	return res.Error
}

// Login checks a name and password, posted with the sign-in form form (a
// NewLoginForm token the caller has checked is the client's), under the
// throttle and starts a session. Unknown names and wrong passwords give the
// same error in the same time. It returns the raw session id for the
// cookie. A form older than LoginFormLifetime, or posted before, is refused
// (ErrLoginFormUsed) without counting or writing anything else.
//
// The attempt is reserved on every throttle key, in one write transaction,
// before bcrypt runs: concurrent wrong passwords cannot all pass a check
// that none of them has counted yet. A success gives its reservation back.
//
// knownBrowser is the admin the browser signed in as before (0: none): like
// a network the admin signed in from, it does not wait for the name's turn.
func (s *Admins) Login(ctx context.Context, form, name, password string, cl ClientInfo, knownBrowser int64) (*Admin, string, *AdminSession, error) {
	name, cl = truncate(name, 128), cl.Clean() // client text: no name is longer than 64 bytes
	now := s.clock.Now()
	nowMs := toMillis(now)
	if issued := loginFormIssued(form); issued <= 0 || nowMs-issued > LoginFormLifetime.Milliseconds() || issued > nowMs+time.Minute.Milliseconds() {
		return nil, "", nil, ErrLoginFormUsed
	}
	keys := s.throttleKeys(name, cl)
	wait, err := WriteTx(ctx, s.db, func(tx *Tx) (time.Duration, error) {
		if err := useLoginForm(tx.DB, form, nowMs); err != nil {
			return 0, err
		}
		return s.takeTurn(tx.DB, name, keys, cl, knownBrowser, nowMs,
			auditEntry(nowMs, "admin:"+name, EventAdminLoginFailed, "", nil, cl, "throttled"))
	})
	if err != nil {
		return nil, "", nil, err
	}
	if wait > 0 {
		return nil, "", nil, &ThrottledError{Wait: wait}
	}
	var a Admin
	err = s.db.Read.WithContext(ctx).Where(s.nameIs()+" AND disabled_at IS NULL", lowerASCII(name)).Take(&a).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, "", nil, err
	}
	hash := s.dummyHash
	if a.ID != 0 {
		hash = []byte(a.PasswordHash)
	}
	ok := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil && a.ID != 0
	if !ok {
		// The failure is already counted: only the audit entry is left.
		err := s.db.WriteTx(ctx, func(tx *Tx) error {
			return audit(tx.DB, auditEntry(nowMs, "admin:"+name, EventAdminLoginFailed, "", nil, cl, "wrong name or password"))
		})
		if err != nil {
			return nil, "", nil, err
		}
		return nil, "", nil, ErrBadCredentials
	}
	raw, sess, err := s.startSession(ctx, &a, keys, cl, now)
	if err != nil {
		return nil, "", nil, err
	}
	return &a, raw, sess, nil
}

// takeTurn counts one sign-in attempt (a password or a second-factor code)
// on the throttle, in the attempt's write, and returns how long it must
// wait first; an attempt told to wait is audited as refused. A network or
// browser the admin signed in from before does not wait for the name's turn.
func (s *Admins) takeTurn(tx *gorm.DB, name string, keys []throttleKey, cl ClientInfo, knownBrowser, nowMs int64, refused AuditEntry) (time.Duration, error) {
	known, err := s.signedInFrom(tx, name, cl, knownBrowser)
	if err != nil {
		return 0, err
	}
	wait, err := s.reserve(tx, keys, known, nowMs)
	if err != nil || wait == 0 {
		return wait, err
	}
	return wait, auditRepeatable(tx, refused)
}

// ThrottledError is a sign-in refused before its password was checked.
// errors.Is(err, ErrLoginThrottled) holds for it.
type ThrottledError struct {
	Wait time.Duration // until an attempt from this client is checked again
}

func (e *ThrottledError) Error() string { return ErrLoginThrottled.Error() }

func (e *ThrottledError) Is(target error) bool { return target == ErrLoginThrottled }

// Message says how long to wait, for the person signing in.
func (e *ThrottledError) Message() string {
	return "Too many failed sign-ins. Wait " + humanDuration(e.Wait) + " and try again."
}

// throttleKey is one counter of failed sign-ins with its limit; a slowing
// counter has none and spaces the attempts instead.
type throttleKey struct {
	key   string
	limit int
	slows bool
	// The wait this attempt set on a slowing key (0: none) and the one it
	// replaced: a success puts that back (release).
	waitSet    int64
	waitBefore *int64
}

// throttleKeys are the counters one attempt goes to: the name from this
// client's network (the lock an attacker meets), the network (guessing many
// names), and the name from anywhere (a distributed attack: slowed, never
// locked, so that failing from elsewhere does not lock the owner out).
func (s *Admins) throttleKeys(name string, cl ClientInfo) []throttleKey {
	n := strings.ToLower(truncate(name, 64))
	ip := NetworkKey(cl.IP)
	return []throttleKey{
		{key: "nameip:" + n + "|" + ip, limit: s.policy.FailuresPerNameIP},
		{key: "ip:" + ip, limit: s.policy.FailuresPerIP},
		{key: "name:" + n, slows: true},
	}
}

// signedInFrom reports whether the named admin signed in before from the
// client's network (a dashboard session, live or ended, was started from
// it; only the newest are looked at) or from this browser (knownBrowser is
// the admin's id).
func (s *Admins) signedInFrom(tx *gorm.DB, name string, cl ClientInfo, knownBrowser int64) (bool, error) {
	var rows []struct {
		ID int64
		IP string
	}
	err := tx.Raw("SELECT a.id, COALESCE(s.ip, '') AS ip FROM admins a LEFT JOIN admin_sessions s ON s.admin_id = a.id WHERE "+
		s.nameIs()+" ORDER BY s.id DESC LIMIT 100", lowerASCII(name)).Scan(&rows).Error
	network := NetworkKey(cl.IP)
	for _, r := range rows {
		if r.ID == knownBrowser || (r.IP != "" && NetworkKey(r.IP) == network) {
			return true, err
		}
	}
	return false, err
}

// nameDelay is how long the attempt after the tries-th one at a name
// waits: nothing for the free tries, then NameDelay doubling up to
// NameMaxDelay.
func (s *Admins) nameDelay(tries int) time.Duration {
	over := tries - s.policy.NameFreeTries
	if over <= 0 {
		return 0
	}
	d := s.policy.NameDelay
	for i := 1; i < over && d < s.policy.NameMaxDelay; i++ {
		d *= 2
	}
	return min(d, s.policy.NameMaxDelay)
}

// reserve counts one attempt on every key, unless one of them is locked or
// full, or a slowing key's wait has not passed and the client is not known
// (then nothing is counted and it reports how long to wait). The attempt that fills a
// key sets its lock: it is still checked, the next ones are not. An
// attempt on a slowing key sets the time before which the next one waits.
func (s *Admins) reserve(tx *gorm.DB, keys []throttleKey, known bool, now int64) (time.Duration, error) {
	if err := s.lockThrottle(tx, keys, now); err != nil {
		return 0, err
	}
	window := s.policy.Window.Milliseconds()
	rows := make([]adminThrottle, len(keys))
	for i, k := range keys {
		t := adminThrottle{Key: k.key, WindowStart: now}
		if err := tx.Where("key = ?", k.key).Limit(1).Find(&t).Error; err != nil {
			return 0, err
		}
		locked := t.LockedUntil != nil && *t.LockedUntil > now
		if k.slows {
			// WindowStart is the last attempt: the count is forgotten after
			// a quiet Window.
			if t.WindowStart+window < now {
				t.Failures, t.LockedUntil = 0, nil
			} else if locked && !known {
				return time.Duration(*t.LockedUntil-now) * time.Millisecond, nil
			}
			rows[i] = t
			continue
		}
		if locked {
			return time.Duration(*t.LockedUntil-now) * time.Millisecond, nil
		}
		if t.WindowStart+window >= now && t.Failures >= k.limit {
			return time.Duration(t.WindowStart+window-now+1) * time.Millisecond, nil
		}
		if t.WindowStart+window < now {
			t.Failures, t.WindowStart, t.LockedUntil = 0, now, nil
		}
		rows[i] = t
	}
	for i := range keys {
		k, t := &keys[i], &rows[i]
		t.Failures++
		switch {
		case k.slows:
			t.WindowStart = now
			k.waitSet, k.waitBefore = 0, t.LockedUntil
			if d := s.nameDelay(t.Failures); d > 0 {
				until := now + d.Milliseconds()
				t.LockedUntil, k.waitSet = &until, until
			}
		case t.Failures >= k.limit:
			until := now + s.policy.LockFor.Milliseconds()
			t.LockedUntil = &until
		}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(t).Error; err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// lockThrottle locks the attempt's counters on PostgreSQL, where write
// transactions run side by side: reserve reads them, then writes counts
// that follow from what it read, so two attempts at once (on two
// instances) must not both read the same count. Missing counters are made
// first (empty, ON CONFLICT DO NOTHING waits for one another transaction
// is making) so that there is a row to lock; the rows are locked in key
// order, as release writes them, so attempts cannot deadlock. SQLite's
// single writer runs reserve alone and needs none of this.
func (s *Admins) lockThrottle(tx *gorm.DB, keys []throttleKey, now int64) error {
	if !s.db.Postgres() {
		return nil
	}
	sorted := make([]string, len(keys))
	for i, k := range keys {
		sorted[i] = k.key
	}
	slices.Sort(sorted)
	values := make([]string, len(sorted))
	args := make([]any, 0, 2*len(sorted))
	for i, k := range sorted {
		values[i] = "(?, 0, ?)"
		args = append(args, k, now)
	}
	if err := tx.Exec("INSERT INTO admin_login_throttle (key, failures, window_start) VALUES "+strings.Join(values, ", ")+
		" ON CONFLICT (key) DO NOTHING", args...).Error; err != nil {
		return err
	}
	var locked []string
	return tx.Raw("SELECT key FROM admin_login_throttle WHERE key IN ? ORDER BY key FOR UPDATE", sorted).Scan(&locked).Error
}

// release gives back a successful attempt's reservation: the (name,
// network) counter starts over, the others lose one count, and a lock this
// attempt's count set is lifted. A name's wait goes back to what it was
// before this attempt, unless a later attempt has set another since.
//
// Each statement is atomic on its own. The network's and the name's
// counters ("ip:…", "name:…") are written before the (name, network) one
// ("nameip:…"): key order, the order lockThrottle locks them in, so a
// release and a reservation at once cannot deadlock.
func release(tx *gorm.DB, keys []throttleKey) error {
	for _, k := range keys[1:] {
		lifted := "CASE WHEN failures - 1 < ? THEN NULL ELSE locked_until END"
		args := []any{k.limit, k.key}
		if k.slows {
			lifted, args = "CASE WHEN locked_until = ? THEN ? ELSE locked_until END", []any{k.waitSet, k.waitBefore, k.key}
		}
		if err := tx.Exec(`UPDATE admin_login_throttle SET failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END,
			locked_until = `+lifted+` WHERE key = ?`, args...).Error; err != nil {
			return err
		}
	}
	return tx.Where("key = ?", keys[0].key).Delete(&adminThrottle{}).Error
}

// clearNameThrottle forgets a name's failures from everywhere (its owner
// has a new password).
func clearNameThrottle(tx *gorm.DB, name string) error {
	n := strings.ToLower(name)
	prefix := "nameip:" + n + "|"
	return tx.Where("key = ? OR substr(key, 1, ?) = ?", "name:"+n, len(prefix), prefix).Delete(&adminThrottle{}).Error
}

func hashSessionID(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}

// randomToken returns 32 random bytes, base64url-encoded (43 characters):
// the dashboard's session ids, CSRF tokens and sign-in forms. (App tokens
// are NewToken's hex, a format apps already hold.)
func randomToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// startSession creates a session with a fresh id (never one the browser
// brought along) and its CSRF token, and gives back the attempt's
// reservation on the throttle; for an admin with two-factor sign-in, a
// session waiting for the second factor (SecondFactor), the reservation
// kept.
func (s *Admins) startSession(ctx context.Context, a *Admin, keys []throttleKey, cl ClientInfo, now time.Time) (string, *AdminSession, error) {
	raw, csrf := randomToken(), randomToken()
	var err error
	nowMs := toMillis(now)
	sess, err := WriteTx(ctx, s.db, func(tx *Tx) (*AdminSession, error) {
		// The password was checked against a hash read before this
		// transaction: a reset, a change or a disable committed since
		// then (whose revocation this session would escape) refuses the
		// sign-in. On PostgreSQL the row is share-locked, so such a change
		// that comes later waits for this session and then ends it.
		var still []int64
		if err := tx.Raw(s.db.SQL("SELECT id FROM admins WHERE id = ? AND password_hash = ? AND disabled_at IS NULL",
			"SELECT id FROM admins WHERE id = ? AND password_hash = ? AND disabled_at IS NULL FOR SHARE"),
			a.ID, a.PasswordHash).Scan(&still).Error; err != nil {
			return nil, err
		}
		if len(still) == 0 { // stale: nil session
			return nil, audit(tx.DB, adminEntry(nowMs, a, EventAdminLoginFailed, "", nil, cl, "the password or the account changed during the sign-in"))
		}
		sess := &AdminSession{IDHash: hashSessionID(raw), AdminID: a.ID, CSRFToken: csrf, IP: cl.IP,
			UserAgent: truncate(cl.UserAgent, 512), CreatedAt: nowMs, LastSeenAt: nowMs,
			ExpiresAt: toMillis(now.Add(s.policy.AbsoluteTimeout))}
		if a.HasSecondFactor() {
			// The attempt stays counted until SecondFactor gives it back: a
			// password alone does not clear the throttle for guessed codes.
			due := toMillis(now.Add(SecondFactorWindow))
			sess.SecondFactorDue = &due
			return sess, tx.Create(sess).Error
		}
		if err := tx.Create(sess).Error; err != nil {
			return nil, err
		}
		if err := release(tx.DB, keys); err != nil {
			return nil, err
		}
		return sess, audit(tx.DB, adminEntry(nowMs, a, EventAdminLogin, "", nil, cl, fmt.Sprintf("session %d", sess.ID)))
	})
	if err == nil && sess == nil {
		err = ErrBadCredentials
	}
	return raw, sess, err
}

// ErrAdminSessionEnded is a missing, unknown, revoked, idle or expired session.
var ErrAdminSessionEnded = errors.New("admin session ended")

// Session returns the live session of a raw id and its admin, and records
// its use. Idle and absolute timeouts apply.
func (s *Admins) Session(ctx context.Context, raw string) (*AdminSession, *Admin, error) {
	if raw == "" || len(raw) > 128 {
		return nil, nil, ErrAdminSessionEnded
	}
	now := toMillis(s.clock.Now())
	var sess AdminSession
	err := s.db.Read.WithContext(ctx).Where("id_hash = ?", hashSessionID(raw)).Take(&sess).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, ErrAdminSessionEnded
	}
	if err != nil {
		return nil, nil, err
	}
	if sess.RevokedAt != nil || sess.ExpiresAt <= now || sess.LastSeenAt+s.policy.IdleTimeout.Milliseconds() <= now || sess.SecondFactorDue != nil {
		return nil, nil, ErrAdminSessionEnded
	}
	a, err := s.ByID(ctx, sess.AdminID)
	if errors.Is(err, ErrNotFound) || (err == nil && a.DisabledAt != nil) {
		return nil, nil, ErrAdminSessionEnded
	}
	if err != nil {
		return nil, nil, err
	}
	// Write "last seen" at most every 30 seconds: enough for a 30-minute
	// idle timeout. Reading a page never depends on that write: while the
	// database refuses writes (a full disk) the dashboard still shows what
	// it holds.
	if now-sess.LastSeenAt >= 30_000 {
		err := s.db.WriteTx(ctx, func(tx *Tx) error {
			return tx.Model(&AdminSession{}).Where("id = ?", sess.ID).Update("last_seen_at", now).Error
		})
		if err == nil {
			sess.LastSeenAt = now
		}
	}
	return &sess, a, nil
}

// Logout revokes a session.
func (s *Admins) Logout(ctx context.Context, sess *AdminSession, a *Admin, cl ClientInfo) error {
	now := toMillis(s.clock.Now())
	return s.db.WriteTx(ctx, func(tx *Tx) error {
		if err := tx.Model(&AdminSession{}).Where("id = ? AND revoked_at IS NULL", sess.ID).Update("revoked_at", now).Error; err != nil {
			return err
		}
		return audit(tx.DB, adminEntry(now, a, EventAdminLogout, "", nil, cl, fmt.Sprintf("session %d", sess.ID)))
	})
}

// RevokeSessionsByName ends every session of the named admin (the CLI's
// revoke-sessions) and returns how many were live.
func (s *Admins) RevokeSessionsByName(ctx context.Context, name, actor string) (int64, error) {
	now := toMillis(s.clock.Now())
	return WriteTx(ctx, s.db, func(tx *Tx) (int64, error) {
		var a Admin
		if err := tx.Where(s.nameIs(), lowerASCII(name)).Take(&a).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return 0, ErrNotFound
			}
			return 0, err
		}
		res := tx.Model(&AdminSession{}).Where("admin_id = ? AND revoked_at IS NULL", a.ID).Update("revoked_at", now)
		if res.Error != nil {
			return 0, res.Error
		}
		n := res.RowsAffected
		return n, audit(tx.DB, auditEntry(now, actor, EventAdminSessionsRevoked, "", nil, ClientInfo{}, fmt.Sprintf("admin %q: %d sessions", a.Name, n)))
	})
}

// CSRFValid compares a presented CSRF token with the session's in constant time.
func (sess *AdminSession) CSRFValid(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRFToken)) == 1
}

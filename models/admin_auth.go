package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// Signing in to the dashboard (its throttle: admin_auth_throttle.go), the server-side admin
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

package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Dashboard sign-in: the password check, the login throttle, and admin
// sessions (the cookie holds a random id; the database holds its hash, so a
// session can be revoked).

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
}

type adminThrottle struct {
	Key         string `gorm:"primaryKey"`
	Failures    int
	WindowStart int64
	LockedUntil *int64
}

func (adminThrottle) TableName() string { return "admin_login_throttle" }

// CheckPassword compares a password with the admin's, in constant time (the
// re-check before destructive actions). A failure is audited.
func (s *Admins) CheckPassword(ctx context.Context, a *Admin, password string, cl ClientInfo) error {
	if bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(password)) == nil {
		return nil
	}
	now := toMillis(s.clock.Now())
	_ = s.db.WriteTx(ctx, func(tx *gorm.DB) error {
		return audit(tx, adminEntry(now, a, EventAdminPasswordFail, "", nil, cl, "password re-check failed"))
	})
	return ErrBadCredentials
}

// Login checks a name and password under the throttle and starts a session.
// Unknown names and wrong passwords give the same error in the same time.
// It returns the raw session id for the cookie.
func (s *Admins) Login(ctx context.Context, name, password string, cl ClientInfo) (*Admin, string, *AdminSession, error) {
	now := s.clock.Now()
	nowMs := toMillis(now)
	keys := []string{"name:" + strings.ToLower(truncate(name, 64)), "ip:" + cl.IP}
	if locked, err := s.throttled(ctx, keys, nowMs); err != nil || locked {
		if err == nil {
			err = ErrLoginThrottled
			_ = s.db.WriteTx(ctx, func(tx *gorm.DB) error {
				return audit(tx, AuditEntry{At: nowMs, Actor: "admin:" + truncate(name, 64), Type: EventAdminLoginFailed,
					IP: cl.IP, UserAgent: truncate(cl.UserAgent, 512), Detail: "throttled"})
			})
		}
		return nil, "", nil, err
	}
	var a Admin
	err := s.db.Read.WithContext(ctx).Where("name = ? AND disabled_at IS NULL", name).Take(&a).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, "", nil, err
	}
	hash := s.dummyHash
	if a.ID != 0 {
		hash = []byte(a.PasswordHash)
	}
	ok := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil && a.ID != 0
	if !ok {
		err := s.db.WriteTx(ctx, func(tx *gorm.DB) error {
			if err := s.recordFailure(tx, keys, nowMs); err != nil {
				return err
			}
			return audit(tx, AuditEntry{At: nowMs, Actor: "admin:" + truncate(name, 64), Type: EventAdminLoginFailed,
				IP: cl.IP, UserAgent: truncate(cl.UserAgent, 512), Detail: "wrong name or password"})
		})
		if err != nil {
			return nil, "", nil, err
		}
		return nil, "", nil, ErrBadCredentials
	}
	raw, sess, err := s.startSession(ctx, &a, keys[0], cl, now)
	if err != nil {
		return nil, "", nil, err
	}
	return &a, raw, sess, nil
}

func (s *Admins) throttled(ctx context.Context, keys []string, now int64) (bool, error) {
	var rows []adminThrottle
	if err := s.db.Read.WithContext(ctx).Where("key IN ?", keys).Find(&rows).Error; err != nil {
		return false, err
	}
	for _, r := range rows {
		if r.LockedUntil != nil && *r.LockedUntil > now {
			return true, nil
		}
	}
	return false, nil
}

func (s *Admins) recordFailure(tx *gorm.DB, keys []string, now int64) error {
	for _, k := range keys {
		limit := s.policy.FailuresPerName
		if strings.HasPrefix(k, "ip:") {
			limit = s.policy.FailuresPerIP
		}
		t := adminThrottle{Key: k, WindowStart: now}
		if err := tx.Where("key = ?", k).Limit(1).Find(&t).Error; err != nil {
			return err
		}
		if t.WindowStart+s.policy.Window.Milliseconds() < now {
			t.Failures, t.WindowStart = 0, now
		}
		t.Failures++
		if t.Failures >= limit {
			until := now + s.policy.LockFor.Milliseconds()
			t.LockedUntil, t.Failures, t.WindowStart = &until, 0, now
		}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&t).Error; err != nil {
			return err
		}
	}
	return nil
}

func hashSessionID(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}

func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// startSession creates a session with a fresh id (never one the browser
// brought along) and its CSRF token, and clears the name's throttle.
func (s *Admins) startSession(ctx context.Context, a *Admin, nameKey string, cl ClientInfo, now time.Time) (string, *AdminSession, error) {
	raw, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	nowMs := toMillis(now)
	sess := &AdminSession{IDHash: hashSessionID(raw), AdminID: a.ID, CSRFToken: csrf, IP: cl.IP,
		UserAgent: truncate(cl.UserAgent, 512), CreatedAt: nowMs, LastSeenAt: nowMs,
		ExpiresAt: toMillis(now.Add(s.policy.AbsoluteTimeout))}
	err = s.db.WriteTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(sess).Error; err != nil {
			return err
		}
		if err := tx.Where("key = ?", nameKey).Delete(&adminThrottle{}).Error; err != nil {
			return err
		}
		return audit(tx, adminEntry(nowMs, a, EventAdminLogin, "", nil, cl, fmt.Sprintf("session %d", sess.ID)))
	})
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
	if sess.RevokedAt != nil || sess.ExpiresAt <= now || sess.LastSeenAt+s.policy.IdleTimeout.Milliseconds() <= now {
		return nil, nil, ErrAdminSessionEnded
	}
	a, err := s.ByID(ctx, sess.AdminID)
	if errors.Is(err, ErrNotFound) || (err == nil && a.DisabledAt != nil) {
		return nil, nil, ErrAdminSessionEnded
	}
	if err != nil {
		return nil, nil, err
	}
	// Write "last seen" at most every 30 seconds: enough for a 30-minute idle timeout.
	if now-sess.LastSeenAt >= 30_000 {
		if err := s.db.Write.WithContext(ctx).Model(&AdminSession{}).Where("id = ?", sess.ID).
			Update("last_seen_at", now).Error; err != nil {
			return nil, nil, err
		}
		sess.LastSeenAt = now
	}
	return &sess, a, nil
}

// Logout revokes a session.
func (s *Admins) Logout(ctx context.Context, sess *AdminSession, a *Admin, cl ClientInfo) error {
	now := toMillis(s.clock.Now())
	return s.db.WriteTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&AdminSession{}).Where("id = ? AND revoked_at IS NULL", sess.ID).Update("revoked_at", now).Error; err != nil {
			return err
		}
		return audit(tx, adminEntry(now, a, EventAdminLogout, "", nil, cl, fmt.Sprintf("session %d", sess.ID)))
	})
}

// RevokeSessions ends every session of an admin (a stolen cookie, a
// departed colleague).
func (s *Admins) RevokeSessions(ctx context.Context, adminID int64) error {
	now := toMillis(s.clock.Now())
	return s.db.Write.WithContext(ctx).Model(&AdminSession{}).Where("admin_id = ? AND revoked_at IS NULL", adminID).
		Update("revoked_at", now).Error
}

// RevokeSessionsByName ends every session of the named admin (the CLI's
// revoke-sessions) and returns how many were live.
func (s *Admins) RevokeSessionsByName(ctx context.Context, name, actor string) (int64, error) {
	now := toMillis(s.clock.Now())
	var n int64
	err := s.db.WriteTx(ctx, func(tx *gorm.DB) error {
		var a Admin
		if err := tx.Where("name = ?", name).Take(&a).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return err
		}
		res := tx.Model(&AdminSession{}).Where("admin_id = ? AND revoked_at IS NULL", a.ID).Update("revoked_at", now)
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		return audit(tx, AuditEntry{At: now, Actor: actor, Type: EventAdminSessionsRevoked, Detail: fmt.Sprintf("admin %q: %d sessions", a.Name, n)})
	})
	return n, err
}

// CSRFValid compares a presented CSRF token with the session's in constant time.
func (sess *AdminSession) CSRFValid(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRFToken)) == 1
}

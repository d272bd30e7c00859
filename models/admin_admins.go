package models

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// The dashboard's admin accounts page (/admin/admins, owners only) and an
// admin's own password: list, change role, disable and enable, reset a
// password, turn off a lost two-factor sign-in, see and end an admin's
// sessions. Every change is audited with
// the acting admin. admin.go creates accounts (CLI and dashboard alike).

// Audit event types of the admin accounts page.
const (
	EventAdminRoleChanged     = "admin_role_changed"
	EventAdminDisabled        = "admin_disabled"
	EventAdminEnabled         = "admin_enabled"
	EventAdminSessionEnded    = "admin_session_ended"
	EventAdminPasswordChanged = "admin_password_changed"
)

// Errors of the admin accounts page.
var (
	ErrLastOwner = errors.New("this is the last enabled owner: make another owner first")
	ErrSelf      = errors.New("you cannot do this to your own account")
	// ErrNoSecondFactor: the admin signs in with a password alone.
	ErrNoSecondFactor = errors.New("this admin has no two-factor sign-in")
)

// AdminRow is one admin in the accounts list.
type AdminRow struct {
	Admin
	LiveSessions int
	LastSeenAt   *int64
}

// ListAdmins returns every admin with their live sessions, by name.
func (s *Admins) ListAdmins(ctx context.Context) ([]AdminRow, error) {
	now := toMillis(s.clock.Now())
	idle := s.policy.IdleTimeout.Milliseconds()
	var rows []AdminRow
	err := s.db.Read.WithContext(ctx).Raw(`SELECT a.*,
		(SELECT count(*) FROM admin_sessions s WHERE s.admin_id = a.id AND s.revoked_at IS NULL AND s.second_factor_due IS NULL AND s.expires_at > ? AND s.last_seen_at + ? > ?) AS live_sessions,
		(SELECT max(last_seen_at) FROM admin_sessions s WHERE s.admin_id = a.id) AS last_seen_at
		FROM admins a ORDER BY `+s.db.SQL("a.name COLLATE NOCASE", "lower(a.name)"), now, idle, now).Scan(&rows).Error
	return rows, err
}

// AdminSessions returns an admin's sessions, live ones first, newest first.
func (s *Admins) AdminSessions(ctx context.Context, adminID int64) ([]AdminSession, error) {
	var out []AdminSession
	err := s.db.Read.WithContext(ctx).Where("admin_id = ?", adminID).
		Order("revoked_at IS NOT NULL, last_seen_at DESC").Limit(50).Find(&out).Error
	return out, err
}

// SessionLive reports whether a session is in use (not revoked, not timed out).
func (s *Admins) SessionLive(sess *AdminSession) bool {
	now := toMillis(s.clock.Now())
	return sess.RevokedAt == nil && sess.SecondFactorDue == nil && sess.ExpiresAt > now && sess.LastSeenAt+s.policy.IdleTimeout.Milliseconds() > now
}

// adminTx runs f on the target admin inside a write transaction and
// audits it. SQLite's single writer runs it alone. On PostgreSQL, where
// write transactions run side by side, the target's row and every enabled
// owner's are locked first, in id order (owners are few): two demotions or
// disables at once cannot both count the other as the remaining owner, the
// second waits and then counts again; and a sign-in with the target's old
// password or while it is disabled (startSession share-locks the row)
// either commits before the change ends its sessions or waits and is
// refused.
func (s *Admins) adminTx(ctx context.Context, id int64, actor *Admin, cl ClientInfo, typ string, f func(tx *gorm.DB, a *Admin, now int64) (string, error)) error {
	now := toMillis(s.clock.Now())
	return s.db.WriteTx(ctx, func(tx *Tx) error {
		if s.db.Postgres() {
			var locked []int64
			if err := tx.Raw(`SELECT id FROM admins WHERE id = ? OR (role = ? AND disabled_at IS NULL) ORDER BY id FOR UPDATE`,
				id, RoleOwner).Scan(&locked).Error; err != nil {
				return err
			}
		}
		var a Admin
		if err := tx.Take(&a, id).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return err
		}
		detail, err := f(tx.DB, &a, now)
		if err != nil {
			return err
		}
		return audit(tx.DB, adminEntry(now, actor, typ, "", nil, cl, detail))
	})
}

// otherOwners counts the enabled owners besides id.
func otherOwners(tx *gorm.DB, id int64) (int64, error) {
	var n int64
	err := tx.Model(&Admin{}).Where("role = ? AND disabled_at IS NULL AND id <> ?", RoleOwner, id).Count(&n).Error
	return n, err
}

// SetRole changes an admin's role. The last enabled owner stays an owner,
// and an owner does not demote themself (another owner can).
func (s *Admins) SetRole(ctx context.Context, id int64, role string, actor *Admin, cl ClientInfo) error {
	if !validRole(role) {
		return ErrBadRole
	}
	if id == actor.ID {
		return ErrSelf
	}
	return s.adminTx(ctx, id, actor, cl, EventAdminRoleChanged, func(tx *gorm.DB, a *Admin, now int64) (string, error) {
		if a.Role == RoleOwner && role != RoleOwner && a.DisabledAt == nil {
			if n, err := otherOwners(tx, a.ID); err != nil || n == 0 {
				return "", errors.Join(err, ErrLastOwner)
			}
		}
		if err := tx.Model(a).Update("role", role).Error; err != nil {
			return "", err
		}
		return fmt.Sprintf("admin %q: role %s → %s", a.Name, a.Role, role), nil
	})
}

// SetDisabled disables an admin (their sessions end at once) or enables
// them again. Nobody disables themself or the last enabled owner.
func (s *Admins) SetDisabled(ctx context.Context, id int64, disabled bool, actor *Admin, cl ClientInfo) error {
	if id == actor.ID {
		return ErrSelf
	}
	typ := EventAdminEnabled
	if disabled {
		typ = EventAdminDisabled
	}
	return s.adminTx(ctx, id, actor, cl, typ, func(tx *gorm.DB, a *Admin, now int64) (string, error) {
		if !disabled {
			return fmt.Sprintf("admin %q enabled", a.Name), tx.Model(a).Update("disabled_at", nil).Error
		}
		if a.Role == RoleOwner {
			if n, err := otherOwners(tx, a.ID); err != nil || n == 0 {
				return "", errors.Join(err, ErrLastOwner)
			}
		}
		if err := tx.Model(a).Update("disabled_at", now).Error; err != nil {
			return "", err
		}
		res := tx.Model(&AdminSession{}).Where("admin_id = ? AND revoked_at IS NULL", a.ID).Update("revoked_at", now)
		return fmt.Sprintf("admin %q disabled; %s ended", a.Name, plural(int(res.RowsAffected), "session", "sessions")), res.Error
	})
}

// RemoveSecondFactor is an owner turning another admin's two-factor
// sign-in off, for an admin who lost both their authenticator and their
// recovery codes: the key and the recovery codes go, and so does every
// session of the admin (a sign-in waiting for a code too). They sign in
// with their password and may set it up again.
func (s *Admins) RemoveSecondFactor(ctx context.Context, id int64, actor *Admin, cl ClientInfo) error {
	if id == actor.ID {
		return ErrSelf
	}
	return s.adminTx(ctx, id, actor, cl, EventAdmin2FADisabled, func(tx *gorm.DB, a *Admin, now int64) (string, error) {
		if !a.HasSecondFactor() {
			return "", ErrNoSecondFactor
		}
		if err := clearSecondFactor(tx, a.ID); err != nil {
			return "", err
		}
		res := tx.Model(&AdminSession{}).Where("admin_id = ? AND revoked_at IS NULL", a.ID).Update("revoked_at", now)
		return fmt.Sprintf("admin %q: two-factor sign-in turned off by an owner; %s ended", a.Name, plural(int(res.RowsAffected), "session", "sessions")), res.Error
	})
}

// EndAdminSession revokes one session of an admin.
func (s *Admins) EndAdminSession(ctx context.Context, adminID, sessionID int64, actor *Admin, cl ClientInfo) (bool, error) {
	var ended bool
	err := s.adminTx(ctx, adminID, actor, cl, EventAdminSessionEnded, func(tx *gorm.DB, a *Admin, now int64) (string, error) {
		res := tx.Model(&AdminSession{}).Where("id = ? AND admin_id = ? AND revoked_at IS NULL", sessionID, a.ID).Update("revoked_at", now)
		ended = res.RowsAffected == 1
		if res.Error == nil && !ended {
			return "", ErrNotFound
		}
		return fmt.Sprintf("admin %q: session %d ended", a.Name, sessionID), res.Error
	})
	return ended, err
}

// ChangeOwnPassword sets an admin's new password after the old one, checked
// like the re-check before destructive actions (its wrong tries count, the
// last ends the session), but only the password will do: an authenticator
// code, which the re-check takes in its place, would let whoever holds the
// phone alone take the account over. The admin's other sessions end; this
// one goes on.
func (s *Admins) ChangeOwnPassword(ctx context.Context, a *Admin, sess *AdminSession, old, password string, cl ClientInfo) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	err := s.recheck(ctx, a, sess, cl, "password", func() (bool, error) { return s.passwordRight(a, old), nil })
	if err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.policy.BcryptCost)
	if err != nil {
		return err
	}
	return s.adminTx(ctx, a.ID, a, cl, EventAdminPasswordChanged, func(tx *gorm.DB, t *Admin, now int64) (string, error) {
		if err := tx.Model(t).Update("password_hash", string(hash)).Error; err != nil {
			return "", err
		}
		res := tx.Model(&AdminSession{}).Where("admin_id = ? AND id <> ? AND revoked_at IS NULL", t.ID, sess.ID).Update("revoked_at", now)
		return fmt.Sprintf("own password changed; %s ended", plural(int(res.RowsAffected), "other session", "other sessions")), res.Error
	})
}

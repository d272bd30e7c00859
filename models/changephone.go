package models

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
)

// EventPhoneChanged is the audit entry of a change of number (`changephone`).
const EventPhoneChanged = "phone_changed"

// RevokePhoneChanged is the revoke reason of the sessions a change of
// number ended when its user asked for it.
const RevokePhoneChanged = "the account's number changed"

// Refusals of a change of number after a right code.
const (
	ReasonNumberTaken   Reason = "number_taken"
	ReasonSameNumber    Reason = "same_number"
	ReasonNotWithIssuer Reason = "not_with_issuer"
)

// PhoneChange is a committed change of number.
type PhoneChange struct {
	User  User   // the account, with its new number
	Old   string // the number it had (E.164)
	Ended int    // other sessions ended (endOthers)
}

// errNoPhoneChange refuses a change of number with a token issuer: the
// issuer (mesibo) knows the user by number, and Roster cannot move its
// user to another one.
var errNoPhoneChange = &RefusedError{Reason: ReasonNotWithIssuer, Message: "This server cannot change an account's number."}

// PhoneChangeServed refuses a change of number before anything else is
// read of the request when this server cannot make one (a token issuer):
// the op is not served at all then, whatever its parameters.
func (s *SignIn) PhoneChangeServed() error {
	if s.cfg.Issuer != nil {
		return errNoPhoneChange
	}
	return nil
}

// RequestPhoneChangeCode is the first step of a change of number: a code
// for the new number, asked as for a sign-in (RequestCode).
func (s *SignIn) RequestPhoneChangeCode(ctx context.Context, to Phone, cl ClientInfo) error {
	if err := s.PhoneChangeServed(); err != nil {
		return err
	}
	return s.RequestCode(ctx, to, cl)
}

// ChangePhone moves the caller's account to the number p, whose code (sent
// by RequestPhoneChangeCode, the first step) is code: checked with
// every rule of a sign-in's code (tries, lock, test numbers), counted the
// same way when wrong. The account keeps its id, profile and address book;
// its sessions stay, or with endOthers all but the asking one end. With
// announce, the books holding the old number get a notice naming both. Its
// number's keyed hash changes with it, so address books holding the new
// number find the account from then on and those holding only the old one
// no longer do; its profile's change time moves, so their incremental syncs
// see it. A number another account holds is refused (ReasonNumberTaken),
// unless that account was not seen for RecycleAfter (recycleNumber).
//
// Locks: the new number's key (the code check), then the caller's row. A
// sign-in to the old number that comes meanwhile waits for the row and
// then no longer finds the account under that number: it signs up a new
// account, as for any free number.
func (s *SignIn) ChangePhone(ctx context.Context, p *Principal, to Phone, code string, endOthers, announce bool, cl ClientInfo) (*PhoneChange, error) {
	code = strings.TrimSpace(code)
	cl = cl.Clean()
	if r := s.checkApp(cl.AppID); r != nil {
		return nil, r
	}
	if err := s.PhoneChangeServed(); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	nowMs := toMillis(now)
	type outcome struct {
		check  codeCheck
		change *PhoneChange
	}
	out, err := WriteTx(ctx, s.db, func(tx *Tx) (outcome, error) {
		refused, wrong, err := s.checkAnyCode(tx.DB, to, code, cl, now)
		if err != nil || refused != nil {
			return outcome{check: codeCheck{refused: refused, wrong: wrong}}, err
		}
		// The recycled-number rule applies as at a sign-in: a number whose
		// account was not seen for long is detached from it and free.
		recycled, err := s.recycleNumber(tx.DB, to, p.User.ID, cl, now)
		if err != nil {
			return outcome{}, err
		}
		s.announceRecycled(tx, codeCheck{recycled: recycled})
		owner, err := lockedUser(tx.DB, lockUserRow, "phone = ?", to.E164)
		switch {
		case err == nil && owner.ID == p.User.ID:
			return outcome{check: codeCheck{refused: &RefusedError{Reason: ReasonSameNumber,
				Message: "This is already the account's number."}}}, nil
		case err == nil:
			return outcome{check: codeCheck{refused: &RefusedError{Reason: ReasonNumberTaken,
				Message: "This number belongs to another account."}}}, nil
		case !errors.Is(err, ErrNotFound):
			return outcome{}, err
		}
		u, err := lockedUserByID(tx.DB, p.User.ID, lockUserRow)
		if err != nil {
			return outcome{}, err
		}
		changedAt, err := changeTime(tx.DB, s.clock, nowMs) // incremental syncs must see it
		if err != nil {
			return outcome{}, err
		}
		changedAt = max(changedAt, u.ProfileAt+1) // strictly later than the user's last change
		updates := map[string]any{"phone": to.E164, "country_code": to.CountryCode, "profile_at": changedAt}
		if s.cfg.Hasher != nil {
			updates["phone_hash"] = s.cfg.Hasher.Hash(to.E164)
		}
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Updates(updates).Error; err != nil {
			return outcome{}, err
		}
		old, oldHash := u.Phone, u.PhoneHash
		u.Phone, u.CountryCode, u.ProfileAt = to.E164, to.CountryCode, changedAt
		if hash, ok := updates["phone_hash"].([]byte); ok {
			u.PhoneHash = hash
		}
		// The groups the new number was added to while it was no user's
		// take the account in, as at a sign-up (before the notices below:
		// group rows are locked before lockEventOrder).
		if err := joinInvitedGroups(tx, s.clock, u, cmp.Or(s.cfg.GroupsPerUser, DefaultGroupsConfig().MaxPerUser), false, nowMs); err != nil {
			return outcome{}, err
		}
		if s.cfg.Events != nil {
			// A profile notice under the new number: address books holding
			// it are told (discoverability as for any profile change).
			tx.OnCommit(s.cfg.Events.Wake)
			if err := s.cfg.Events.record(tx.DB, u, EventProfile, now); err != nil {
				return outcome{}, err
			}
		}
		if s.cfg.Events != nil && announce && old != u.Phone {
			// A profile notice under the new number, with the old one, to
			// the books holding the old number: the apps may offer to
			// update the contact.
			if err := s.cfg.Events.recordNumberChange(tx.DB, u, old, oldHash, now); err != nil {
				return outcome{}, err
			}
		}
		var ended []int64
		if endOthers {
			// The caller's row is locked, as revokeOtherSessions requires.
			if ended, err = revokeOtherSessions(tx.DB, u.ID, p.SessionID, nowMs, RevokePhoneChanged); err != nil {
				return outcome{}, err
			}
			if s.cfg.Sessions != nil {
				tx.OnCommit(func() { s.cfg.Sessions.NotifyRevoked(ended...) })
			}
		}
		detail := "from " + old + " to " + to.E164 + "; " + plural(len(ended), "other session", "other sessions") + " ended"
		return outcome{change: &PhoneChange{User: *u, Old: old, Ended: len(ended)}},
			audit(tx.DB, apiEntry(nowMs, EventCodeVerified, to.E164, &u.ID, cl, "change of number"),
				apiEntry(nowMs, EventPhoneChanged, to.E164, &u.ID, cl, detail))
	})
	if err == nil {
		err = s.auditWrongCode(ctx, out.check.wrong)
	}
	if err != nil {
		return nil, err
	}
	if out.check.refused != nil {
		return nil, out.check.refused
	}
	return out.change, nil
}

// recordNumberChange writes a change of number's notice: the profile under
// the new number, with the old one, fanned out to the books holding the
// old number (oldHash; none: nobody to tell). The fan-out's rules apply as
// to any notice (discoverability; the subject's current settings).
func (e *Events) recordNumberChange(tx *gorm.DB, u *User, oldPhone string, oldHash []byte, now time.Time) error {
	if oldHash == nil {
		return nil
	}
	n := e.notice(u, EventProfile)
	n.OldPhone = strings.TrimPrefix(oldPhone, "+")
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	if err := lockKey(tx, lockEventOrder, ""); err != nil {
		return err
	}
	return tx.Create(&Event{Type: EventProfile, UserID: u.ID, Body: string(body), CreatedAt: toMillis(now), AudienceHash: oldHash}).Error
}

package models

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Checking a code and signing in: the check, the failure count and the
// session are written in one transaction.

// SignInResult is a completed sign-in.
type SignInResult struct {
	User    User
	Session Session
	Token   string
	NewUser bool
	// DeletionCancelled: the account's pending deletion was cancelled by
	// this sign-in (cancelDeletionAtSignIn).
	DeletionCancelled bool
}

// codeCheck is what the code check of a sign-in answers: refused when it
// is not to go on (wrong, expired, locked, blocked), the audit entries of
// a wrong code, and the user the phone belongs to (nil: a new one).
type codeCheck struct {
	refused *RefusedError
	wrong   []AuditEntry
	user    *User
	// recycled: sessions ended because the number's account was detached
	// from it (recycleNumber), to announce after commit.
	recycled []int64
}

// checkCodeAndUser checks the code, then the user it signs in (after a
// long absence of the number's account, none: see recycleNumber).
func (s *SignIn) checkCodeAndUser(tx *gorm.DB, p Phone, code string, cl ClientInfo, now time.Time) (codeCheck, error) {
	refused, wrong, err := s.checkAnyCode(tx, p, code, cl, now)
	if err != nil || refused != nil {
		return codeCheck{refused: refused, wrong: wrong}, err
	}
	recycled, err := s.recycleNumber(tx, p, 0, cl, now)
	if err != nil {
		return codeCheck{}, err
	}
	u, refused, err := checkBlocked(tx, p.E164, now)
	return codeCheck{refused: refused, user: u, recycled: recycled}, err
}

// announceRecycled closes, after commit, the streams of the sessions a
// recycled number's old account lost.
func (s *SignIn) announceRecycled(tx *Tx, check codeCheck) {
	if len(check.recycled) > 0 && s.cfg.Sessions != nil {
		tx.OnCommit(func() { s.cfg.Sessions.NotifyRevoked(check.recycled...) })
	}
}

// VerifyCode checks a code and, when it is right, signs the phone in: it
// creates the user on first sign-in (with name, if given) and issues a token
// for the device.
func (s *SignIn) VerifyCode(ctx context.Context, p Phone, code, name string, cl ClientInfo) (*SignInResult, error) {
	code = strings.TrimSpace(code)
	cl = cl.Clean()
	if r := s.checkApp(cl.AppID); r != nil {
		return nil, r
	}
	if s.cfg.Issuer != nil {
		return s.verifyWithIssuer(ctx, p, code, name, cl)
	}
	now := s.clock.Now()
	type outcome struct {
		check  codeCheck
		result *SignInResult
	}
	out, err := WriteTx(ctx, s.db, func(tx *Tx) (outcome, error) {
		check, err := s.checkCodeAndUser(tx.DB, p, code, cl, now)
		if err != nil || check.refused != nil {
			return outcome{check: check}, err
		}
		s.announceRecycled(tx, check)
		result, err := s.completeSignIn(tx, p, check.user, name, cl, now)
		return outcome{check: check, result: result}, err
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
	return out.result, nil
}

// checkAnyCode checks a code against a test number's fixed code or the
// phone's newest issued code; a right code is answered nil, and the caller
// then checks the user (checkBlocked). It first takes the phone's lock (and in
// demo-code mode the server-wide guard's): a code's tries and the guard
// are read, then counted, and two checks at once on two instances must
// not both see the same count.
//
// A wrong code is answered with its refusal and the audit entries that
// describe it (wrong): its count is then the last write of tx, which the
// caller commits as it is, and the entries are written afterwards by
// auditWrongCode. Nothing written after a count can undo it: a failed
// audit insert would roll back the count with it, and a guess that fails
// the request is a free guess.
func (s *SignIn) checkAnyCode(tx *gorm.DB, p Phone, code string, cl ClientInfo, now time.Time) (*RefusedError, []AuditEntry, error) {
	if err := s.lockPhone(tx, p.E164); err != nil {
		return nil, nil, err
	}
	if fixed, ok := s.cfg.TestNumbers[p.E164]; ok {
		return s.checkTestCode(tx, p, code, fixed, cl, now)
	}
	return s.checkCode(tx, p, code, cl, now)
}

// auditWrongCode writes the audit entries of a wrong code, in a
// transaction after the one that counted it. It runs even when the
// request's deadline has passed: the count is committed, and its entries
// should follow.
func (s *SignIn) auditWrongCode(ctx context.Context, entries []AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return s.db.WriteTx(context.WithoutCancel(ctx), func(tx *Tx) error {
		return audit(tx.DB, entries...)
	})
}

func (s *SignIn) checkTestCode(tx *gorm.DB, p Phone, code, fixed string, cl ClientInfo, now time.Time) (*RefusedError, []AuditEntry, error) {
	if r, err := s.checkLock(tx, p, cl, now); r != nil || err != nil {
		return r, nil, err
	}
	if subtle.ConstantTimeCompare([]byte(code), []byte(fixed)) == 1 {
		return nil, nil, s.clearFailures(tx, p, cl, now)
	}
	// A test number's code is fixed and never expires: without the guard's
	// count it could be guessed at leisure. Only asking for it is free.
	wrong := []AuditEntry{apiEntry(toMillis(now), EventCodeFailed, p.E164, nil, cl, "wrong code for a test number")}
	locked, lockEntry, err := s.countFailure(tx, p, cl, now)
	if err != nil {
		return nil, nil, err
	}
	if locked != nil {
		return locked, append(wrong, *lockEntry), nil
	}
	return &RefusedError{Reason: ReasonBadCode, Message: "The code is wrong. Check it and try again."}, wrong, nil
}

// checkCode verifies a code against the phone's newest one and records the
// outcome (tries, failures, lock) whatever it is. A blocked user learns it
// only after a right code: before, the number answers as any other.
func (s *SignIn) checkCode(tx *gorm.DB, p Phone, code string, cl ClientInfo, now time.Time) (*RefusedError, []AuditEntry, error) {
	if r, err := s.checkLock(tx, p, cl, now); r != nil || err != nil {
		return r, nil, err
	}
	nowMs := toMillis(now)
	var otp OTPCode
	if err := tx.Where("phone = ?", p.E164).Order("id DESC").Limit(1).Find(&otp).Error; err != nil {
		return nil, nil, err
	}
	switch {
	case otp.ID == 0 || otp.State == CodeVerified || otp.State == CodeSuperseded:
		return &RefusedError{Reason: ReasonBadCode, Message: "No code is waiting for this number. Ask for a new code."}, nil, nil
	case otp.State == CodeExhausted:
		return &RefusedError{Reason: ReasonExpired, Message: "This code was entered wrongly too many times. Ask for a new code."}, nil, nil
	case otp.State == CodeExpired || otp.ExpiresAt <= nowMs:
		err := tx.Model(&otp).Update("state", CodeExpired).Error
		return &RefusedError{Reason: ReasonExpired, Message: "This code has expired. Ask for a new code."}, nil, err
	}
	if hmac.Equal(otp.CodeMAC, s.mac(p.E164, code)) {
		if err := tx.Model(&otp).Updates(map[string]any{"state": CodeVerified, "verified_at": nowMs}).Error; err != nil {
			return nil, nil, err
		}
		return nil, nil, s.clearFailures(tx, p, cl, now)
	}
	return s.recordFailure(tx, p, &otp, cl, now)
}

func (s *SignIn) recordFailure(tx *gorm.DB, p Phone, otp *OTPCode, cl ClientInfo, now time.Time) (*RefusedError, []AuditEntry, error) {
	pol := s.cfg.Policy
	nowMs := toMillis(now)
	otp.Attempts++
	state := otp.State
	if otp.Attempts >= pol.MaxAttempts {
		state = CodeExhausted
	}
	if err := tx.Model(otp).Updates(map[string]any{"attempts": otp.Attempts, "state": state}).Error; err != nil {
		return nil, nil, err
	}
	locked, lockEntry, err := s.countFailure(tx, p, cl, now)
	if err != nil {
		return nil, nil, err
	}
	if locked != nil {
		return locked, []AuditEntry{*lockEntry}, nil
	}
	left := pol.MaxAttempts - otp.Attempts
	wrong := []AuditEntry{apiEntry(nowMs, EventCodeFailed, p.E164, nil, cl, fmt.Sprintf("try %d of %d", otp.Attempts, pol.MaxAttempts))}
	msg := fmt.Sprintf("The code is wrong. %d more tries with this code.", left)
	if left == 1 {
		msg = "The code is wrong. One more try with this code."
	}
	if left == 0 {
		msg = "The code is wrong, and was tried too often. Ask for a new code."
	}
	return &RefusedError{Reason: ReasonBadCode, Message: msg}, wrong, nil
}

// completeSignIn signs the phone in as u, the user checkBlocked found
// (and locked), or as a new user when u is nil, and issues the device's
// token.
func (s *SignIn) completeSignIn(tx *Tx, p Phone, u *User, name string, cl ClientInfo, now time.Time) (*SignInResult, error) {
	return s.completeSignInWith(tx, p, u, name, cl, now, nil)
}

// completeSignInWith is completeSignIn with, optionally, a token from the
// issuer instead of a new Roster token. Once committed, the fan-out is woken
// for a new user's "joined" notice, and the streams of the sessions the
// sign-in replaced are closed. The first sign-in to an account an
// administrator created is its join, as the creation of a new user is.
func (s *SignIn) completeSignInWith(tx *Tx, p Phone, u *User, name string, cl ClientInfo, now time.Time, issued *issuedSession) (*SignInResult, error) {
	nowMs := toMillis(now)
	created := u == nil || u.AwaitingSignIn
	var entries []AuditEntry
	if created {
		joinedAt, err := changeTime(tx.DB, s.clock, nowMs) // a join is a change incremental syncs must not miss
		if err != nil {
			return nil, err
		}
		if u == nil {
			if u, err = s.createUser(tx, p, name, nowMs, joinedAt); err != nil {
				return nil, err
			}
			entries = append(entries, apiEntry(nowMs, EventUserCreated, p.E164, &u.ID, cl, ""))
		} else if err := s.firstSignIn(tx, u, name, nowMs, joinedAt); err != nil {
			return nil, err
		}
		maxGroups := cmp.Or(s.cfg.GroupsPerUser, DefaultGroupsConfig().MaxPerUser)
		if err := joinInvitedGroups(tx, s.clock, u, maxGroups, s.cfg.Issuer != nil, nowMs); err != nil {
			return nil, err
		}
		if s.cfg.Events != nil {
			// Only here, on joining: signing in again is not joining.
			if err := s.cfg.Events.record(tx.DB, u, EventJoined, now); err != nil {
				return nil, err
			}
			tx.OnCommit(s.cfg.Events.Wake) // fan-out runs in the background; this request does not wait
		}
	}
	if !created {
		// Signing in is being seen: a user who has signed in is never
		// "never signed in" on the dashboard, whether or not the app
		// used its token since.
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Update("last_seen_at", nowMs).Error; err != nil {
			return nil, err
		}
	}
	cancelled, err := s.cancelDeletionAtSignIn(tx.DB, u, cl, nowMs)
	if err != nil {
		return nil, err
	}
	if issued != nil && u.MesiboUID != issued.uid {
		u.MesiboUID = issued.uid
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Update("mesibo_uid", issued.uid).Error; err != nil {
			return nil, err
		}
	}
	sess, token, replaced, err := createSession(tx.DB, u, cl, now, s.cfg.TokenTTL, issued)
	if err != nil {
		return nil, err
	}
	detail := fmt.Sprintf("session %d, device %q", sess.ID, truncate(cl.Device, 64))
	entries = append(entries, apiEntry(nowMs, EventCodeVerified, p.E164, &u.ID, cl, ""),
		apiEntry(nowMs, EventTokenIssued, p.E164, &u.ID, cl, detail))
	if err := audit(tx.DB, entries...); err != nil {
		return nil, err
	}
	if len(replaced) > 0 && s.cfg.Sessions != nil {
		tx.OnCommit(func() { s.cfg.Sessions.NotifyRevoked(replaced...) })
	}
	return &SignInResult{User: *u, Session: *sess, Token: token, NewUser: created, DeletionCancelled: cancelled}, nil
}

// createUser creates the user of a first sign-in, named name (if given).
func (s *SignIn) createUser(tx *Tx, p Phone, name string, nowMs, joinedAt int64) (*User, error) {
	u := &User{Phone: p.E164, CountryCode: p.CountryCode, Name: CleanText(name, MaxNameLen),
		Discoverable: "everyone", Announce: true, CreatedAt: nowMs, ProfileAt: joinedAt, LastSeenAt: &nowMs}
	if s.cfg.Hasher != nil {
		u.PhoneHash = s.cfg.Hasher.Hash(p.E164)
	}
	return u, tx.Create(u).Error
}

// firstSignIn makes an account an administrator created the owner's: it
// gets its phone hash (address books find it from now on), its join time,
// and the name the app sent if the administrator gave none.
func (s *SignIn) firstSignIn(tx *Tx, u *User, name string, nowMs, joinedAt int64) error {
	if u.Name == "" {
		u.Name = CleanText(name, MaxNameLen)
	}
	if s.cfg.Hasher != nil {
		u.PhoneHash = s.cfg.Hasher.Hash(u.Phone)
	}
	u.AwaitingSignIn, u.ProfileAt, u.LastSeenAt = false, joinedAt, &nowMs
	return tx.Model(&User{}).Where("id = ?", u.ID).Updates(map[string]any{"name": u.Name, "phone_hash": u.PhoneHash,
		"awaiting_signin": false, "profile_at": joinedAt, "last_seen_at": nowMs}).Error
}

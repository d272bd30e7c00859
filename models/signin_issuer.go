package models

import (
	"context"
	"time"
)

// Sign-in through an outside token issuer (mesibo mode): the code is
// checked in one transaction, the issuer is called outside any transaction,
// and a second transaction creates the user and the session.

// TokenIssuer issues access tokens from an outside service: mesibo's
// useradd in mesibo mode. Implementations live outside models (web/mesibo).
type TokenIssuer interface {
	IssueToken(ctx context.Context, req IssueRequest) (IssuedToken, error)
}

// IssueRequest asks for a token for one user and app.
type IssueRequest struct {
	Address  string // the user's address at the service: the protocol's phone digits, or the email
	Name     string
	AppID    string
	Lifetime time.Duration
}

// IssuedToken is a token from the issuer, with the user's id there.
type IssuedToken struct {
	UID   string
	Token string
}

// IssuerError is a sign-in that the token issuer did not complete. Message
// is for the person using the app; Err (logged, audited) is the cause.
type IssuerError struct {
	Message string
	Err     error
}

func (e *IssuerError) Error() string { return "token issuer: " + e.Err.Error() }

func (e *IssuerError) Unwrap() error { return e.Err }

// verifyWithIssuer signs in with a token from the issuer. The SQLite write
// transaction is never held across the network call: the code is checked
// and consumed in one transaction, the issuer is called, and the user and
// session are written in a second one. When the issuer fails, the code is
// made valid again so the person can simply retry.
func (s *SignIn) verifyWithIssuer(ctx context.Context, p Phone, code, name string, cl ClientInfo) (*SignInResult, error) {
	now := s.clock.Now()
	nowMs := toMillis(now)
	type checked struct {
		codeCheck
		otpID int64
	}
	c, err := WriteTx(ctx, s.db, func(tx *Tx) (checked, error) {
		check, err := s.checkCodeAndUser(tx.DB, p, code, cl, now)
		if err != nil || check.refused != nil {
			return checked{codeCheck: check}, err
		}
		var otpID int64
		err = tx.Model(&OTPCode{}).Where("phone = ? AND state = ? AND verified_at = ?", p.E164, CodeVerified, nowMs).
			Order("id DESC").Limit(1).Pluck("id", &otpID).Error
		return checked{codeCheck: check, otpID: otpID}, err
	})
	if err == nil {
		err = s.auditWrongCode(ctx, c.wrong)
	}
	if err != nil {
		return nil, err
	}
	if c.refused != nil {
		return nil, c.refused
	}
	displayName := CleanText(name, MaxNameLen)
	if c.user != nil {
		displayName = c.user.Name
	}
	issued, ierr := s.cfg.Issuer.IssueToken(ctx, IssueRequest{Address: p.Digits(), Name: displayName,
		AppID: cl.AppID, Lifetime: s.cfg.TokenTTL})
	if ierr != nil {
		return nil, s.issuerFailed(ctx, p, c.otpID, cl, ierr)
	}
	type outcome struct {
		refused *RefusedError
		result  *SignInResult
	}
	out, err := WriteTx(ctx, s.db, func(tx *Tx) (outcome, error) {
		// The phone's lock, as the code check took it: a first sign-in
		// creates the user, once.
		if err := s.lockPhone(tx.DB, p.E164); err != nil {
			return outcome{}, err
		}
		u, r, err := s.checkUserAndLock(tx.DB, p, cl, now)
		if r != nil || err != nil {
			// Blocked while the issuer was asked: the new token must not
			// stay valid at mesibo.
			if err == nil {
				err = queueMesiboJob(tx.DB, p.E164, MesiboJob{Op: MesiboJobUserDel, UID: issued.UID}, nowMs)
			}
			return outcome{refused: r}, err
		}
		result, err := s.completeSignInWith(tx, p, u, name, cl, now, &issuedSession{token: issued.Token, uid: issued.UID})
		return outcome{result: result}, err
	})
	if err != nil {
		return nil, err
	}
	if out.refused != nil {
		return nil, out.refused
	}
	return out.result, nil
}

// issuerFailed records the failure, gives the code back and builds the
// protocol error.
func (s *SignIn) issuerFailed(ctx context.Context, p Phone, otpID int64, cl ClientInfo, cause error) error {
	nowMs := toMillis(s.clock.Now())
	err := s.db.WriteTx(ctx, func(tx *Tx) error {
		if otpID != 0 {
			// Only while it is still the newest code and not expired.
			err := tx.Model(&OTPCode{}).Where("id = ? AND state = ? AND expires_at > ? AND id = (SELECT MAX(id) FROM otp_codes WHERE phone = ?)",
				otpID, CodeVerified, nowMs, p.E164).Updates(map[string]any{"state": CodePending, "verified_at": nil}).Error
			if err != nil {
				return err
			}
		}
		return audit(tx.DB, apiEntry(nowMs, EventMesiboFailed, p.E164, nil, cl, truncate(cause.Error(), 1000)))
	})
	if err != nil {
		return err
	}
	return &IssuerError{Err: cause, Message: "Signing in with the messaging service failed. Please try again in a moment."}
}

type issuedSession struct {
	token, uid string
}

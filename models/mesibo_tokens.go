package models

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"time"

	"gorm.io/gorm"
)

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

// ReasonBadApp: the app id is not one this server serves.
const ReasonBadApp Reason = "bad_app"

// MesiboChannel is the outbox channel of mesibo jobs.
const MesiboChannel = "mesibo"

// Mesibo job ops.
const (
	// MesiboJobUserDel deletes the user at mesibo (userdel), and with it
	// every token it has. It serves account deletion and token revocation:
	// mesibo's documented backend API (useradd, userset, userdel, usertoken)
	// has no op that deletes one access token, so revoking a session's token
	// means invalidating all of the user's tokens. The user's other devices
	// then see mesibo refuse their token (connection status AUTHFAIL) and
	// sign in again; that sign-in's useradd creates the user again (with a
	// new uid, which the sign-in stores). Roster cannot hand re-issued
	// tokens to those devices (the demo protocol has no op that delivers a
	// token outside login), so it does not re-issue them. What mesibo held
	// for the user goes with it, and a sign-in between the revocation and
	// the job gets a token that the job kills (that device signs in again).
	MesiboJobUserDel = "userdel"
	// MesiboJobMessage sends a contact notice as a mesibo message.
	MesiboJobMessage = "message"
)

// MesiboJob is the body of a mesibo job in the outbox. Jobs queued before
// issue 12 may carry the ops "deltoken" and "deluser" (both run as userdel)
// and a sealed token (no longer written: the token is not needed).
type MesiboJob struct {
	Op          string `json:"op"`
	UID         string `json:"uid,omitempty"`
	Address     string `json:"address,omitempty"`      // message: the recipient
	TokenSealed []byte `json:"token_sealed,omitempty"` // old deltoken jobs only
	Msg         string `json:"msg,omitempty"`          // message: the contact notice's JSON
}

// sealToken encrypts a token with AES-256-GCM under the key (any length; it
// is hashed to 32 bytes). The result is nonce || ciphertext.
func sealToken(key []byte, token string) ([]byte, error) {
	gcm, err := tokenAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, []byte(token), []byte("roster mesibo token")), nil
}

// UnsealToken decrypts a token sealed by the sign-in (for the revocation sender).
func UnsealToken(key, sealed []byte) (string, error) {
	gcm, err := tokenAEAD(key)
	if err != nil {
		return "", err
	}
	if len(sealed) < gcm.NonceSize() {
		return "", errors.New("sealed token too short")
	}
	plain, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], []byte("roster mesibo token"))
	if err != nil {
		return "", errors.New("the sealed token does not open with this key")
	}
	return string(plain), nil
}

func tokenAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) == 0 {
		return nil, errors.New("no sealing key")
	}
	k := sha256.Sum256(key)
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// queueMesiboJob writes a mesibo job into the outbox inside the caller's
// transaction: the job exists exactly when the revocation does, and the
// delivery worker sends it to mesibo with retries, outside any transaction.
// A job identical to one still pending is not queued twice (blocking a user
// revokes all their sessions, which all name the same mesibo user).
func queueMesiboJob(tx *gorm.DB, recipient string, job MesiboJob, now int64) error {
	body, err := json.Marshal(job)
	if err != nil {
		return err
	}
	var n int64
	if err := tx.Model(&OutboxMessage{}).Where("channel = ? AND kind = ? AND state = ? AND body = ?",
		MesiboChannel, OutboxKindMesiboRevoke, OutboxPending, string(body)).Count(&n).Error; err != nil || n > 0 {
		return err
	}
	return tx.Create(&OutboxMessage{Channel: MesiboChannel, Kind: OutboxKindMesiboRevoke, Recipient: recipient,
		Body: string(body), State: OutboxPending, CreatedAt: now, NextAttemptAt: now}).Error
}

// queueMesiboTokenDelete queues invalidating a revoked session's token at
// mesibo, which invalidates all of the user's tokens (see MesiboJobUserDel).
// A session replaced by a new sign-in on the same device is the exception:
// the device now holds the token just issued, which the job would kill too,
// sending that device into a sign-in loop; the old token was on that same
// device, which dropped it.
func queueMesiboTokenDelete(tx *gorm.DB, sess *Session, now int64) error {
	if sess.MesiboUID == "" || len(sess.MesiboTokenSealed) == 0 {
		return nil // a Roster token: nothing to do at mesibo
	}
	if sess.RevokeReason == RevokeReplaced {
		return nil
	}
	var phone string
	if err := tx.Model(&User{}).Where("id = ?", sess.UserID).Pluck("phone", &phone).Error; err != nil {
		return err
	}
	return queueMesiboJob(tx, phone, MesiboJob{Op: MesiboJobUserDel, UID: sess.MesiboUID}, now)
}

// queueMesiboUserDelete queues deleting the user at mesibo (account
// deletion). The dashboard's delete action calls it in its transaction.
func queueMesiboUserDelete(tx *gorm.DB, u *User, now int64) error {
	if u.MesiboUID == "" {
		return nil
	}
	return queueMesiboJob(tx, u.Phone, MesiboJob{Op: MesiboJobUserDel, UID: u.MesiboUID}, now)
}

// checkApp refuses app ids outside the configured allow-list.
func (s *SignIn) checkApp(appID string) *RefusedError {
	if len(s.cfg.AppIDs) == 0 {
		return nil
	}
	for _, a := range s.cfg.AppIDs {
		if a == appID {
			return nil
		}
	}
	return &RefusedError{Reason: ReasonBadApp, Message: "This app (appid) is not served by this server."}
}

// verifyWithIssuer signs in with a token from the issuer. The SQLite write
// transaction is never held across the network call: the code is checked
// and consumed in one transaction, the issuer is called, and the user and
// session are written in a second one. When the issuer fails, the code is
// made valid again so the person can simply retry.
func (s *SignIn) verifyWithIssuer(ctx context.Context, p Phone, code, name string, cl ClientInfo) (*SignInResult, error) {
	now := s.clock.Now()
	nowMs := toMillis(now)
	var (
		refused  *RefusedError
		existing *User
		otpID    int64
	)
	err := s.db.Write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if refused, err = s.checkAnyCode(tx, p, code, cl, now); err != nil || refused != nil {
			return err
		}
		if err := tx.Model(&OTPCode{}).Where("phone = ? AND state = ? AND verified_at = ?", p.E164, CodeVerified, nowMs).
			Order("id DESC").Limit(1).Pluck("id", &otpID).Error; err != nil {
			return err
		}
		existing, err = userByPhone(tx, p.E164)
		if errors.Is(err, ErrNotFound) {
			existing, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	displayName := CleanText(name, MaxNameLen)
	if existing != nil {
		displayName = existing.Name
	}
	issued, ierr := s.cfg.Issuer.IssueToken(ctx, IssueRequest{Address: p.Digits(), Name: displayName,
		AppID: cl.AppID, Lifetime: s.cfg.TokenTTL})
	if ierr != nil {
		return nil, s.issuerFailed(ctx, p, otpID, cl, ierr)
	}
	var result *SignInResult
	err = s.db.Write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		sealed, err := sealToken(s.cfg.SealKey, issued.Token)
		if err != nil {
			return err
		}
		if r, err := s.checkUserAndLock(tx, p.E164, now); r != nil || err != nil {
			// Blocked while the issuer was asked: the new token must not
			// stay valid at mesibo.
			refused = r
			if err == nil {
				err = queueMesiboJob(tx, p.E164, MesiboJob{Op: MesiboJobUserDel, UID: issued.UID}, nowMs)
			}
			return err
		}
		result, err = s.completeSignInWith(tx, p, name, cl, now, &issuedSession{token: issued.Token, uid: issued.UID, sealed: sealed})
		return err
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	return result, nil
}

// issuerFailed records the failure, gives the code back and builds the
// protocol error.
func (s *SignIn) issuerFailed(ctx context.Context, p Phone, otpID int64, cl ClientInfo, cause error) error {
	nowMs := toMillis(s.clock.Now())
	err := s.db.Write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if otpID != 0 {
			// Only while it is still the newest code and not expired.
			err := tx.Model(&OTPCode{}).Where("id = ? AND state = ? AND expires_at > ? AND id = (SELECT MAX(id) FROM otp_codes WHERE phone = ?)",
				otpID, CodeVerified, nowMs, p.E164).Updates(map[string]any{"state": CodePending, "verified_at": nil}).Error
			if err != nil {
				return err
			}
		}
		return audit(tx, apiEntry(nowMs, EventMesiboFailed, p.E164, nil, cl, truncate(cause.Error(), 1000)))
	})
	if err != nil {
		return err
	}
	return &IssuerError{Err: cause, Message: "Signing in with the messaging service failed. Please try again in a moment."}
}

type issuedSession struct {
	token, uid string
	sealed     []byte
}

package models

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"time"

	"gorm.io/gorm"
)

// Asking for a code: every quota is checked and counted in the same write
// transaction that stores the code and queues its delivery.

// codeDigits is fixed by the protocol's clients (6-digit entry fields).
const codeDigits = 6

func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%0*d", codeDigits, n.Int64()), nil
}

// RequestCode issues a code for the phone and queues its delivery. The
// answer does not depend on whether the number belongs to a user.
func (s *SignIn) RequestCode(ctx context.Context, p Phone, cl ClientInfo) error {
	cl = cl.Clean()
	if r := s.checkApp(cl.AppID); r != nil {
		return r
	}
	now := s.clock.Now()
	nowMs := toMillis(now)
	if s.IsTestNumber(p.E164) {
		return s.db.WriteTx(ctx, func(tx *Tx) error {
			return auditRepeatable(tx.DB, apiEntry(nowMs, EventCodeRequested, p.E164, nil, cl, "test number: fixed code, nothing sent"))
		})
	}
	channel, refused := s.channelFor(p)
	if refused != nil {
		return refused
	}
	// A prefix the database found full is refused from memory,
	// before anything else costs: pumping over it then takes no write.
	if refused := s.refuseRemembered(p, cl, now); refused != nil {
		return refused
	}
	lang := s.languages.choose(cl.Languages, p) // outside the writer: it parses the number
	refused, err := WriteTx(ctx, s.db, func(tx *Tx) (*RefusedError, error) {
		channel, err := s.chooseChannel(tx.DB, p, channel, now)
		if err != nil {
			return nil, err
		}
		if err := s.lockRequest(tx.DB, p, channel, cl); err != nil {
			return nil, err
		}
		refused, err := s.checkRequest(tx.DB, p, cl, now)
		if err != nil || refused != nil {
			if err == nil && refused.Reason == ReasonRateLimited {
				err = auditRepeatable(tx.DB, apiEntry(nowMs, EventCodeRateLimited, p.E164, nil, cl, refused.Message))
			}
			return refused, err
		}
		if s.cfg.DemoCode == "" {
			if refused, err = s.checkSMS(tx.DB, p, channel, now); err != nil || refused != nil {
				if err == nil {
					err = auditRepeatable(tx.DB, apiEntry(nowMs, EventSMSRefused, p.E164, nil, cl, "via "+channel+": "+refused.Message))
				}
				return refused, err
			}
		}
		if refused, held, err := s.guardFraud(tx, p, cl, now); err != nil || refused != nil || held {
			return refused, err
		}
		code := s.cfg.DemoCode
		if code == "" {
			if code, err = newCode(); err != nil {
				return nil, err
			}
		}
		if err := tx.Model(&OTPCode{}).Where("phone = ? AND state = ?", p.E164, CodePending).
			Update("state", CodeSuperseded).Error; err != nil {
			return nil, err
		}
		otp := &OTPCode{Phone: p.E164, CodeMAC: s.mac(p.E164, code), State: CodePending,
			Network: NetworkKey(cl.IP), UserAgent: truncate(cl.UserAgent, 512), AppID: truncate(cl.AppID, 256),
			Lang: lang, CreatedAt: nowMs, ExpiresAt: toMillis(now.Add(s.cfg.Policy.TTL))}
		otp.Prefix, otp.Country = fraudKeys(p)
		detail := "sent via " + channel
		if s.cfg.DemoCode != "" {
			detail = "demo-code mode: nothing sent"
		} else {
			otp.Channel = channel
		}
		if err := tx.Create(otp).Error; err != nil {
			return nil, err
		}
		if s.cfg.DemoCode == "" {
			msg := &OutboxMessage{Channel: channel, Recipient: p.E164, Body: s.message(channel, otp.Lang, code, p), Code: code, Lang: otp.Lang,
				Kind: OutboxKindOTP, OTPID: &otp.ID, State: OutboxPending, CreatedAt: nowMs, NextAttemptAt: nowMs}
			if err := tx.Create(msg).Error; err != nil {
				return nil, err
			}
			tx.OnCommit(s.cfg.OnQueued)
		}
		return nil, audit(tx.DB, apiEntry(nowMs, EventCodeRequested, p.E164, nil, cl, detail))
	})
	if err != nil {
		return err
	}
	if refused != nil {
		if refused.limit != nil {
			s.refusals.remember(*refused.limit)
		}
		return refused
	}
	return nil
}

// lockRequest takes the locks of the counts a code request reads and then
// adds to (locks.go): the phone's codes, the network's quotas, the
// service's SMS cap. Without them two requests on two instances could both
// see a quota one short of full and both pass.
func (s *SignIn) lockRequest(tx *gorm.DB, p Phone, channel string, cl ClientInfo) error {
	// Only the phone's own lock: a request reads the demo-code guard but
	// never counts on it.
	if err := lockKey(tx, lockPhone, p.E164); err != nil {
		return err
	}
	pol := s.cfg.Policy
	if network := NetworkKey(cl.IP); network != "" && (pol.IPPerHour > 0 || pol.IPPerDay > 0) {
		if err := lockKey(tx, lockNetwork, network); err != nil {
			return err
		}
	}
	if s.cfg.DemoCode == "" && s.cfg.Delivery.SMSHourlyCap > 0 && s.isSMS(channel, p) {
		return lockKey(tx, lockSMSCap, "")
	}
	return nil
}

// checkRequest applies the lock, the cooldown and the quotas to a code
// request. A blocked user gets a code like anyone: answering BLOCKED here
// would tell anyone which numbers are blocked accounts.
func (s *SignIn) checkRequest(tx *gorm.DB, p Phone, cl ClientInfo, now time.Time) (*RefusedError, error) {
	if r, err := s.checkLock(tx, p, cl, now); r != nil || err != nil {
		return r, err
	}
	pol := s.cfg.Policy
	var last OTPCode
	err := tx.Where("phone = ?", p.E164).Order("created_at DESC").Limit(1).Find(&last).Error
	if err != nil {
		return nil, err
	}
	if last.ID != 0 {
		if wait := fromMillis(last.CreatedAt).Add(pol.ResendCooldown).Sub(now); wait > 0 {
			return rateLimited(wait, "Please wait %s before asking for another code.", wait), nil
		}
	}
	// The number's codes bound the guesses at it: every network that never
	// signed it in shares them. A network it signed in from before (its
	// owner's, most likely) counts only its own codes, so strangers asking
	// for codes they never see cannot use up the owner's.
	// Codes from before an administrator cleared the number's quotas
	// (UnlockPhone) do not count on them.
	network := NetworkKey(cl.IP)
	resetAt, err := quotaResetAt(tx, p.E164)
	if err != nil {
		return nil, err
	}
	phoneCodes, phoneArgs := "phone = ? AND created_at >= ?", []any{p.E164, resetAt}
	known, err := signedInFrom(tx, p.E164, network)
	if err != nil {
		return nil, err
	}
	if known {
		phoneCodes, phoneArgs = "phone = ? AND network = ? AND created_at >= ?", []any{p.E164, network, resetAt}
	}
	quotas := []struct {
		where   string
		args    []any
		limit   int
		window  time.Duration
		message string
	}{
		{phoneCodes, phoneArgs, pol.PhonePerHour, time.Hour, "Too many codes were requested for this number. Try again in %s."},
		{phoneCodes, phoneArgs, pol.PhonePerDay, 24 * time.Hour, "Too many codes were requested for this number today. Try again in %s."},
		{"network = ?", []any{network}, pol.IPPerHour, time.Hour, "Too many codes were requested from your network. Try again in %s."},
		{"network = ?", []any{network}, pol.IPPerDay, 24 * time.Hour, "Too many codes were requested from your network today. Try again in %s."},
	}
	for _, q := range quotas {
		if q.limit <= 0 {
			continue
		}
		wait, err := quotaWait(tx, q.where, q.args, q.limit, q.window, now)
		if err != nil {
			return nil, err
		}
		if wait > 0 {
			return rateLimited(wait, q.message, wait), nil
		}
	}
	return nil, nil
}

// quotaWait returns how long until one more code may be issued under a
// sliding-window quota: zero while fewer than limit codes fall in the window,
// else the time until the limit-th newest leaves it.
func quotaWait(tx *gorm.DB, where string, args []any, limit int, window time.Duration, now time.Time) (time.Duration, error) {
	var times []int64
	err := quotaTimes(tx, where, args, limit, window, now).Pluck("created_at", &times).Error
	if err != nil || len(times) < limit {
		return 0, err
	}
	return max(fromMillis(times[limit-1]).Add(window).Sub(now), time.Second), nil
}

// quotaTimes is the query of quotaWait: the newest limit codes matching
// where inside the window. where is one of the constants of the quotas,
// never input. The code's network column holds the NetworkKey, so an IPv6
// client counts per /64.
func quotaTimes(tx *gorm.DB, where string, args []any, limit int, window time.Duration, now time.Time) *gorm.DB {
	return tx.Model(&OTPCode{}).Where(where+" AND created_at > ?", append(args, toMillis(now.Add(-window)))...).
		Order("created_at DESC").Limit(limit)
}

func rateLimited(wait time.Duration, format string, arg time.Duration) *RefusedError {
	return &RefusedError{Reason: ReasonRateLimited, Message: fmt.Sprintf(format, humanDuration(arg)), RetryAfter: wait}
}

// signedInFrom reports whether the phone has signed in from the network
// (NetworkKey) before: a session of its user, live or ended, was created
// from it. Only the newest sessions are looked at.
func signedInFrom(tx *gorm.DB, e164, network string) (bool, error) {
	var ips []string
	err := tx.Raw("SELECT s.ip FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.phone = ? ORDER BY s.id DESC LIMIT 100", e164).
		Scan(&ips).Error
	for _, ip := range ips {
		if NetworkKey(ip) == network {
			return true, err
		}
	}
	return false, err
}

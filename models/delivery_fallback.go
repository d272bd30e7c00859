package models

import (
	"time"

	"gorm.io/gorm"
)

// Channel fallback: a code that does not get through by one channel goes by
// the next one of the configured list that can reach the address. Two
// things move a number on: its code's delivery failed for good (at once,
// by FallBack, with a fresh code), or its code was not verified within
// DeliveryPolicy.FallbackAfter and the person asks again (chooseChannel).

// EventCodeFallback is the audit entry of a code moved to the next channel.
const EventCodeFallback = "code_fallback"

// fallbackWindow bounds how old an unverified code may be and still move
// the next one on: a day later, a new request starts from the first channel.
const fallbackWindow = 24 * time.Hour

// nextChannel returns the channel listed after the given one among those
// that can reach p ("" when none follows, or without Routes).
func (s *SignIn) nextChannel(p Phone, after string) string {
	if s.cfg.Delivery.Routes == nil {
		return ""
	}
	routes := s.cfg.Delivery.Routes(p)
	for i, ch := range routes {
		if ch == after && i+1 < len(routes) {
			return routes[i+1]
		}
	}
	return ""
}

// reaches reports whether channel is one of those that can reach p.
func (s *SignIn) reaches(p Phone, channel string) bool {
	for _, ch := range s.cfg.Delivery.Routes(p) {
		if ch == channel {
			return true
		}
	}
	return false
}

// chooseChannel returns the channel of a new code for p: first (the
// preferred channel), unless the number's previous code, asked for within
// fallbackWindow, was not verified. Then its channel again, or the next one
// when its delivery failed for good or FallbackAfter has passed since it
// was asked for. At the end of the list the last channel stays.
func (s *SignIn) chooseChannel(tx *gorm.DB, p Phone, first string, now time.Time) (string, error) {
	pol := s.cfg.Delivery
	if pol.Routes == nil {
		return first, nil
	}
	var prev OTPCode
	err := tx.Where("phone = ? AND created_at > ?", p.E164, toMillis(now.Add(-fallbackWindow))).
		Order("created_at DESC, id DESC").Limit(1).Find(&prev).Error
	if err != nil || prev.ID == 0 || prev.State == CodeVerified || prev.Channel == "" || !s.reaches(p, prev.Channel) {
		return first, err
	}
	moveOn := pol.FallbackAfter > 0 && now.Sub(fromMillis(prev.CreatedAt)) >= pol.FallbackAfter
	if !moveOn {
		if moveOn, err = deliveryFailed(tx, prev.ID); err != nil {
			return "", err
		}
	}
	if next := s.nextChannel(p, prev.Channel); moveOn && next != "" {
		return next, nil
	}
	return prev.Channel, nil
}

// deliveryFailed reports whether the newest message of a code was given
// up.
func deliveryFailed(tx *gorm.DB, otpID int64) (bool, error) {
	var states []string
	err := tx.Model(&OutboxMessage{}).Where("otp_id = ?", otpID).Order("id DESC").Limit(1).Pluck("state", &states).Error
	return len(states) == 1 && states[0] == OutboxFailed, err
}

// FallBack sends a code whose delivery by channel failed for good by the
// next channel that can reach its number, if the code is still the
// number's pending one, unexpired, and was last sent by that channel. The
// text of the failed message is gone by then, so it gets a fresh code, with
// a full lifetime; its wrong tries so far still count. The outbox calls it
// inside the transaction that records the failure.
//
// No lock: the update of the code is conditional on its state, so a new
// request superseding it meanwhile (it takes the phone's lock) wins, and
// nothing is queued.
func (s *SignIn) FallBack(tx *Tx, otpID int64, channel string) error {
	now := s.clock.Now()
	nowMs := toMillis(now)
	var otp OTPCode
	if err := tx.Where("id = ?", otpID).Limit(1).Find(&otp).Error; err != nil || otp.ID == 0 {
		return err
	}
	if otp.State != CodePending || otp.ExpiresAt <= nowMs || otp.Channel != channel {
		return nil
	}
	p := Phone{E164: otp.Phone}
	next := s.nextChannel(p, channel)
	if next == "" {
		return nil
	}
	code, err := newCode()
	if err != nil {
		return err
	}
	res := tx.Model(&OTPCode{}).Where("id = ? AND state = ? AND channel = ?", otp.ID, CodePending, channel).
		Updates(map[string]any{"code_mac": s.mac(otp.Phone, code), "channel": next,
			"expires_at": toMillis(now.Add(s.cfg.Policy.TTL))})
	if res.Error != nil || res.RowsAffected == 0 {
		return res.Error
	}
	msg := &OutboxMessage{Channel: next, Recipient: otp.Phone, Body: s.message(next, otp.Lang, code, p), Code: code, Lang: otp.Lang,
		Kind: OutboxKindOTP, OTPID: &otp.ID, State: OutboxPending, CreatedAt: nowMs, NextAttemptAt: nowMs}
	if err := tx.Create(msg).Error; err != nil {
		return err
	}
	tx.OnCommit(s.cfg.OnQueued)
	return audit(tx.DB, auditEntry(nowMs, ActorSystem, EventCodeFallback, otp.Phone, nil, ClientInfo{},
		channel+" failed: a new code via "+next))
}

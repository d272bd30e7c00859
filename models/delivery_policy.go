package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// DeliveryPolicy chooses the channel of each code and protects paid channels
// against SMS pumping. The zero value sends everything through
// SignInConfig.Channel without limits.
type DeliveryPolicy struct {
	// Route returns the channel that delivers codes to the identity (a phone
	// number or, with email sign-in, an email address), or ok=false when no
	// configured channel can reach it.
	Route func(p Phone) (channel string, ok bool)
	// Routes lists, in order of preference, every channel that can reach
	// the identity: the fallback's order (delivery_fallback.go). nil: no
	// fallback.
	Routes func(p Phone) []string
	// FallbackAfter is how long a code may go unverified before the next
	// request for the number goes by the next channel (0: only a failed
	// delivery moves it on).
	FallbackAfter time.Duration
	// SMSChannels are the channels whose messages to phone numbers cost money:
	// the country allow-list and the hourly cap apply to them.
	SMSChannels []string
	// SMSCountries lists the ISO regions ("US", "FR") codes may be sent to by
	// SMS; empty allows all.
	SMSCountries map[string]bool
	// SMSHourlyCap is the most SMS codes sent in any hour, across all numbers
	// (0 = no cap). Counted in the database, so it holds across restarts and
	// instances.
	SMSHourlyCap int
	// EmailSignIn accepts email addresses as identities (an email channel is
	// configured).
	EmailSignIn bool
	// MessageFor renders a channel's message in a language to p
	// (CodeMessages.Render); nil uses SignInConfig.Message.
	MessageFor func(channel, lang, code string, p Phone) string
}

// ReasonNotDeliverable: no channel may send a code to this address.
const ReasonNotDeliverable Reason = "not_deliverable"

// channelFor returns the delivery channel of an identity.
func (s *SignIn) channelFor(p Phone) (string, *RefusedError) {
	if s.cfg.Delivery.Route == nil {
		return s.cfg.Channel, nil
	}
	ch, ok := s.cfg.Delivery.Route(p)
	if !ok {
		what := "phone numbers"
		if p.IsEmail() {
			what = "email addresses"
		}
		return "", &RefusedError{Reason: ReasonNotDeliverable, Message: "This service cannot send codes to " + what + "."}
	}
	return ch, nil
}

func (s *SignIn) message(channel, lang, code string, p Phone) string {
	if s.cfg.Delivery.MessageFor != nil {
		return s.cfg.Delivery.MessageFor(channel, lang, code, p)
	}
	return s.cfg.Message(code)
}

func (s *SignIn) isSMS(channel string, p Phone) bool {
	if p.IsEmail() {
		return false
	}
	for _, c := range s.cfg.Delivery.SMSChannels {
		if c == channel {
			return true
		}
	}
	return false
}

// checkSMS applies the country allow-list and the global hourly cap to a
// code about to be sent by SMS.
func (s *SignIn) checkSMS(tx *gorm.DB, p Phone, channel string, now time.Time) (*RefusedError, error) {
	pol := s.cfg.Delivery
	if !s.isSMS(channel, p) {
		return nil, nil
	}
	if len(pol.SMSCountries) > 0 && !pol.SMSCountries[p.Region()] {
		return &RefusedError{Reason: ReasonNotDeliverable,
			Message: "Codes cannot be sent by SMS to numbers of this country."}, nil
	}
	if pol.SMSHourlyCap <= 0 {
		return nil, nil
	}
	var times []int64
	err := tx.Model(&OutboxMessage{}).
		Where("channel IN ? AND kind = ? AND recipient LIKE '+%' AND created_at > ?",
			pol.SMSChannels, OutboxKindOTP, toMillis(now.Add(-time.Hour))).
		Order("created_at DESC").Limit(pol.SMSHourlyCap).Pluck("created_at", &times).Error
	if err != nil || len(times) < pol.SMSHourlyCap {
		return nil, err
	}
	wait := max(fromMillis(times[pol.SMSHourlyCap-1]).Add(time.Hour).Sub(now), time.Second)
	return &RefusedError{Reason: ReasonRateLimited, RetryAfter: wait,
		Message: fmt.Sprintf("The service is sending too many codes right now. Try again in %s.", humanDuration(wait))}, nil
}

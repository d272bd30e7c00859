package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// The fraud guard against SMS pumping: bots asking for codes to ranges of
// premium-rate numbers, which the service pays for and nobody enters. It
// judges each code request to a phone number that passed the other quotas
// (signin_request.go), in the same write transaction that stores the code:
//
//   - limits per number prefix (the E.164 number without its last 4
//     digits: pumping walks a range), hourly and daily: over one, the
//     request is refused like any quota (RATELIMIT with retry_after) and
//     nothing is stored; the instance then refuses the prefix from memory
//     until the window rolls over (signin_fraud_cache.go). A prefix is
//     10,000 numbers: whoever fills one shuts out few real users, for an
//     hour;
//   - holds: the code is stored with its reason, answered as usual, and
//     never sent. Codes sent to a country past its hourly or daily limit,
//     a country whose codes stop being verified (the conversion watch), the
//     daily budget spent, or sending switched off on the dashboard hold
//     every request except those of numbers that signed in before. A
//     country's limits hold rather than refuse: a refusal for everyone
//     would let a bot spread over a country's prefixes shut all its users
//     out, and a refusal sparing users would tell the bot which numbers are
//     users; a hold answers like a code sent. A held code is never sent
//     later either: a release lets new requests through, and the person
//     asks again. Sending the held codes on release would send the
//     pumper's with them.
//
// Codes to email addresses, test numbers and demo-code mode are not judged:
// they cost nothing.

// FraudPolicy configures the fraud guard. A zero limit is no limit.
type FraudPolicy struct {
	PrefixPerHour  int
	PrefixPerDay   int
	CountryPerHour int
	CountryPerDay  int
	// WatchWindow is the conversion watch's sliding window (0: no watch).
	// A country with at least WatchMinCodes codes requested in it, of
	// which less than WatchMinVerified (a share, 0.1 = 10 %) were verified,
	// is held.
	WatchWindow      time.Duration
	WatchMinCodes    int
	WatchMinVerified float64
	// DailyBudget is the most codes sent a day (UTC) before only numbers
	// that signed in before get one (0: no budget).
	DailyBudget int
	// Costs are the estimated prices of one message by country (ISO
	// region), "*" for the others; the dashboard shows the day's spend.
	Costs map[string]float64
	// OnDecision is told of each refusal and hold after its commit
	// (metrics): FraudRefused or FraudHeld, and the FraudReason.
	OnDecision func(decision, reason string)
}

// DefaultFraudPolicy has limits no real user meets: a prefix is 10,000
// numbers, a country's limits hold only numbers that never signed in, and
// a real conversion rate is well above half.
func DefaultFraudPolicy() FraudPolicy {
	return FraudPolicy{PrefixPerHour: 20, PrefixPerDay: 100, CountryPerHour: 500, CountryPerDay: 5000,
		WatchWindow: time.Hour, WatchMinCodes: 50, WatchMinVerified: 0.10}
}

// Decisions of the fraud guard, and their reasons (metric labels).
const (
	FraudRefused = "refused"
	FraudHeld    = "held"

	FraudPrefixHourly  = "prefix_hourly"
	FraudPrefixDaily   = "prefix_daily"
	FraudCountryHourly = "country_hourly"
	FraudCountryDaily  = "country_daily"
	FraudConversion    = "conversion"
	FraudBudget        = "budget"
	FraudSwitchedOff   = "switched_off"
)

// EventCodeHeld: a code was stored but not sent (its reason in the detail).
const EventCodeHeld = "code_held"

// fraudKeys are what a phone number's codes are counted by: its prefix
// and its country ("ZZ" when no region has it).
func fraudKeys(p Phone) (prefix, country string) {
	if p.IsEmail() {
		return "", ""
	}
	prefix = fraudPrefix(p)
	country = p.ContactRegion()
	if country == "" {
		country = "ZZ"
	}
	return prefix, country
}

// fraudPrefix is a phone number's prefix, the E.164 number without its
// last 4 digits: unlike its country, it needs no parsing.
func fraudPrefix(p Phone) string { return p.E164[:max(len(p.E164)-4, 1)] }

// guardFraud judges a code request (see the top of this file): refused
// (nothing stored), or held (the code stored as held, its audit entry
// written: nothing is left to do), or neither, and the code is sent as
// usual. It locks the prefix, the country and the budget it counts
// (locks.go), after the locks of lockRequest.
func (s *SignIn) guardFraud(tx *Tx, p Phone, cl ClientInfo, now time.Time) (*RefusedError, bool, error) {
	if s.cfg.DemoCode != "" || p.IsEmail() {
		return nil, false, nil
	}
	f := s.cfg.Fraud
	prefix, country := fraudKeys(p)
	if err := f.lock(tx.DB, prefix, country); err != nil {
		return nil, false, err
	}
	reason, key, detail, wait, err := f.overLimit(tx.DB, prefix, now)
	if err != nil {
		return nil, false, err
	}
	nowMs := toMillis(now)
	if reason != "" {
		f.decided(tx, FraudRefused, reason)
		refused := rateLimited(wait, fraudRefusalMessage, wait)
		refused.limit = &fraudFull{key: key, reason: reason, detail: detail, until: toMillis(now.Add(wait))}
		return refused, false, auditRepeatable(tx.DB, apiEntry(nowMs, EventCodeRateLimited, p.E164, nil, cl, "fraud guard: "+detail))
	}
	reason, detail, err = f.holdReason(tx.DB, p.E164, country, now)
	if err != nil || reason == "" {
		return nil, false, err
	}
	f.decided(tx, FraudHeld, reason)
	return nil, true, s.holdCode(tx, p, cl, prefix, country, detail, now)
}

func (f FraudPolicy) decided(tx *Tx, decision, reason string) {
	if f.OnDecision != nil {
		tx.OnCommit(func() { f.OnDecision(decision, reason) })
	}
}

// lock takes the keyed locks of what the request counts, in the order of
// their classes; SQLite's single writer needs none.
func (f FraudPolicy) lock(tx *gorm.DB, prefix, country string) error {
	if f.PrefixPerHour > 0 || f.PrefixPerDay > 0 {
		if err := lockKey(tx, lockFraudPrefix, prefix); err != nil {
			return err
		}
	}
	if f.CountryPerHour > 0 || f.CountryPerDay > 0 || f.WatchWindow > 0 {
		if err := lockKey(tx, lockFraudCountry, country); err != nil {
			return err
		}
	}
	if f.DailyBudget > 0 {
		return lockKey(tx, lockFraudBudget, "")
	}
	return nil
}

// fraudRefusalMessage is the answer over a prefix limit, worded
// like the hourly SMS cap: a pumper learns nothing a real user would not.
const fraudRefusalMessage = "The service is sending too many codes right now. Try again in %s."

// overLimit returns the first prefix limit the request would pass (reason
// "": none), with the prefix, a detail for the audit log and how long
// until a code is allowed again. Refused requests store no code, so they
// do not count; held ones do. Numbers that signed in before are refused
// like any other: sparing them would tell whoever fills a prefix which of
// its numbers are users.
func (f FraudPolicy) overLimit(tx *gorm.DB, prefix string, now time.Time) (reason, key, detail string, wait time.Duration, err error) {
	return firstLimit(tx, []fraudLimit{
		{FraudPrefixHourly, "an hour", "prefix = ?", prefix, f.PrefixPerHour, time.Hour},
		{FraudPrefixDaily, "a day", "prefix = ?", prefix, f.PrefixPerDay, 24 * time.Hour},
	}, now)
}

// countrySent is what a country's limits count: its codes sent. The empty
// string is written into the statement, not passed as a parameter: only
// then may the planner use the partial index of sent codes.
const countrySent = "country = ? AND held_reason = ''"

// countryFull returns the first country limit the codes sent to the
// country reached (reason "": none), with the detail stored on a held
// code. Only codes sent count (the partial index otp_codes_country_sent):
// the codes it holds must not keep a busy country closed once fewer are
// sent than its limit.
func (f FraudPolicy) countryFull(tx *gorm.DB, country string, now time.Time) (reason, detail string, err error) {
	reason, _, detail, _, err = firstLimit(tx, []fraudLimit{
		{FraudCountryHourly, "an hour", countrySent, country, f.CountryPerHour, time.Hour},
		{FraudCountryDaily, "a day", countrySent, country, f.CountryPerDay, 24 * time.Hour},
	}, now)
	return reason, detail, err
}

// fraudLimit is one of the fraud guard's limits: at most limit codes whose
// row matches where (one ? for key) in the window.
type fraudLimit struct {
	reason, what, where, key string
	limit                    int
	window                   time.Duration
}

// firstLimit returns the first of the limits that is reached (reason "":
// none), its key, a detail for the audit log and how long until it lets a
// code through again.
func firstLimit(tx *gorm.DB, limits []fraudLimit, now time.Time) (reason, key, detail string, wait time.Duration, err error) {
	for _, l := range limits {
		if l.limit <= 0 {
			continue
		}
		wait, err := quotaWait(tx, l.where, []any{l.key}, l.limit, l.window, now)
		if err != nil || wait > 0 {
			return l.reason, l.key, fmt.Sprintf("%d codes to %s in %s (%s)", l.limit, l.key, l.what, l.reason), wait, err
		}
	}
	return "", "", "", 0, nil
}

// holdReason returns why a request to the number is held (reason "": it
// is not), with the detail stored on the code and audited. A number that
// signed in before is never held: the holds stop strangers' numbers, not
// the service's users.
func (f FraudPolicy) holdReason(tx *gorm.DB, e164, country string, now time.Time) (string, string, error) {
	sending, err := sendingOn(tx)
	if err != nil {
		return "", "", err
	}
	var reason, detail string
	if !sending {
		reason, detail = FraudSwitchedOff, "sending is switched off on the dashboard"
	}
	if reason == "" && f.DailyBudget > 0 {
		sent, err := sentSince(tx, dayStart(now), f.DailyBudget)
		if err != nil {
			return "", "", err
		}
		if sent >= int64(f.DailyBudget) {
			reason, detail = FraudBudget, fmt.Sprintf("the daily budget of %d messages is spent", f.DailyBudget)
		}
	}
	if reason == "" {
		if reason, detail, err = f.countryFull(tx, country, now); err != nil {
			return "", "", err
		}
	}
	if reason == "" && f.WatchWindow > 0 {
		w, err := f.watch(tx, country, now)
		if err != nil {
			return "", "", err
		}
		if w.Held {
			reason, detail = FraudConversion, fmt.Sprintf("conversion watch: %d of %d codes to %s verified in the last %s, below %s",
				w.Verified, w.Requested, country, humanDuration(f.WatchWindow), percent(f.WatchMinVerified))
		}
	}
	if reason == "" {
		return "", "", nil
	}
	known, err := signedInBefore(tx, e164)
	if err != nil || known {
		return "", "", err
	}
	return reason, detail, nil
}

// holdCode stores a held code: a fresh one like any (it supersedes the
// number's pending code), never sent, so nobody knows it.
func (s *SignIn) holdCode(tx *Tx, p Phone, cl ClientInfo, prefix, country, detail string, now time.Time) error {
	code, err := newCode()
	if err != nil {
		return err
	}
	if err := tx.Model(&OTPCode{}).Where("phone = ? AND state = ?", p.E164, CodePending).
		Update("state", CodeSuperseded).Error; err != nil {
		return err
	}
	nowMs := toMillis(now)
	otp := &OTPCode{Phone: p.E164, CodeMAC: s.mac(p.E164, code), State: CodePending,
		Network: NetworkKey(cl.IP), UserAgent: truncate(cl.UserAgent, 512), AppID: truncate(cl.AppID, 256),
		CreatedAt: nowMs, ExpiresAt: toMillis(now.Add(s.cfg.Policy.TTL)),
		Prefix: prefix, Country: country, HeldReason: detail}
	if err := tx.Create(otp).Error; err != nil {
		return err
	}
	return auditRepeatable(tx.DB, apiEntry(nowMs, EventCodeHeld, p.E164, nil, cl, detail))
}

// signedInBefore reports whether a user of the number completed a sign-in
// (has a session, live or ended).
func signedInBefore(tx *gorm.DB, e164 string) (bool, error) {
	var n int64
	err := tx.Raw("SELECT COUNT(*) FROM users u WHERE u.phone = ? AND EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = u.id)", e164).
		Scan(&n).Error
	return n > 0, err
}

// sentSince counts the codes sent to phone numbers since the time, up to
// limit (enough to compare with a budget).
func sentSince(tx *gorm.DB, since time.Time, limit int) (int64, error) {
	var n int64
	err := tx.Raw(`SELECT COUNT(*) FROM (SELECT 1 FROM otp_codes WHERE created_at >= ? AND country <> '' AND held_reason = '' AND channel <> '' LIMIT ?) sent`,
		toMillis(since), limit).Scan(&n).Error
	return n, err
}

// dayStart is the start of the UTC day: the budget is a calendar day's.
func dayStart(now time.Time) time.Time { return now.UTC().Truncate(24 * time.Hour) }

func percent(share float64) string { return fmt.Sprintf("%.0f %%", share*100) }

// HeldReason is why the number's newest code was held ("": it was not,
// or there is none), for the dashboard's resend to say so.
func (s *SignIn) HeldReason(ctx context.Context, e164 string) (string, error) {
	var reasons []string
	err := s.db.Read.WithContext(ctx).Model(&OTPCode{}).Where("phone = ?", e164).Order("id DESC").Limit(1).
		Pluck("held_reason", &reasons).Error
	if err != nil || len(reasons) == 0 {
		return "", err
	}
	return reasons[0], nil
}

package models

import (
	"context"
	"fmt"
)

// FraudOverview is the fraud page's read model: the conversion watch per
// country, the kill switch and the day's budget with its estimated spend.
type FraudOverview struct {
	Countries  []CountryWatch
	SendingOn  bool
	SwitchedAt int64 // when the kill switch was last turned (0: never)
	SwitchedBy string
	SentToday  []CountrySent // codes sent since midnight UTC, by country
	Sent       int64         // their total
	Spend      float64       // their estimated cost (Costs)
	Priced     bool          // Costs are configured: Spend means something
}

// CountrySent is one country's codes sent today, with their estimated cost.
type CountrySent struct {
	Country string
	Sent    int64
	Spend   float64
}

// Overview reads the fraud page.
func (f *Fraud) Overview(ctx context.Context) (FraudOverview, error) {
	now := f.clock.Now()
	db := f.db.Read.WithContext(ctx)
	var out FraudOverview
	var err error
	if out.Countries, err = f.policy.watches(db, "", now); err != nil {
		return out, err
	}
	var s fraudSetting
	if err := db.Where("name = ?", settingSending).Limit(1).Find(&s).Error; err != nil {
		return out, err
	}
	out.SendingOn, out.SwitchedAt, out.SwitchedBy = s.Value != "off", s.ChangedAt, s.ChangedBy
	err = db.Raw(`SELECT country, COUNT(*) AS sent FROM otp_codes WHERE created_at >= ? AND country <> '' AND held_reason = '' AND channel <> ''
		GROUP BY country ORDER BY sent DESC, country`, toMillis(dayStart(now))).Scan(&out.SentToday).Error
	if err != nil {
		return out, err
	}
	out.Priced = len(f.policy.Costs) > 0
	for i, c := range out.SentToday {
		out.SentToday[i].Spend = float64(c.Sent) * f.policy.cost(c.Country)
		out.Sent += c.Sent
		out.Spend += out.SentToday[i].Spend
	}
	return out, nil
}

// Banner says, for the overview, when codes go only to numbers that
// signed in before ("" when they go to all).
func (f *Fraud) Banner(ctx context.Context) (string, error) {
	db := f.db.Read.WithContext(ctx)
	on, err := sendingOn(db)
	if err != nil {
		return "", err
	}
	if !on {
		return "Sending is switched off: codes go only to numbers that signed in before; the others are held.", nil
	}
	if f.policy.DailyBudget <= 0 {
		return "", nil
	}
	sent, err := sentSince(db, dayStart(f.clock.Now()), f.policy.DailyBudget)
	if err != nil || sent < int64(f.policy.DailyBudget) {
		return "", err
	}
	return fmt.Sprintf("Today's budget of %d messages is spent: until midnight UTC, codes go only to numbers that signed in before; the others are held.",
		f.policy.DailyBudget), nil
}

// cost is the estimated price of one message to the country.
func (f FraudPolicy) cost(country string) float64 {
	if c, ok := f.Costs[country]; ok {
		return c
	}
	return f.Costs["*"]
}

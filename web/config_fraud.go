package web

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"roster/models"
)

// FraudConfig configures the fraud guard against SMS pumping
// (models/signin_fraud.go).
type FraudConfig struct {
	Policy        models.FraudPolicy
	VerifyPercent int    // --otp-watch-verify-percent, the policy's WatchMinVerified in percent
	CostsRaw      string // --otp-cost
}

func fraudFlags(fs *flag.FlagSet, f *FraudConfig) {
	p := models.DefaultFraudPolicy()
	f.Policy = p
	fs.IntVar(&f.Policy.PrefixPerHour, "otp-prefix-hourly", p.PrefixPerHour, "codes per number prefix (the number without its last 4 digits) per hour, against SMS pumping (0 = no limit)")
	fs.IntVar(&f.Policy.PrefixPerDay, "otp-prefix-daily", p.PrefixPerDay, "codes per number prefix per day (0 = no limit)")
	fs.IntVar(&f.Policy.CountryPerHour, "otp-country-hourly", p.CountryPerHour, "codes sent per country per hour; past it only numbers that signed in before get codes, others are held (0 = no limit)")
	fs.IntVar(&f.Policy.CountryPerDay, "otp-country-daily", p.CountryPerDay, "codes sent per country per day, held past it as per hour (0 = no limit)")
	fs.DurationVar(&f.Policy.WatchWindow, "otp-watch-window", p.WatchWindow, "conversion watch: the sliding window of codes requested and verified per country (0 = no watch)")
	fs.IntVar(&f.Policy.WatchMinCodes, "otp-watch-min-codes", p.WatchMinCodes, "conversion watch: codes a country needs in the window before it is judged")
	fs.IntVar(&f.VerifyPercent, "otp-watch-verify-percent", int(math.Round(p.WatchMinVerified*100)), "conversion watch: a country with fewer of its codes verified than this percentage is held")
	fs.IntVar(&f.Policy.DailyBudget, "otp-daily-budget", 0, "codes sent a day (UTC); past it only numbers that signed in before get one (0 = no budget)")
	fs.StringVar(&f.CostsRaw, "otp-cost", "", "estimated price of one message by country for the dashboard's spend, e.g. US=0.0079,GB=0.04,*=0.05 (empty = not shown)")
}

// check reads --otp-cost and checks the numbers.
func (f *FraudConfig) check() []error {
	var errs []error
	p := &f.Policy
	if p.PrefixPerHour < 0 || p.PrefixPerDay < 0 || p.CountryPerHour < 0 || p.CountryPerDay < 0 || p.DailyBudget < 0 {
		errs = append(errs, errors.New("--otp-prefix-*, --otp-country-* and --otp-daily-budget must not be negative"))
	}
	if p.WatchWindow < 0 || p.WatchWindow > fraudWindowMax || p.WatchMinCodes < 1 {
		errs = append(errs, errors.New("--otp-watch-window must be between 0 and 24h, and --otp-watch-min-codes at least 1"))
	}
	if f.VerifyPercent < 0 || f.VerifyPercent > 100 {
		errs = append(errs, errors.New("--otp-watch-verify-percent must be between 0 and 100"))
	}
	p.WatchMinVerified = float64(f.VerifyPercent) / 100
	costs, err := parseCosts(f.CostsRaw)
	if err != nil {
		errs = append(errs, err)
	}
	p.Costs = costs
	return errs
}

// parseCosts reads "US=0.0079,GB=0.04,*=0.05".
func parseCosts(raw string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, item := range models.SplitList(raw) {
		region, price, ok := strings.Cut(item, "=")
		region = strings.ToUpper(strings.TrimSpace(region))
		v, err := strconv.ParseFloat(strings.TrimSpace(price), 64)
		if !ok || err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("--otp-cost: %q is not COUNTRY=price (such as US=0.0079 or *=0.05)", item)
		}
		if region != "*" && phonenumbers.GetCountryCodeForRegion(region) == 0 {
			return nil, fmt.Errorf("--otp-cost: %q is not an ISO country code", region)
		}
		out[region] = v
	}
	return out, nil
}

// fraudWindowMax is the longest conversion watch window: codes are kept at
// least a day (--retention), and the watch reads them.
const fraudWindowMax = 24 * time.Hour

// fraudPolicy is the fraud guard's policy, its decisions counted in the
// metrics.
func (s *Server) fraudPolicy() models.FraudPolicy {
	p := s.cfg.Fraud.Policy
	p.OnDecision = s.metrics.observeFraud
	return p
}

package web_test

import (
	"io"
	"math"
	"strings"
	"testing"

	"roster/web"
)

func parseFraud(args ...string) (web.Config, error) {
	return web.ParseConfig("roster", args, func(string) string { return "" }, io.Discard)
}

func TestFraudFlags(t *testing.T) {
	cfg, err := parseFraud("--otp-cost", " us=0.0079, GB=0.04,*=0.05", "--otp-watch-verify-percent", "25")
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Fraud.Policy
	if p.Costs["US"] != 0.0079 || p.Costs["GB"] != 0.04 || p.Costs["*"] != 0.05 || len(p.Costs) != 3 {
		t.Errorf("costs %v", p.Costs)
	}
	if p.WatchMinVerified != 0.25 || p.PrefixPerHour != 20 || p.PrefixPerDay != 100 || p.WatchMinCodes != 50 {
		t.Errorf("policy %+v", p)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--otp-cost", "US=cheap"}, `--otp-cost: "US=cheap" is not COUNTRY=price`},
		{[]string{"--otp-cost", "XX=1"}, `--otp-cost: "XX" is not an ISO country code`},
		{[]string{"--otp-cost", "US=-1"}, `--otp-cost: "US=-1" is not COUNTRY=price`},
		{[]string{"--otp-prefix-hourly", "-1"}, "must not be negative"},
		{[]string{"--otp-watch-window", "48h"}, "--otp-watch-window must be between 0 and 24h"},
		{[]string{"--otp-watch-verify-percent", "101"}, "between 0 and 100"},
	} {
		if _, err := parseFraud(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}

// Whatever --otp-cost holds, the start either stops with a message or has
// prices that are numbers of money.
func FuzzOTPCost(f *testing.F) {
	for _, s := range []string{"US=0.0079,GB=0.04,*=0.05", "", "=", "*=NaN", "US=1e400", "us=,", ",,,", "FR=0x1p-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cfg, err := parseFraud("--otp-cost", raw)
		if err != nil {
			return
		}
		for k, v := range cfg.Fraud.Policy.Costs {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) || k == "" {
				t.Fatalf("%q gave %q=%v", raw, k, v)
			}
		}
	})
}

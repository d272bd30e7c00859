package web

import (
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"roster/models"
)

// FlagSetting is one flag's effective value and where it came from: the
// one source of the dashboard's settings page and the start-up log.
type FlagSetting struct {
	Name    string // flag name, without dashes
	Value   string // as the flag package writes it (flag.Value.String)
	Default string
	Source  string // "default", "flag" or "environment"
	Usage   string
}

// Setting sources.
const (
	SourceDefault = "default"
	SourceFlag    = "flag"
	SourceEnv     = "environment"
)

// sourceValue wraps a flag's value to note that the command line set it
// (the environment is applied before, through the unwrapped value).
type sourceValue struct {
	flag.Value
	set *bool
}

func (v sourceValue) Set(s string) error {
	*v.set = true
	return v.Value.Set(s)
}

// boolSourceValue keeps "--new-database" (no "=true") working: the flag package
// asks the value whether it is a bool flag.
type boolSourceValue struct{ sourceValue }

func (boolSourceValue) IsBoolFlag() bool { return true }

// trackSources wraps every flag of fs before the command line is parsed;
// the returned function lists the flags with their sources afterwards.
// fromEnv names the flags that the environment set.
func trackSources(fs *flag.FlagSet, fromEnv map[string]bool) func() []FlagSetting {
	fromFlag := map[string]*bool{}
	fs.VisitAll(func(f *flag.Flag) {
		set := new(bool)
		fromFlag[f.Name] = set
		sv := sourceValue{Value: f.Value, set: set}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			f.Value = boolSourceValue{sv}
		} else {
			f.Value = sv
		}
	})
	return func() []FlagSetting {
		var out []FlagSetting
		fs.VisitAll(func(f *flag.Flag) {
			src := SourceDefault
			switch {
			case *fromFlag[f.Name]:
				src = SourceFlag
			case fromEnv[f.Name]:
				src = SourceEnv
			}
			out = append(out, FlagSetting{Name: f.Name, Value: f.Value.String(), Default: f.DefValue, Source: src, Usage: f.Usage})
		})
		return out
	}
}

// LogValue is the configuration in the start-up log: the database, and
// every flag whose value differs from its default, as shown (the settings
// page's values and redaction).
func (cfg Config) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("database", cfg.databaseName())}
	for _, f := range cfg.Flags {
		if f.Value != f.Default {
			attrs = append(attrs, slog.String(f.Name, f.shown()))
		}
	}
	return slog.GroupValue(attrs...)
}

// shown is a flag's value as the dashboard's settings page and the start-up
// log show it: readable (durations as "7 days", not "168h0m0s"; yes and no)
// and redacted by one rule: the demo code and the test numbers' codes are
// hidden, and a URL loses its query and password (receivers often take a
// key there).
func (f FlagSetting) shown() string {
	switch f.Name {
	case "demo-code": // a code that signs in any number
		if f.Value == "" {
			return "off"
		}
		return "ON (the code is not shown)"
	case "test-numbers": // numbers with their fixed codes: the codes stay hidden
		var nums []string
		for _, item := range models.SplitList(f.Value) {
			n, _, _ := strings.Cut(item, ":")
			nums = append(nums, strings.TrimSpace(n)+" (code hidden)")
		}
		return noneIfEmpty(strings.Join(nums, ", "))
	}
	if strings.Contains(f.Value, "://") || f.Name == "s3-endpoint" {
		return noneIfEmpty(redactURL(f.Value))
	}
	if _, err := time.ParseDuration(f.Default); err == nil {
		if d, err := time.ParseDuration(f.Value); err == nil {
			return readableDuration(d)
		}
	}
	switch f.Value {
	case "true":
		return "yes"
	case "false":
		return "no"
	}
	return noneIfEmpty(strings.ReplaceAll(f.Value, ",", ", "))
}

func noneIfEmpty(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// readableDuration writes 168h as "7 days", 5m as "5 min", 90s as "1 min 30 s".
func readableDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	units := []struct {
		d          time.Duration
		one, other string
	}{{24 * time.Hour, " day", " days"}, {time.Hour, " h", " h"}, {time.Minute, " min", " min"}, {time.Second, " s", " s"}, {time.Millisecond, " ms", " ms"}}
	var parts []string
	for _, u := range units {
		if n := d / u.d; n > 0 {
			name := u.other
			if n == 1 {
				name = u.one
			}
			parts = append(parts, fmt.Sprintf("%d%s", n, name))
			d -= n * u.d
		}
	}
	return strings.Join(parts, " ")
}

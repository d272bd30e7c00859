package web

import (
	"flag"
)

// FlagSetting is one flag's effective value and where it came from, for
// the dashboard's settings page (which formats and redacts it).
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

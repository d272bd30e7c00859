package views

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AdminMeta is what every dashboard page's frame needs.
type AdminMeta struct {
	Title     string
	Section   string // nav item to highlight: overview, users, codes, outbox, audit, settings
	AdminName string
	AdminRole string
	CanWrite  bool
	// SecondFactor: the admin signs in with a code too, and may give one
	// where an action asks for the password again.
	SecondFactor bool
	CSRF         string
	DemoCodeOn   bool
	ShowOutbox   bool // the console channel is in use
	Now          time.Time
	Notice       *Notice

	// MesiboDegraded, when set, is the banner saying that mesibo refuses
	// Roster's requests (mesibo mode misconfigured).
	MesiboDegraded string
	// OwnerPasswordLeft is the path of the first start's password file
	// when deleting it failed: a banner asks to delete it.
	OwnerPasswordLeft string
}

// RecheckLabel is the label of the field that asks for the password
// again before a dangerous action.
func (m AdminMeta) RecheckLabel() string {
	if m.SecondFactor {
		return "Your password or authenticator code"
	}
	return "Your password"
}

// Notice is the visible answer to an action.
type Notice struct {
	OK   bool
	Text string
	// Near is the page section the action was in (its data-testid): the
	// notice is shown there, focused, instead of at the top; "" = the top.
	Near string
}

// HXHeaders is the hx-headers value that sends the CSRF token with every
// htmx request.
func (m AdminMeta) HXHeaders() string {
	return fmt.Sprintf(`{"X-CSRF-Token": %q}`, m.CSRF)
}

// htmxConfig swaps 4xx answers too (they carry the error notice) and keeps
// htmx from injecting an inline style (the CSP forbids it).
const htmxConfig = `{"includeIndicatorStyles":false,"responseHandling":[{"code":"204","swap":false},{"code":"[2345]..","swap":true,"error":false}]}`

// Ago writes a time relative to now: "3 min ago", "in 2 h".
func Ago(ms int64, now time.Time) string {
	d := now.Sub(time.UnixMilli(ms))
	suffix := " ago"
	if d < 0 {
		d, suffix = -d, ""
		return "in " + short(d)
	}
	if d < 45*time.Second {
		return "just now"
	}
	return short(d) + suffix
}

func short(d time.Duration) string {
	switch {
	case d < time.Hour:
		return strconv.Itoa(max(1, int(d.Round(time.Minute)/time.Minute))) + " min"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Round(time.Hour)/time.Hour)) + " h"
	case d < 60*24*time.Hour:
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	case d < 730*24*time.Hour:
		return strconv.Itoa(int(d/(30*24*time.Hour))) + " months"
	}
	return strconv.Itoa(int(d/(365*24*time.Hour))) + " years"
}

// Exact writes a time in full, UTC.
func Exact(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05 UTC") }

// BlockEnd writes when a block ends as the administrator chose it: a block
// "until 2027-01-15" is stored as the next midnight (UTC), the end of that
// day, and shown as "the end of 2027-01-15 (UTC)", not as the 16th.
func BlockEnd(until int64) string {
	t := time.UnixMilli(until).UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return "the end of " + t.AddDate(0, 0, -1).Format("2006-01-02") + " (UTC)"
	}
	return Exact(until)
}

// Plural is "1 session", "2 sessions", "1,234 sessions", for handlers'
// notices.
func Plural(n int, one, many string) string { return plural(int64(n), one, many) }

// ISO is the machine-readable form for <time datetime>.
func ISO(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }

// platformOf names the platform of an app's user agent (its HTTP
// library's word), "" when it is not one of those known. The apps' dt is a
// bare number whose meaning the protocol does not fix: the user agent is
// what tells an Android device from an iPhone.
func platformOf(userAgent string) string {
	ua := strings.ToLower(userAgent)
	switch {
	case strings.Contains(ua, "android") || strings.Contains(ua, "okhttp") || strings.Contains(ua, "dalvik"):
		return "Android"
	case strings.Contains(ua, "iphone") || strings.Contains(ua, "ipad") || strings.Contains(ua, "cfnetwork") || strings.Contains(ua, "darwin"):
		return "iOS"
	case strings.Contains(ua, "mozilla"):
		return "Browser"
	}
	return ""
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Num writes a count with thousands separators.
func Num(n int64) string { return num(n) }

func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return s
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// pluralSessions is the revoke-all button's count: "the 1 session", "all 3 sessions".
func pluralSessions(n int) string {
	if n == 1 {
		return "the 1 session"
	}
	return "all " + strconv.Itoa(n) + " sessions"
}

// countText is a bounded count: "1,234", or "100,000+" at the bound.
func countText(n, bound int64) string {
	if bound > 0 && n >= bound {
		return num(bound) + "+"
	}
	return num(n)
}

// displayName is a group's name as the dashboard shows it: "(no name)"
// for an empty one.
func displayName(name string) string {
	if name == "" {
		return "(no name)"
	}
	return name
}

// plural writes a count with its noun: "1 entry", "1,234 entries".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return num(n) + " " + many
}

package clientip

import (
	"net/netip"
	"strings"
	"testing"
)

func TestClient(t *testing.T) {
	r, err := New([]string{"10.0.0.0/8", "192.0.2.1", "2001:db8:ffff::/48"})
	if err != nil {
		t.Fatal(err)
	}
	proxy := netip.MustParseAddr("10.0.0.1")
	for _, c := range []struct {
		remote string
		header []string
		want   string
	}{
		{"10.0.0.1", nil, "10.0.0.1"},                                                     // no header: the socket
		{"198.51.100.9", []string{"203.0.113.7"}, "198.51.100.9"},                         // untrusted peer: header ignored
		{"10.0.0.1", []string{"203.0.113.7"}, "203.0.113.7"},                              // one proxy
		{"10.0.0.1", []string{"6.6.6.6, 203.0.113.7"}, "203.0.113.7"},                     // what the client wrote is left of it
		{"10.0.0.1", []string{"6.6.6.6, 203.0.113.7, 10.9.9.9"}, "203.0.113.7"},           // a chain of trusted proxies
		{"10.0.0.1", []string{"6.6.6.6", "203.0.113.7, 192.0.2.1"}, "203.0.113.7"},        // several header lines
		{"10.0.0.1", []string{"10.2.2.2, 10.3.3.3"}, "10.2.2.2"},                          // all trusted: the leftmost
		{"10.0.0.1", []string{"6.6.6.6, junk"}, "10.0.0.1"},                               // nonsense: the last known hop
		{"10.0.0.1", []string{"203.0.113.7:4711"}, "203.0.113.7"},                         // with a port
		{"10.0.0.1", []string{"[2001:db8::1]:80"}, "2001:db8::1"},                         // IPv6 with a port
		{"10.0.0.1", []string{"::ffff:203.0.113.7"}, "203.0.113.7"},                       // mapped
		{"::ffff:10.0.0.1", []string{"203.0.113.7"}, "203.0.113.7"},                       // mapped peer
		{"2001:db8:ffff::1", []string{"2001:db8:1::5"}, "2001:db8:1::5"},                  // IPv6 proxy
		{"10.0.0.1", []string{"0.0.0.0"}, "10.0.0.1"},                                     // unspecified is not a client
		{"10.0.0.1", []string{", ,203.0.113.7,"}, "203.0.113.7"},                          // empty entries
		{"10.0.0.1", []string{strings.Repeat("10.1.1.1,", 100) + "10.1.1.2"}, "10.1.1.1"}, // bounded walk
	} {
		got := r.Client(netip.MustParseAddr(c.remote), c.header)
		if got.String() != c.want {
			t.Errorf("%s %q: %s, want %s", c.remote, c.header, got, c.want)
		}
	}
	none, _ := New(nil)
	if got := none.Client(proxy, []string{"203.0.113.7"}); got != proxy || none.Trusts() {
		t.Errorf("no trusted proxies: %s", got)
	}
	if _, err := New([]string{"nope"}); err == nil {
		t.Error("accepted a bad proxy")
	}
}

// FuzzClient: whatever the header holds, the client is a valid address,
// the socket's when the peer is not trusted, else one the header or the
// socket names.
func FuzzClient(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "6.6.6.6, 203.0.113.7, 10.9.9.9", "junk", "[::1]:80", "", ",,,", "::ffff:1.2.3.4%eth0"} {
		f.Add("10.0.0.1", s)
		f.Add("198.51.100.9", s)
	}
	r, err := New([]string{"10.0.0.0/8", "::1"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, remote, header string) {
		ra, err := netip.ParseAddr(remote)
		if err != nil {
			return
		}
		got := r.Client(ra, []string{header})
		if !got.IsValid() {
			t.Fatalf("invalid client for %q %q", remote, header)
		}
		ra = ra.Unmap().WithZone("")
		if !r.isTrusted(ra) && got != ra {
			t.Fatalf("untrusted peer %s: got %s", ra, got)
		}
		if got != ra && !strings.Contains(header, got.String()) {
			// The header may write it differently (mapped, with a port, a
			// longer IPv6 form): it must at least parse to it.
			found := false
			for _, e := range strings.Split(header, ",") {
				if a, ok := ParseEntry(strings.TrimSpace(e)); ok && a == got {
					found = true
				}
			}
			if !found {
				t.Fatalf("%s is neither the socket %s nor in %q", got, ra, header)
			}
		}
	})
}

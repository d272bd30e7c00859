// Package clientip finds the address of the client behind trusted reverse
// proxies, as nginx's real_ip_recursive does: the forwarding header is read
// from the right (each proxy appends the address it received the request
// from), trusted proxies are skipped, and the first address that is not a
// trusted proxy is the client. Whatever a client writes into the header
// itself lies to the left of that and is never believed.
package clientip

import (
	"fmt"
	"net/netip"
	"strings"
)

// maxHops bounds the walk: a header of thousands of entries costs no more
// than this many parses.
const maxHops = 32

// Resolver knows the trusted proxies.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a resolver trusting the given IPs and CIDRs.
func New(trusted []string) (*Resolver, error) {
	r := &Resolver{}
	for _, t := range trusted {
		t = strings.TrimSpace(t)
		if p, err := netip.ParsePrefix(t); err == nil {
			r.trusted = append(r.trusted, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(t)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP nor a CIDR", t)
		}
		a = a.Unmap().WithZone("")
		r.trusted = append(r.trusted, netip.PrefixFrom(a, a.BitLen()))
	}
	return r, nil
}

// Trusts reports whether any proxy is trusted (else headers are ignored).
func (r *Resolver) Trusts() bool { return len(r.trusted) > 0 }

// IsTrusted reports whether a is a trusted proxy.
func (r *Resolver) IsTrusted(a netip.Addr) bool { return r.isTrusted(a.Unmap().WithZone("")) }

func (r *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the client's address for a request that came from remote
// (the socket's peer) with the given values of the forwarding header (every
// occurrence, in order). It never returns an invalid address when remote is
// valid: without trusted proxies, or when remote is not one, it is remote.
func (r *Resolver) Client(remote netip.Addr, header []string) netip.Addr {
	remote = remote.Unmap().WithZone("")
	if !r.isTrusted(remote) {
		return remote
	}
	client := remote
	hops := 0
	for i := len(header) - 1; i >= 0; i-- {
		rest := header[i]
		for rest != "" {
			var entry string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			} else {
				entry, rest = rest, ""
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			if hops++; hops > maxHops {
				return client
			}
			a, ok := ParseEntry(entry)
			if !ok {
				// A trusted proxy wrote nonsense: keep the last address
				// it is known to have received from.
				return client
			}
			client = a
			if !r.isTrusted(a) {
				return a
			}
		}
	}
	// Every hop is a trusted proxy: the leftmost is the client.
	return client
}

// ParseEntry reads one entry of a forwarding header: an IPv4 or IPv6
// address, optionally with a port ("1.2.3.4:5", "[::1]:5") as some proxies
// write it. IPv4-mapped IPv6 addresses become IPv4; zones are dropped.
func ParseEntry(s string) (netip.Addr, bool) {
	if len(s) > 64 {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return normal(a)
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normal(ap.Addr())
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return normal(a)
		}
	}
	return netip.Addr{}, false
}

func normal(a netip.Addr) (netip.Addr, bool) {
	a = a.Unmap().WithZone("")
	if !a.IsValid() || a.IsUnspecified() {
		return netip.Addr{}, false
	}
	return a, true
}

package web

import (
	"fmt"
	"net/netip"

	"github.com/gofiber/fiber/v2"
	"github.com/oschwald/maxminddb-golang/v2"

	"roster/models"
)

// The country of a request's client, stored on the sessions sign-ins make
// and shown in `sessions` and on the dashboard: a trusted proxy's country
// header (--client-country-header), believed only from a trusted proxy as
// the client-IP header is, else the --geoip-db's entry for the client's
// address (the one realClientIP found), else not known.

// openGeoIP opens the country database, if one is configured.
func openGeoIP(path string) (*maxminddb.Reader, error) {
	if path == "" {
		return nil, nil
	}
	db, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--geoip-db: %w", err)
	}
	return db, nil
}

// geoIPRecord is the part of a country database's entry Roster reads; the
// MaxMind and DB-IP country databases share it.
type geoIPRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
}

// clientCountry is the country of the request's client ("": not known).
func (s *Server) clientCountry(c *fiber.Ctx) string {
	if s.cfg.CountryHeader != "" && s.clientIP.IsTrusted(socketPeer(c)) {
		if cc := models.CleanCountry(c.Get(s.cfg.CountryHeader)); cc != "" {
			return cc
		}
	}
	if s.geoIP == nil {
		return ""
	}
	ip, err := netip.ParseAddr(c.IP())
	if err != nil {
		return ""
	}
	var rec geoIPRecord
	// An address the database does not cover (or an IPv6 one in an IPv4
	// database) is not known, not an error.
	if err := s.geoIP.Lookup(ip.Unmap()).Decode(&rec); err != nil {
		return ""
	}
	return models.CleanCountry(rec.Country.ISOCode)
}

// socketPeer is the address of the connection's other end (the proxy in
// front of Roster, or the client), read from the connection itself.
func socketPeer(c *fiber.Ctx) netip.Addr {
	if conn := c.Context().Conn(); conn != nil {
		if ap, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err == nil {
			return ap.Addr()
		}
	}
	return netip.Addr{}
}

// closeGeoIP releases the country database, if one is open.
func (s *Server) closeGeoIP() error {
	if s.geoIP == nil {
		return nil
	}
	return s.geoIP.Close()
}

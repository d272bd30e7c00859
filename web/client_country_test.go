package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"roster/web/webtest"
)

// signInWith signs the number in, the code's check sent with these
// headers, and returns the country `sessions` lists for the new session.
func signInWith(t *testing.T, e *webtest.Env, phone string, headers map[string]string) string {
	t.Helper()
	e.JSON(webtest.LoginParams(phone)).ExpectOK(t)
	p := webtest.LoginParams(phone)
	p["otp"], p["device"] = e.LastCode("+"+phone), "phone"
	body, _ := json.Marshal(p)
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	r := e.Do(req)
	r.ExpectOK(t)
	list := e.JSON(map[string]any{"op": "sessions", "token": r.String("token")})
	list.ExpectOK(t)
	var reply struct {
		Sessions []struct {
			Country *string `json:"country"`
			Current bool    `json:"current"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(list.Body, &reply); err != nil || len(reply.Sessions) == 0 || reply.Sessions[0].Country == nil {
		t.Fatalf("sessions reply %s (err %v)", list.Body, err)
	}
	return *reply.Sessions[0].Country
}

// A trusted proxy's country header is stored on the session a sign-in
// makes (upper-cased, and only a two-letter code: "XX", Cloudflare's "not
// known", and anything else are not), listed by `sessions` and shown on
// the dashboard's user page. From a peer that is not a trusted proxy the
// header is not believed.
func TestSessionCountryFromProxyHeader(t *testing.T) {
	e := webtest.NewPeople(t, "--trusted-proxies", "0.0.0.0", "--client-country-header", "CF-IPCountry")
	for i, c := range []struct{ header, want string }{
		{"fr", "FR"}, {"XX", ""}, {"T1", ""}, {"France", ""}, {"", ""},
	} {
		phone := "120155501" + strconv.Itoa(10+i)
		if got := signInWith(t, e, phone, map[string]string{"CF-IPCountry": c.header}); got != c.want {
			t.Errorf("CF-IPCountry %q: country %q, want %q", c.header, got, c.want)
		}
	}
	var uid string
	e.Server.DB().Read.Raw("SELECT CAST(user_id AS TEXT) FROM sessions WHERE country = 'FR'").Scan(&uid)
	a := e.AdminLogin("alice", "viewer")
	if got := a.Get("/admin/users/"+uid).TestIDText(t, "session-country"); got != "FR" {
		t.Errorf("the user page shows the country %q", got)
	}

	untrusted := webtest.NewPeople(t, "--trusted-proxies", "192.0.2.1", "--client-country-header", "CF-IPCountry")
	if got := signInWith(t, untrusted, "12015550120", map[string]string{"CF-IPCountry": "FR"}); got != "" {
		t.Errorf("a header from a peer that is not a trusted proxy gave the country %q", got)
	}
}

// testCountryDB writes a MaxMind DB (format 2.0, IPv4, one node of the
// search tree) whose addresses 0.0.0.0/1 are in Germany and 128.0.0.0/1 in
// no entry: the format's search tree, data section and metadata, written
// as its specification lays them out (no writer library is available).
func testCountryDB(t *testing.T) string {
	t.Helper()
	str := func(s string) []byte { return append([]byte{0x40 | byte(len(s))}, s...) } // UTF-8 string, < 29 bytes
	u16 := func(v byte) []byte { return []byte{0xA1, v} }                             // uint16 of one byte
	var b bytes.Buffer
	// The tree: node 0's left record (first bit 0) points into the data
	// section (node count 1 + 16 + offset 0), its right record is "none" (1).
	b.Write([]byte{0x00, 0x00, 0x11, 0x00, 0x00, 0x01})
	b.Write(make([]byte, 16)) // the data section separator
	b.WriteByte(0xE1)         // {"country": {"iso_code": "DE"}}
	b.Write(str("country"))
	b.WriteByte(0xE1)
	b.Write(str("iso_code"))
	b.Write(str("DE"))
	b.WriteString("\xAB\xCD\xEFMaxMind.com")
	b.WriteByte(0xE9) // the metadata: a map of 9 entries
	for _, kv := range [][2][]byte{
		{str("binary_format_major_version"), u16(2)},
		{str("binary_format_minor_version"), {0xA0}},
		{str("build_epoch"), {0x01, 0x02, 0x01}}, // uint64 (extended type 9)
		{str("database_type"), str("Roster-Test-Country")},
		{str("description"), {0xE0}},
		{str("ip_version"), u16(4)},
		{str("languages"), {0x00, 0x04}}, // an empty array (extended type 11)
		{str("node_count"), {0xC1, 0x01}},
		{str("record_size"), u16(24)},
	} {
		b.Write(kv[0])
		b.Write(kv[1])
	}
	path := filepath.Join(t.TempDir(), "country.mmdb")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// With --geoip-db, a sign-in's country is its address's entry in the
// database; an address without one is not known; a trusted proxy's country
// header says it first.
func TestSessionCountryFromGeoIPDB(t *testing.T) {
	db := testCountryDB(t)
	e := webtest.NewPeople(t, "--geoip-db", db, "--trusted-proxies", "0.0.0.0", "--client-country-header", "CF-IPCountry")
	for i, c := range []struct {
		headers map[string]string
		want    string
	}{
		{nil, "DE"}, // the test's requests come from 0.0.0.0
		{map[string]string{"X-Forwarded-For": "10.1.2.3"}, "DE"},
		{map[string]string{"X-Forwarded-For": "203.0.113.9"}, ""},
		{map[string]string{"X-Forwarded-For": "2001:db8::1"}, ""}, // IPv6 in an IPv4 database
		{map[string]string{"X-Forwarded-For": "203.0.113.9", "CF-IPCountry": "NL"}, "NL"},
	} {
		phone := "120155501" + strconv.Itoa(30+i)
		if got := signInWith(t, e, phone, c.headers); got != c.want {
			t.Errorf("%v: country %q, want %q", c.headers, got, c.want)
		}
	}
}

// A --geoip-db that is not a country database stops the start with a
// sentence naming the flag.
func TestGeoIPDBUnreadable(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "not.mmdb")
	if err := os.WriteFile(bad, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	expectStartFailure(t, []string{"--geoip-db", bad}, func(string) string { return "" }, "--geoip-db")
}

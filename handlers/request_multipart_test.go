package handlers_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"roster/web/webtest"
)

// A malformed multipart body gets the protocol's envelope, BADREQUEST,
// never an HTML page or the multipart library's words.
func TestMalformedMultipart(t *testing.T) {
	e := webtest.New(t)
	base := e.Listen()
	for _, c := range []struct{ ct, body string }{
		{"multipart/form-data; boundary=xyz", "garbage"},
		{"multipart/form-data", "garbage"},
		{"multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"op\"\r\n\r\nlogin\r\n--xyz"},
		{"multipart/form-data; boundary=", "--\r\n"},
	} {
		for _, path := range []string{"/api.php", "/"} {
			res, err := http.Post(base+path, c.ct, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var env map[string]any
			if err := json.Unmarshal(body, &env); err != nil || env["error"] != "BADREQUEST" || res.StatusCode != http.StatusOK {
				t.Errorf("%s %q: %d %s", path, c.ct, res.StatusCode, body)
				continue
			}
			msg, _ := env["errmsg"].(string)
			if strings.Contains(strings.ToLower(msg), "multipart:") || strings.Contains(msg, "NextPart") || strings.Contains(msg, "EOF") {
				t.Errorf("%s: the library's message reached the app: %q", path, msg)
			}
		}
	}
}

// A request the HTTP server itself cannot read, outside the op endpoint,
// gets a page without the library's words.
func TestUnreadableRequestPage(t *testing.T) {
	e := webtest.New(t)
	base := e.Listen()
	res, err := http.Post(base+"/admin/login", "multipart/form-data; boundary=xyz", strings.NewReader("garbage"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(string(body), "multipart") || strings.Contains(string(body), "EOF") {
		t.Errorf("%d %s", res.StatusCode, body)
	}
}

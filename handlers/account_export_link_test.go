package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"roster/models"
	"roster/web/webtest"
)

// exportLink asks for an export link and returns its path and query (the
// server's base URL cut off) and the reply.
func exportLink(t testing.TB, e *webtest.Env, token string) (string, *webtest.Response) {
	t.Helper()
	r := e.JSON(map[string]any{"op": "exportaccount", "token": token})
	r.ExpectOK(t)
	path, ok := strings.CutPrefix(r.String("url"), e.Config.BaseURL)
	if !ok || !strings.HasPrefix(path, "/api/export?key=") {
		t.Fatalf("exportaccount reply %s", r.Body)
	}
	return path, r
}

// exportBody downloads the caller's export through its link, as a
// browser does (no access token).
func exportBody(t testing.TB, e *webtest.Env, token string) []byte {
	t.Helper()
	path, _ := exportLink(t, e, token)
	r := e.Do(httptest.NewRequest(http.MethodGet, path, nil))
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET the export: %d %s: %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	return r.Body
}

// An export link is served once, within its 15 minutes, to whoever opens
// it (a browser, without the access token), and then is gone; an expired
// link, a link replaced by a newer one, an access token or a made-up key
// are the same 404. The reply carries the link, not the document; the key
// is nowhere in the log; asking and downloading are both audited.
func TestExportLink(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "phone")
	bob := e.SignIn(bobPhone, "bob")
	get := func(path string) *webtest.Response {
		return e.Do(httptest.NewRequest(http.MethodGet, path, nil))
	}
	gone := func(name string, r *webtest.Response) {
		t.Helper()
		if r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), "ask the app for a new export") {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}

	path, reply := exportLink(t, e, alice)
	if reply.String("expires") != strconv.FormatInt(e.Clock.Now().Add(15*time.Minute).Unix(), 10) || reply.String("account") != "" {
		t.Errorf("reply %s", reply.Body)
	}
	key := strings.TrimPrefix(path, "/api/export?key=")
	first := get(path)
	if first.Status != http.StatusOK || !strings.Contains(string(first.Body), `"phone": "+`+alicePhone+`"`) ||
		!strings.Contains(first.Header.Get("Content-Disposition"), "attachment") || first.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("first GET: %d %v %s", first.Status, first.Header, first.Body)
	}
	gone("the second GET", get(path))

	path, _ = exportLink(t, e, alice)
	e.Clock.Advance(15 * time.Minute)
	gone("after 15 minutes", get(path))

	old, _ := exportLink(t, e, alice)
	newer, _ := exportLink(t, e, alice)
	gone("a link replaced by a newer one", get(old))
	gone("an access token as the key", get("/api/export?key="+alice))
	gone("bob's access token as the key", get("/api/export?key="+bob))
	gone("a made-up key", get("/api/export?key="+strings.Repeat("0", 64)))
	gone("no key", get("/api/export"))
	gone("a key that is not hex", get("/api/export?key="+strings.Repeat("z", 64)))
	if r := get(newer); r.Status != http.StatusOK {
		t.Errorf("the newest link: %d", r.Status)
	}

	if strings.Contains(e.Logs(), key) || strings.Contains(e.Logs(), alice) {
		t.Error("the log holds an export key or an access token")
	}
	if !strings.Contains(e.Logs(), `path=/api/export`) {
		t.Error("the access log has no line for the downloads: the check above proves nothing")
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = ? AND phone = ?", models.EventAccountExportLink, "+"+alicePhone); n != 4 {
		t.Errorf("%d account_export_link entries, want 4", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM audit_log WHERE type = ? AND phone = ? AND detail = 'downloaded from its link'", models.EventAccountExported, "+"+alicePhone); n != 2 {
		t.Errorf("%d account_exported entries, want 2", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM account_exports"); n != 0 {
		t.Errorf("%d export links left after the newest was used", n)
	}
	// The user's page on the dashboard lists both kinds among her activity.
	var uid int64
	e.Server.DB().Read.Raw("SELECT id FROM users WHERE phone = ?", "+"+alicePhone).Scan(&uid)
	activity := e.AdminLogin("root", "viewer").Get("/admin/users/"+strconv.FormatInt(uid, 10)).TestID(t, "activity")
	types := map[string]int{}
	activity.Find(webtest.TestIDSelector("audit-row")).Each(func(_ int, row *goquery.Selection) {
		types[strings.TrimSpace(row.Find("code").Text())]++
	})
	if types[models.EventAccountExportLink] != 4 || types[models.EventAccountExported] != 2 {
		t.Errorf("the user page's activity lists %v", types)
	}
}

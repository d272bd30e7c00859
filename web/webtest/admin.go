package webtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"

	"roster/models"
)

// AdminPassword is the password of admins made by NewAdmin.
const AdminPassword = "correct horse battery staple"

// NewAdmin creates an admin account with AdminPassword.
func (e *Env) NewAdmin(name, role string) {
	e.T.Helper()
	if _, err := e.Server.Admins().Create(context.Background(), name, role, AdminPassword, "system", models.ClientInfo{}); err != nil {
		e.T.Fatalf("create admin %s: %v", name, err)
	}
}

// AdminClient is a browser for the dashboard: it keeps cookies and the
// CSRF token of the last page. Like a browser's tabs, requests may be sent
// from several goroutines at once; the fields are read and set directly
// only between requests.
type AdminClient struct {
	E       *Env
	Cookies map[string]string
	CSRF    string

	mu sync.Mutex // guards Cookies and CSRF while requests are under way
}

// Browser returns a client without a session.
func (e *Env) Browser() *AdminClient {
	return &AdminClient{E: e, Cookies: map[string]string{}}
}

// AdminLogin creates an admin with the role and signs in as it.
func (e *Env) AdminLogin(name, role string) *AdminClient {
	e.T.Helper()
	e.NewAdmin(name, role)
	a := e.Browser()
	r := a.Login(name, AdminPassword)
	if r.Status != http.StatusSeeOther {
		e.T.Fatalf("admin sign-in: %d %s", r.Status, r.Body)
	}
	a.Get("/admin/") // picks up the CSRF token
	if a.CSRF == "" {
		e.T.Fatal("no CSRF token on the overview page")
	}
	return a
}

// Login fetches the sign-in form and posts it.
func (a *AdminClient) Login(name, password string) *Response {
	a.E.T.Helper()
	a.Get("/admin/login")
	return a.PostForm("/admin/login", map[string]string{"name": name, "password": password}, nil)
}

// Do sends a request with the client's cookies and keeps the ones set.
func (a *AdminClient) Do(req *http.Request) *Response {
	a.E.T.Helper()
	var parts []string
	a.mu.Lock()
	for k, v := range a.Cookies {
		parts = append(parts, k+"="+v)
	}
	a.mu.Unlock()
	if len(parts) > 0 {
		req.Header.Set("Cookie", strings.Join(parts, "; "))
	}
	r := a.E.Do(req)
	token, hasToken := "", false
	if strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		token, hasToken = r.HTML(a.E.T).Find(`input[name="_csrf"]`).Attr("value")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(a.Cookies, c.Name)
		} else {
			a.Cookies[c.Name] = c.Value
		}
	}
	if hasToken {
		a.CSRF = token
	}
	return r
}

// Get fetches a page.
func (a *AdminClient) Get(path string) *Response {
	a.E.T.Helper()
	return a.Do(httptest.NewRequest(http.MethodGet, path, nil))
}

// Post submits a form with the current CSRF token, as a browser without
// JavaScript does, and follows a 303 redirect to the page it names.
func (a *AdminClient) Post(path string, form map[string]string) *Response {
	a.E.T.Helper()
	f := map[string]string{"_csrf": a.CSRF}
	for k, v := range form {
		f[k] = v
	}
	r := a.PostForm(path, f, nil)
	if r.Status == http.StatusSeeOther {
		return a.Get(r.Header.Get("Location"))
	}
	return r
}

// HTMX submits a form as htmx does: the CSRF token in a header, and the
// answer (the page with its notice) swapped in place, never a redirect.
func (a *AdminClient) HTMX(path string, form map[string]string) *Response {
	a.E.T.Helper()
	return a.PostForm(path, form, map[string]string{"HX-Request": "true", "X-CSRF-Token": a.CSRF})
}

// PostForm submits exactly these fields and headers.
func (a *AdminClient) PostForm(path string, form, headers map[string]string) *Response {
	a.E.T.Helper()
	v := url.Values{}
	for k, s := range form {
		v.Set(k, s)
	}
	if path == "/admin/login" {
		if _, ok := form["_csrf"]; !ok {
			v.Set("_csrf", a.CSRF)
		}
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, s := range headers {
		req.Header.Set(k, s)
	}
	return a.Do(req)
}

// SignedInUser signs a number in from an app and returns its user id (as
// text, for dashboard paths) and session token.
func (e *Env) SignedInUser(digits, device string) (id, token string) {
	e.T.Helper()
	token = e.SignIn(digits, device)
	if err := e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = ?", "+"+digits).Scan(&id).Error; err != nil || id == "" {
		e.T.Fatalf("no user for %s: %v", digits, err)
	}
	return id, token
}

// DeleteUser deletes the user with the E.164 number as an owner does on
// the dashboard, and fails the test unless the user is gone.
func (e *Env) DeleteUser(e164 string) {
	e.T.Helper()
	var uid string
	e.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM users WHERE phone = ?", e164).Scan(&uid)
	a := e.AdminLogin("deleter", "owner")
	a.Post("/admin/users/"+uid+"/delete", map[string]string{"password": AdminPassword, "confirm": e164})
	if n := e.Count("SELECT COUNT(*) FROM users WHERE phone = ?", e164); n != 0 {
		e.T.Fatalf("the user %s was not deleted", e164)
	}
}

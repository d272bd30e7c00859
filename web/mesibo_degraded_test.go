// mesibo mode degraded: a rotated app token, and what reports it.

package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"roster/web"
	"roster/web/webtest"
)

// The app token Roster has is no longer mesibo's (rotated in mesibo's
// console): the logout's job gets AUTHFAIL. mesibo mode is marked degraded
// (banner on every dashboard page, the overview's health panel, metric) and
// the job is kept, past its attempt limit, until the token works again;
// then it goes out and the banner goes away.
func TestMesiboMisconfiguredAppTokenDegradesAndKeepsJobs(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, mesiboAppToken)
	e := mesiboEnv(t, fake)
	tok := signInMesibo(t, e, webtest.USPhone, "a").String("token")
	fake.SetAppToken("rotated-app-token-0000000000000")
	e.JSON(map[string]any{"op": "logout", "token": tok}).ExpectOK(t)
	for range 8 { // testWorker gives up ordinary jobs after 3 attempts
		runJobs(e)
		e.Clock.Advance(time.Minute)
	}
	row := lastOutbox(t, e)
	if row.State != "pending" || row.Attempts != 8 || row.LastError != "mesibo userdel: AUTHFAIL (invalid app token)" {
		t.Fatalf("job %+v", row)
	}
	a := e.AdminLogin("alice", "owner")
	for _, p := range []string{"/admin/", "/admin/users", "/admin/audit", "/admin/settings"} {
		expectIn(t, a.Get(p), `data-testid="mesibo-degraded-banner"`, "mesibo mode is degraded", "mesibo userdel: AUTHFAIL (invalid app token)")
	}
	if r := e.Do(httptestGet("/readyz")); r.Status != 200 || string(r.Body) != "ready" {
		t.Errorf("/readyz %d %s", r.Status, r.Body)
	}
	if got := a.Get("/admin/").TestIDText(t, "health-note"); !strings.Contains(got, "mesibo userdel: AUTHFAIL (invalid app token)") {
		t.Errorf("the overview's health note says %q", got)
	}
	if r := e.Metrics(); !strings.Contains(string(r.Body), "roster_mesibo_degraded 1") {
		t.Error("no degraded metric")
	}
	if strings.Contains(e.Logs(), mesiboAppToken) || !strings.Contains(e.Logs(), "mesibo mode degraded") {
		t.Error("the log has the app token, or says nothing of the degraded mode")
	}

	fake.SetAppToken(mesiboAppToken) // the operator fixed it
	e.Clock.Advance(time.Hour)
	runJobs(e)
	if row := lastOutbox(t, e); row.State != "sent" || fake.TokenValid(tok) {
		t.Errorf("after the fix: %+v", row)
	}
	if r := a.Get("/admin/"); strings.Contains(string(r.Body), "mesibo-degraded-banner") {
		t.Error("the banner stayed after the fix")
	}
	if r := e.Do(httptestGet("/readyz")); string(r.Body) != "ready" {
		t.Errorf("/readyz %s", r.Body)
	}
}

func httptestGet(path string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, path, nil)
	return req
}

// What reports the degraded state, and the flag that makes it fail
// readiness.
func TestMesiboDegradedReports(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, "another-app-token-0000000000000")
	env := webtest.WithOptions(func(o *web.Options) {
		o.Getenv = func(k string) string { return map[string]string{"ROSTER_MESIBO_APP_TOKEN": mesiboAppToken}[k] }
		o.Worker = testWorker
	})
	failedSignIn := func(t testing.TB, e *webtest.Env) {
		e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
		e.Verify(webtest.USPhone, e.LastCode("+"+webtest.USPhone)).ExpectFail(t, "BADUSER")
	}
	webtest.Run(t, []webtest.Scenario{
		{Name: "healthy: ready", URL: "/readyz", Options: []webtest.Option{webtest.WithArgs(mesiboArgs(fake)...), env},
			ExpectedContent: []string{"ready"}, NotExpectedContent: []string{"degraded"}},
		// /readyz is public: its body is the status alone, the reason is
		// on the dashboard.
		{Name: "degraded: still ready, the reason only on the dashboard", URL: "/readyz", Options: []webtest.Option{webtest.WithArgs(mesiboArgs(fake)...), env},
			Before: failedSignIn, After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				if string(r.Body) != "ready" {
					t.Errorf("/readyz says %q", r.Body)
				}
				page := e.AdminLogin("alice", "viewer").Get("/admin/")
				if got := page.TestIDText(t, "health-note"); !strings.Contains(got, "mesibo useradd: AUTHFAIL (invalid app token)") {
					t.Errorf("health note %q", got)
				}
				if n := page.CountTestID(t, "health-problem"); n != 0 {
					t.Errorf("%d health problems, want none", n)
				}
			}},
		{Name: "degraded with --mesibo-degraded-unready: not ready, the reason only on the dashboard", URL: "/readyz",
			Options: []webtest.Option{webtest.WithArgs(mesiboArgs(fake, "--mesibo-degraded-unready")...), env},
			Before:  failedSignIn, ExpectedStatus: http.StatusServiceUnavailable,
			After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
				if string(r.Body) != "not ready" {
					t.Errorf("/readyz says %q", r.Body)
				}
				page := e.AdminLogin("alice", "viewer").Get("/admin/")
				if got := page.TestIDText(t, "health-problem"); !strings.Contains(got, "mesibo useradd: AUTHFAIL (invalid app token)") {
					t.Errorf("health problem %q", got)
				}
				if got := page.TestIDText(t, "health-status"); !strings.Contains(got, "not ready") {
					t.Errorf("health status %q", got)
				}
			}},
		{Name: "degraded: metric", URL: "/livez", Options: []webtest.Option{webtest.WithArgs(mesiboArgs(fake)...), env},
			Before: failedSignIn, After: func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
				if !strings.Contains(string(e.Metrics().Body), "roster_mesibo_degraded 1") {
					t.Error("no degraded metric")
				}
			}},
		{Name: "local mode: no mesibo metric", URL: "/livez", After: func(t testing.TB, e *webtest.Env, _ *webtest.Response) {
			if strings.Contains(string(e.Metrics().Body), "roster_mesibo_degraded") {
				t.Error("a mesibo metric in local mode")
			}
		}},
	})
}

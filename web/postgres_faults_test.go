package web_test

import (
	"sync"
	"testing"
	"time"

	"roster/models/pgtest"
	"roster/web"
	"roster/web/webtest"
)

// freezeLength is how long the frozen-database tests keep PostgreSQL from
// answering: a request still waiting then has waited for the database
// instead of its own deadline.
const freezeLength = 30 * time.Second

// TestFrozenPostgresAnswersBusy: while PostgreSQL answers nothing (a frozen
// server, a stalled network), reads on open connections, writes, and
// requests that need a new connection all end at --request-timeout with
// BUSY and retry_after, instead of waiting for the server to come back.
func TestFrozenPostgresAnswersBusy(t *testing.T) {
	proxy := pgtest.NewProxy(t, pgtest.Fresh(t))
	e := webtest.New(t, webtest.WithArgs("--otp-ip-hourly", "0", "--database-url", proxy.URL(), "--request-timeout", "1s"),
		func(_ *web.Config, o *web.Options) { o.Getenv = clusterKeys })
	token := e.SignIn("12015550131", "phone")
	e.GetContacts(t, token, map[string]any{}) // connections are open and idle

	proxy.Freeze()
	thaw := time.AfterFunc(freezeLength, proxy.Thaw)
	defer thaw.Stop()
	defer proxy.Thaw()
	requests := map[string]map[string]any{
		"read":  {"op": "getcontacts", "token": token},
		"write": {"op": "profile", "token": token, "name": "Frozen"},
		"code":  {"op": "login", "appid": "test.app", "phone": "12015550132"},
	}
	var wg sync.WaitGroup
	for name, params := range requests {
		for i := range 3 { // more at once than idle connections: some dial
			wg.Go(func() {
				start := time.Now()
				r := e.JSON(params)
				took := time.Since(start)
				if took > freezeLength/2 {
					t.Errorf("%s %d: answered after %s, when the database came back", name, i, took)
				}
				if r.String("error") != "BUSY" || r.String("retry_after") == "" {
					t.Errorf("%s %d: want BUSY with retry_after, got %s", name, i, r.Body)
				}
			})
		}
	}
	wg.Wait()
}

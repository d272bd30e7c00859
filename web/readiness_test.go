package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// refuseWrites makes every UPDATE of the tables fail as on a full disk,
// until the returned function is called. On SQLite a trigger on the writer's
// connection writes into a temporary table whose page count is capped
// (PRAGMA max_page_count): SQLite's own SQLITE_FULL. On PostgreSQL a
// trigger raises SQLSTATE 53100 (disk_full), what a full disk gives there.
func refuseWrites(t *testing.T, e *webtest.Env, tables ...string) (restore func()) {
	t.Helper()
	db := e.Server.DB()
	exec := func(q string) {
		t.Helper()
		if err := db.Write.Exec(q).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var undo []string
	if db.Postgres() {
		exec(`CREATE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
			RAISE EXCEPTION 'could not extend file: No space left on device (simulated)' USING ERRCODE = 'disk_full';
			END $$`)
		for _, table := range tables {
			exec(`CREATE TRIGGER refuse_write BEFORE UPDATE ON ` + table + ` FOR EACH ROW EXECUTE FUNCTION refuse_write()`)
			undo = append(undo, `DROP TRIGGER refuse_write ON `+table)
		}
		undo = append(undo, `DROP FUNCTION refuse_write()`)
	} else {
		exec(`CREATE TEMP TABLE ballast (b BLOB)`)
		exec(`PRAGMA temp.max_page_count = 1`) // as small as it goes: the table's pages
		for _, table := range tables {
			exec(`CREATE TEMP TRIGGER refuse_write_` + table + ` BEFORE UPDATE ON main.` + table +
				` BEGIN INSERT INTO ballast VALUES (zeroblob(65536)); END`)
			undo = append(undo, `DROP TRIGGER temp.refuse_write_`+table)
		}
	}
	return func() {
		for _, q := range undo {
			exec(q)
		}
	}
}

// While the database refuses writes (a full disk), reads are answered,
// also those whose session "last used" time falls due, on the op endpoint
// and on the dashboard; /readyz says not ready, and the overview says why;
// once writes go through again, readiness comes back by itself and the
// "last used" time is written.
func TestFullDiskReadsAnsweredAndNotReady(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(webtest.USPhone, "a")
	bob := e.SignIn(webtest.FRPhone, "b")
	e.GetContacts(t, alice, map[string]any{"phones": "+" + webtest.FRPhone})
	admin := e.AdminLogin("owner", "owner")
	ready := func() *webtest.Response { return e.Do(httptest.NewRequest(http.MethodGet, "/readyz", nil)) }
	if r := ready(); r.Status != http.StatusOK {
		t.Fatalf("not ready at start: %d %s", r.Status, r.Body)
	}
	lastUsed := func() int64 {
		return e.Count("SELECT MAX(last_used_at) FROM sessions WHERE device = 'a'")
	}
	before := lastUsed()

	e.Clock.Advance(10 * time.Minute) // the session's and the admin's "last used" fall due
	restore := refuseWrites(t, e, "users", "sessions", "admin_sessions", "write_probe")

	r := e.JSON(map[string]any{"op": "getcontacts", "token": alice})
	r.ExpectOK(t)
	if !strings.Contains(string(r.Body), webtest.FRPhone) {
		t.Errorf("the delta sync lost bob: %s", r.Body)
	}
	if r := admin.Get("/admin/users"); r.Status != http.StatusOK {
		t.Errorf("dashboard page while writes fail: %d", r.Status)
	}
	if r := ready(); r.Status != http.StatusServiceUnavailable {
		t.Errorf("/readyz while writes fail: %d %s", r.Status, r.Body)
	}
	if got := admin.Get("/admin/").TestIDText(t, "health-problem"); !strings.Contains(got, "refuses writes: the disk is full") {
		t.Errorf("the overview's health panel says %q", got)
	}
	// A write is refused, not acknowledged.
	e.JSON(map[string]any{"op": "profile", "token": bob, "name": "Bob"}).ExpectFail(t, "INTERNAL")
	if !strings.Contains(e.Logs(), "the database refuses writes") {
		t.Error("the refused writes were not logged")
	}

	restore()
	if r := ready(); r.Status != http.StatusOK {
		t.Errorf("/readyz once writes go through: %d %s", r.Status, r.Body)
	}
	e.JSON(map[string]any{"op": "getcontacts", "token": alice}).ExpectOK(t)
	if lastUsed() == before {
		t.Error("the session's last-used time was not written once writes went through")
	}
	e.SetProfile(t, bob, map[string]any{"name": "Bob"})
}

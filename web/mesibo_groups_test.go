package web_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// groupRequests are the bodies of the group ops the fake received, in
// order.
func groupRequests(fake *webtest.FakeMesibo) []string {
	var out []string
	for _, r := range fake.Requests() {
		var b struct{ Op string }
		json.Unmarshal(r.Body, &b)
		if strings.HasPrefix(b.Op, "group") {
			out = append(out, string(r.Body))
		}
	}
	return out
}

// In mesibo mode a group is made and changed at mesibo too, through the
// outbox's jobs with their retries: the creation's groupadd stores
// mesibo's gid (a 503 first: retried), and the jobs after it wait for it.
func TestMesiboGroups(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, mesiboAppToken)
	e := mesiboEnv(t, fake, "--otp-ip-hourly", "0")
	alice := signInMesibo(t, e, webtest.USPhone, "a")
	alice.ExpectOK(t)
	signInMesibo(t, e, webtest.FRPhone, "b").ExpectOK(t)
	tok := alice.String("token")
	r := e.JSON(map[string]any{"op": "setgroup", "token": tok, "name": "Hikers", "m": webtest.FRPhone})
	r.ExpectOK(t)
	gid := r.String("gid")
	fake.Script(webtest.Reply{Status: 503, Body: "busy"})
	runJobs(e) // groupadd: 503; the members' job waits for the gid
	if n := e.Count("SELECT COUNT(*) FROM chat_groups WHERE mesibo_gid <> ''"); n != 0 {
		t.Fatal("a gid stored after a failed groupadd")
	}
	for range 3 {
		e.Clock.Advance(5 * time.Minute)
		runJobs(e)
	}
	if n := e.Count("SELECT COUNT(*) FROM chat_groups WHERE id = ? AND mesibo_gid = '96501'", gid); n != 1 {
		t.Fatalf("mesibo's gid is not stored")
	}
	e.JSON(map[string]any{"op": "profile", "token": tok, "gid": gid, "name": "Walkers"}).ExpectOK(t)
	e.JSON(map[string]any{"op": "editmembers", "token": tok, "gid": gid, "m": webtest.FRPhone, "delete": 1}).ExpectOK(t)
	e.JSON(map[string]any{"op": "delgroup", "token": tok, "gid": gid}).ExpectOK(t)
	runJobs(e)
	pre := `{"op":"%s","token":"` + mesiboAppToken + `","group":`
	want := []string{
		`{"op":"groupadd","token":"` + mesiboAppToken + `","group":{"name":"Hikers"}}`, // the 503
		`{"op":"groupadd","token":"` + mesiboAppToken + `","group":{"name":"Hikers"}}`,
		strings.Replace(pre, "%s", "groupeditmembers", 1) + `{"gid":96501,"members":{"m":"` + webtest.USPhone + `,` + webtest.FRPhone + `","permissions":{"send":true,"recv":true,"pub":true,"sub":true,"list":true}},"delete":0}}`,
		strings.Replace(pre, "%s", "groupset", 1) + `{"gid":96501,"name":"Walkers"}}`,
		strings.Replace(pre, "%s", "groupeditmembers", 1) + `{"gid":96501,"members":{"m":"` + webtest.FRPhone + `","permissions":{"send":true,"recv":true,"pub":true,"sub":true,"list":true}},"delete":1}}`,
		strings.Replace(pre, "%s", "groupdel", 1) + `{"gid":96501}}`,
	}
	if got := groupRequests(fake); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("group requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if fake.Group("96501") != nil {
		t.Error("the group is still at mesibo")
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'mesibo_group' AND state <> 'sent'"); n != 0 {
		t.Errorf("%d group jobs not sent", n)
	}
}

// A group's jobs reach mesibo in the order of its changes: a member added
// and then removed, the add failing once, is not left a member at mesibo
// (the removal waits for the add's retry instead of running first).
func TestMesiboGroupJobsKeepTheirOrderAcrossRetries(t *testing.T) {
	fake := webtest.NewFakeMesibo(t, mesiboAppToken)
	e := mesiboEnv(t, fake, "--otp-ip-hourly", "0")
	alice := signInMesibo(t, e, webtest.USPhone, "a")
	alice.ExpectOK(t)
	signInMesibo(t, e, webtest.FRPhone, "b").ExpectOK(t)
	tok := alice.String("token")
	r := e.JSON(map[string]any{"op": "setgroup", "token": tok, "name": "Hikers"})
	r.ExpectOK(t)
	gid := r.String("gid")
	runJobs(e)
	if fake.Group("96501") == nil {
		t.Fatal("the group was not made at mesibo")
	}
	e.JSON(map[string]any{"op": "editmembers", "token": tok, "gid": gid, "m": webtest.FRPhone}).ExpectOK(t)
	e.JSON(map[string]any{"op": "editmembers", "token": tok, "gid": gid, "m": webtest.FRPhone, "delete": 1}).ExpectOK(t)
	fake.Script(webtest.Reply{Status: 503, Body: "busy"})
	runJobs(e) // the add: 503, retried later; the removal must wait for it
	if got := groupRequests(fake); len(got) != 3 || !strings.Contains(got[2], `"delete":0`) {
		t.Fatalf("after the failed add: %d group requests, the last %q; want the add alone", len(got), got[len(got)-1])
	}
	for range 3 {
		e.Clock.Advance(5 * time.Minute)
		runJobs(e)
	}
	got := groupRequests(fake)
	if len(got) != 5 || !strings.Contains(got[3], `"delete":0`) || !strings.Contains(got[4], `"delete":1`) {
		t.Fatalf("group requests %q, want groupadd, the member (alice), the failed add, the add, the removal", got)
	}
	if g := fake.Group("96501"); g == nil || g.Members[webtest.FRPhone] {
		t.Errorf("at mesibo the removed member is still in the group: %+v", g)
	}
}

package handlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"roster/web/webtest"
)

// groupWorld is a group of four people: alice owns it, bob is an admin,
// carol a member; dave is signed in but not in it.
type groupWorld struct {
	alice, bob, carol, dave string // tokens
	gid                     string
}

func newGroupWorld(t testing.TB, e *webtest.Env) *groupWorld {
	t.Helper()
	w := &groupWorld{alice: e.SignIn(alicePhone, "a"), bob: e.SignIn(bobPhone, "b"), carol: e.SignIn(carolPhone, "c"), dave: e.SignIn(davePhone, "d")}
	r := e.JSON(map[string]any{"op": "setgroup", "token": w.alice, "name": "Hikers", "m": bobPhone + "," + carolPhone})
	r.ExpectOK(t)
	w.gid = r.String("gid")
	e.JSON(map[string]any{"op": "setadmin", "token": w.alice, "gid": w.gid, "m": bobPhone, "admin": 1}).ExpectOK(t)
	return w
}

var regexpNumberTS = regexp.MustCompile(`"ts":[0-9]+[,}]`)

func jsonRequest(t testing.TB, params map[string]any) *http.Request {
	t.Helper()
	b, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// groupFailure is a scenario of a group op that must fail with code and
// leave the group as it was.
func groupFailure(name, code string, params func(w *groupWorld) map[string]any, args ...string) webtest.Scenario {
	w := &groupWorld{}
	var before string
	return webtest.Scenario{
		Name:    name,
		Options: []webtest.Option{webtest.WithArgs(append([]string{"--otp-ip-hourly", "0", "--otp-ip-daily", "0"}, args...)...)},
		Before: func(t testing.TB, e *webtest.Env) {
			*w = *newGroupWorld(t, e)
			before = groupState(t, e)
		},
		Request:        func(t testing.TB, e *webtest.Env) *http.Request { return jsonRequest(t, params(w)) },
		ExpectedFields: map[string]any{"result": "FAIL", "error": code},
		After: func(t testing.TB, e *webtest.Env, r *webtest.Response) {
			if r.String("errmsg") == "" {
				t.Errorf("no errmsg: %s", r.Body)
			}
			if after := groupState(t, e); after != before {
				t.Errorf("the refused op changed the groups:\n%s\nthen\n%s", before, after)
			}
		},
	}
}

// groupState is every group's row and members, as text.
func groupState(t testing.TB, e *webtest.Env) string {
	t.Helper()
	var rows []string
	err := e.Server.DB().Read.Raw(`SELECT g.id || ' ' || g.name || ' ' || g.changed_at || ' ' || COALESCE(
		(SELECT group_concat(m.user_id || '/' || m.role, ',') FROM group_members m WHERE m.group_id = g.id), '')
		FROM chat_groups g ORDER BY g.id`).Scan(&rows).Error
	if err != nil && strings.Contains(err.Error(), "group_concat") {
		err = e.Server.DB().Read.Raw(`SELECT g.id || ' ' || g.name || ' ' || g.changed_at || ' ' || COALESCE(
		(SELECT string_agg(m.user_id || '/' || m.role, ',' ORDER BY m.user_id) FROM group_members m WHERE m.group_id = g.id), '')
		FROM chat_groups g ORDER BY g.id`).Scan(&rows).Error
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(rows, "\n")
}

func TestGroupErrors(t *testing.T) {
	long := strings.Repeat("n", 65)
	webtest.Run(t, []webtest.Scenario{
		groupFailure("getgroup without gid", "MISSINGPARA", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "getgroup", "token": w.alice}
		}),
		groupFailure("getgroup of a group the caller is not in", "NOTMEMBER", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "getgroup", "token": w.dave, "gid": w.gid}
		}),
		groupFailure("getgroup of a group that does not exist", "NOTMEMBER", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "getgroup", "token": w.alice, "gid": 999999}
		}),
		groupFailure("gid that is not a number", "BADREQUEST", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "getgroup", "token": w.alice, "gid": "abc"}
		}),
		groupFailure("editmembers without m", "MISSINGPARA", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "editmembers", "token": w.alice, "gid": w.gid}
		}),
		groupFailure("editmembers without gid", "MISSINGPARA", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "editmembers", "token": w.alice, "m": davePhone}
		}),
		groupFailure("setadmin without m", "MISSINGPARA", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "setadmin", "token": w.alice, "gid": w.gid, "admin": 1}
		}),
		groupFailure("delgroup without gid", "MISSINGPARA", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "delgroup", "token": w.alice}
		}),
		groupFailure("a member adds someone", "BADGROUP", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "editmembers", "token": w.carol, "gid": w.gid, "m": davePhone, "delete": 0}
		}),
		groupFailure("a member renames the group", "BADGROUP", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "setgroup", "token": w.carol, "gid": w.gid, "name": "Mine"}
		}),
		groupFailure("a member renames the group through profile", "BADGROUP", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "profile", "token": w.carol, "gid": w.gid, "name": "Mine"}
		}),
		groupFailure("a member makes themselves admin", "BADGROUP", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "setadmin", "token": w.carol, "gid": w.gid, "m": carolPhone, "admin": 1}
		}),
		groupFailure("an outsider edits the group", "NOTMEMBER", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "editmembers", "token": w.dave, "gid": w.gid, "m": davePhone}
		}),
		groupFailure("an outsider leaves the group", "NOTMEMBER", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "delgroup", "token": w.dave, "gid": w.gid}
		}),
		groupFailure("an admin removes the owner", "BADGROUP", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "editmembers", "token": w.bob, "gid": w.gid, "m": alicePhone + "," + carolPhone, "delete": 1}
		}),
		groupFailure("an admin demotes the owner", "BADGROUP", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "setadmin", "token": w.bob, "gid": w.gid, "m": alicePhone, "admin": 0}
		}),
		groupFailure("numbers that do not parse", "BADPHONE", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "editmembers", "token": w.alice, "gid": w.gid, "m": davePhone + ",12,hello"}
		}),
		groupFailure("a name over 64 characters", "TOOLARGE", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "setgroup", "token": w.alice, "gid": w.gid, "name": long}
		}),
		groupFailure("more members than a group may have", "TOOLARGE", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "editmembers", "token": w.alice, "gid": w.gid, "m": davePhone}
		}, "--group-max-members", "3"),
		groupFailure("a new group over the member limit", "TOOLARGE", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "setgroup", "token": w.bob, "name": "Big", "m": alicePhone + "," + carolPhone + "," + davePhone}
		}, "--group-max-members", "3"),
		groupFailure("a new group past the caller's groups", "TOOLARGE", func(w *groupWorld) map[string]any {
			return map[string]any{"op": "setgroup", "token": w.alice, "name": "Second"}
		}, "--groups-per-user", "1"),
	})
}

// The bad numbers are named in the error.
func TestGroupBadNumbersListed(t *testing.T) {
	e := webtest.NewPeople(t)
	alice := e.SignIn(alicePhone, "a")
	r := e.JSON(map[string]any{"op": "setgroup", "token": alice, "name": "G", "m": "12,hello," + bobPhone})
	r.ExpectFail(t, "BADPHONE")
	if msg := r.String("errmsg"); !strings.Contains(msg, "12, hello") || strings.Contains(msg, bobPhone) {
		t.Errorf("errmsg %q", msg)
	}
	if n := e.Count("SELECT COUNT(*) FROM chat_groups"); n != 0 {
		t.Errorf("%d groups stored", n)
	}
}

// The old Android client's calls in order (SampleAPI.java): form posts,
// gid a number, m a comma list, delete and admin as 0/1.
func TestGroupOldClientReplay(t *testing.T) {
	e := webtest.NewPeople(t)
	alice, bob, carol := e.SignIn(alicePhone, "a"), e.SignIn(bobPhone, "b"), e.SignIn(carolPhone, "c")
	dave := e.SignIn(davePhone, "d")
	post := func(params map[string]string) *webtest.Response {
		t.Helper()
		r := e.Form("/api.php", params)
		r.ExpectOK(t)
		return r
	}
	r := post(map[string]string{"op": "setgroup", "token": alice, "gid": "0", "name": "Hikers", "status": "ignored",
		"m": "+1 (201) 555-0102," + carolPhone})
	gid := r.String("gid")
	if _, err := strconv.ParseInt(gid, 10, 64); err != nil || r.Fields()["gid"] == nil {
		t.Fatalf("gid %q", gid)
	}
	if r.String("members") != "1:"+alicePhone+","+bobPhone+","+carolPhone || r.String("name") != "Hikers" {
		t.Fatalf("setgroup: %s", r.Body)
	}
	if !strings.Contains(string(r.Body), `"gid":`+gid+",") || !regexpNumberTS.Match(r.Body) {
		t.Errorf("gid and ts must be numbers: %s", r.Body)
	}

	r = post(map[string]string{"op": "getgroup", "token": bob, "gid": gid})
	if r.String("members") != "1:"+alicePhone+","+bobPhone+","+carolPhone || r.String("status") != "" || r.String("name") != "Hikers" {
		t.Fatalf("getgroup: %s", r.Body)
	}

	r = post(map[string]string{"op": "profile", "token": alice, "gid": gid, "name": "Walkers"})
	if r.String("name") != "Walkers" {
		t.Fatalf("rename: %s", r.Body)
	}
	if u := post(map[string]string{"op": "getgroup", "token": carol, "gid": gid}); u.String("name") != "Walkers" {
		t.Fatalf("renamed group: %s", u.Body)
	}

	r = post(map[string]string{"op": "editmembers", "token": alice, "gid": gid, "m": davePhone, "delete": "0"})
	if r.String("members") != "1:"+alicePhone+","+bobPhone+","+carolPhone+","+davePhone {
		t.Fatalf("add: %s", r.Body)
	}
	r = post(map[string]string{"op": "editmembers", "token": alice, "gid": gid, "m": carolPhone, "delete": "1"})
	if r.String("members") != "1:"+alicePhone+","+bobPhone+","+davePhone {
		t.Fatalf("remove: %s", r.Body)
	}
	e.Form("/api.php", map[string]string{"op": "getgroup", "token": carol, "gid": gid}).ExpectFail(t, "NOTMEMBER")

	r = post(map[string]string{"op": "setadmin", "token": alice, "gid": gid, "m": davePhone, "admin": "1"})
	if r.String("members") != "2:"+alicePhone+","+davePhone+","+bobPhone {
		t.Fatalf("setadmin: %s", r.Body)
	}
	// dave, now an admin, adds carol back.
	r = post(map[string]string{"op": "editmembers", "token": dave, "gid": gid, "m": carolPhone, "delete": "0"})
	if r.String("members") != "2:"+alicePhone+","+davePhone+","+bobPhone+","+carolPhone {
		t.Fatalf("admin adds: %s", r.Body)
	}

	r = post(map[string]string{"op": "delgroup", "token": bob, "gid": gid}) // bob leaves
	if r.String("gid") != gid {
		t.Fatalf("leave: %s", r.Body)
	}
	r = post(map[string]string{"op": "getgroup", "token": alice, "gid": gid})
	if r.String("members") != "2:"+alicePhone+","+davePhone+","+carolPhone {
		t.Fatalf("after leaving: %s", r.Body)
	}

	post(map[string]string{"op": "delgroup", "token": alice, "gid": gid}) // the owner deletes it
	for _, tok := range []string{alice, bob, carol, dave} {
		e.Form("/api.php", map[string]string{"op": "getgroup", "token": tok, "gid": gid}).ExpectFail(t, "NOTMEMBER")
	}
	if n := e.Count("SELECT COUNT(*) FROM group_members"); n != 0 {
		t.Errorf("%d members left in a deleted group", n)
	}
	// Each change is in the audit log as its caller's (the group page's
	// history): create, rename, add, remove, setadmin, add, leave, delete.
	var details []string
	if err := e.Server.DB().Read.Raw("SELECT detail FROM audit_log WHERE type = 'group_changed' AND detail LIKE ? ORDER BY id",
		"group "+gid+" %").Scan(&details).Error; err != nil {
		t.Fatal(err)
	}
	want := `created "Hikers"|renamed "Walkers"|1 member added|1 member removed|1 role changed|1 member added|1 member removed|deleted`
	if got := strings.ReplaceAll(strings.Join(details, "|"), "group "+gid+" ", ""); got != want {
		t.Errorf("audit\n%s\nwant\n%s", got, want)
	}
}

// setgroup's m replaces the member list, but never drops the owner nor
// the admin who sends it; roles of those who stay are kept.
func TestGroupSetMembersKeepsOwner(t *testing.T) {
	e := webtest.NewPeople(t)
	w := newGroupWorld(t, e)
	r := e.JSON(map[string]any{"op": "setgroup", "token": w.bob, "gid": w.gid, "m": davePhone})
	r.ExpectOK(t)
	if r.String("members") != "2:"+alicePhone+","+bobPhone+","+davePhone {
		t.Fatalf("members %s", r.Body)
	}
	// Without m, only the name changes.
	r = e.JSON(map[string]any{"op": "setgroup", "token": w.bob, "gid": w.gid, "name": "New"})
	r.ExpectOK(t)
	if r.String("members") != "2:"+alicePhone+","+bobPhone+","+davePhone || r.String("name") != "New" {
		t.Fatalf("rename only: %s", r.Body)
	}
}

// Someone in as many groups as one may be is left out, named in refused;
// the others are added.
func TestGroupRefusedWhenInTooManyGroups(t *testing.T) {
	e := webtest.NewPeople(t, "--groups-per-user", "1")
	alice, bob := e.SignIn(alicePhone, "a"), e.SignIn(bobPhone, "b")
	e.SignIn(carolPhone, "c")
	e.JSON(map[string]any{"op": "setgroup", "token": bob, "name": "Bob's"}).ExpectOK(t)
	r := e.JSON(map[string]any{"op": "setgroup", "token": alice, "name": "Alice's", "m": bobPhone + "," + carolPhone})
	r.ExpectOK(t)
	if r.String("members") != "1:"+alicePhone+","+carolPhone || r.String("refused") != `["`+bobPhone+`"]` {
		t.Fatalf("reply %s", r.Body)
	}
}

// A group photo through upload with a gid: stored, in the reply, and
// removed with delete=1.
func TestGroupPhoto(t *testing.T) {
	e := webtest.NewPeople(t)
	w := newGroupWorld(t, e)
	r := e.Multipart(map[string]string{"op": "upload", "token": w.bob, "gid": w.gid}, "photo", "g.png", testImage(t, "png", 200, 200))
	r.ExpectOK(t)
	name := r.String("photo")
	if !storedName.MatchString(name) || r.String("file") != e.Config.BaseURL+"/files/"+name || r.String("gid") != w.gid {
		t.Fatalf("reply %s", r.Body)
	}
	checkThumbnail(t, r.String("tn"))
	if fetch(e, "/files/"+name).Status != http.StatusOK {
		t.Fatal("photo not served")
	}
	// The uploader's own photo is unchanged.
	if n := e.Count("SELECT COUNT(*) FROM users WHERE photo <> ''"); n != 0 {
		t.Errorf("%d profile photos set", n)
	}
	e.Multipart(map[string]string{"op": "upload", "token": w.carol, "gid": w.gid}, "photo", "g.png", testImage(t, "png", 200, 200)).ExpectFail(t, "BADGROUP")
	r = e.JSON(map[string]any{"op": "upload", "token": w.alice, "gid": w.gid, "delete": 1})
	r.ExpectOK(t)
	if r.String("photo") != "" || fetch(e, "/files/"+name).Status != http.StatusNotFound {
		t.Fatalf("photo not removed: %s", r.Body)
	}
}

// Deleting the owner's account hands the group to the oldest admin, else
// the oldest member; a group left empty is deleted.
func TestGroupOwnerHandOver(t *testing.T) {
	e := webtest.NewPeople(t)
	w := newGroupWorld(t, e)
	solo := e.JSON(map[string]any{"op": "setgroup", "token": w.alice, "name": "Solo"})
	solo.ExpectOK(t)
	photo := e.Multipart(map[string]string{"op": "upload", "token": w.alice, "gid": solo.String("gid")}, "photo", "g.png", testImage(t, "png", 120, 120))
	photo.ExpectOK(t)
	noAdmin := e.JSON(map[string]any{"op": "setgroup", "token": w.alice, "name": "Pair", "m": carolPhone})
	noAdmin.ExpectOK(t)
	a := e.AdminLogin("root", "owner")
	var uid int64
	if err := e.Server.DB().Read.Raw("SELECT id FROM users WHERE phone = ?", "+"+alicePhone).Scan(&uid).Error; err != nil {
		t.Fatal(err)
	}
	r := a.Post(fmt.Sprintf("/admin/users/%d/delete", uid), map[string]string{"password": webtest.AdminPassword, "confirm": "+" + alicePhone})
	if r.Status != http.StatusOK {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	g := e.JSON(map[string]any{"op": "getgroup", "token": w.carol, "gid": w.gid})
	g.ExpectOK(t)
	if g.String("members") != "1:"+bobPhone+","+carolPhone {
		t.Fatalf("the admin is not the owner: %s", g.Body)
	}
	// bob owns it now: his delgroup deletes it.
	e.JSON(map[string]any{"op": "setadmin", "token": w.bob, "gid": w.gid, "m": bobPhone, "admin": 0}).ExpectFail(t, "BADGROUP")
	g = e.JSON(map[string]any{"op": "getgroup", "token": w.carol, "gid": noAdmin.String("gid")})
	g.ExpectOK(t)
	if g.String("members") != "1:"+carolPhone {
		t.Fatalf("the member is not the owner: %s", g.Body)
	}
	if n := e.Count("SELECT COUNT(*) FROM chat_groups WHERE id = ? AND deleted_at IS NOT NULL AND photo = ''", solo.String("gid")); n != 1 {
		t.Errorf("the empty group is not deleted")
	}
	if fetch(e, "/files/"+photo.String("photo")).Status != http.StatusNotFound {
		t.Error("the deleted group's photo is still served")
	}
	if n := e.Count("SELECT COUNT(*) FROM group_members WHERE role = 2"); n != 2 {
		t.Errorf("%d owners, want 2", n)
	}
}

// People who are not users count toward the member limit.
func TestGroupInvitesCountTowardTheLimit(t *testing.T) {
	e := webtest.NewPeople(t, "--group-max-members", "3")
	alice := e.SignIn(alicePhone, "a")
	e.SignIn(bobPhone, "b")
	e.JSON(map[string]any{"op": "setgroup", "token": alice, "name": "G", "m": bobPhone + "," + erinPhone + "," + carolPhone}).ExpectFail(t, "TOOLARGE")
	if n := e.Count("SELECT COUNT(*) FROM group_invites") + e.Count("SELECT COUNT(*) FROM chat_groups"); n != 0 {
		t.Errorf("a refused group left %d rows", n)
	}
}

// groupadd: nobody is never added; contacts only by people in their own
// address book. Those left out are in refused.
func TestGroupAddSetting(t *testing.T) {
	e := webtest.NewPeople(t)
	alice, bob, carol := e.SignIn(alicePhone, "a"), e.SignIn(bobPhone, "b"), e.SignIn(carolPhone, "c")
	if r := e.SetProfile(t, bob, map[string]any{"groupadd": "nobody"}); r.String("groupadd") != "nobody" {
		t.Fatalf("profile reply %s", r.Body)
	}
	e.SetProfile(t, carol, map[string]any{"groupadd": "contacts"})
	e.JSON(map[string]any{"op": "profile", "token": carol, "groupadd": "friends"}).ExpectFail(t, "BADREQUEST")
	r := e.JSON(map[string]any{"op": "setgroup", "token": alice, "name": "G", "m": bobPhone + "," + carolPhone})
	r.ExpectOK(t)
	if r.String("members") != "1:"+alicePhone || r.String("refused") != `["`+bobPhone+`","`+carolPhone+`"]` {
		t.Fatalf("reply %s", r.Body)
	}
	e.GetContacts(t, carol, map[string]any{"phones": alicePhone}) // alice is in carol's book now
	r = e.JSON(map[string]any{"op": "editmembers", "token": alice, "gid": r.String("gid"), "m": bobPhone + "," + carolPhone})
	r.ExpectOK(t)
	if r.String("members") != "1:"+alicePhone+","+carolPhone || r.String("refused") != `["`+bobPhone+`"]` {
		t.Fatalf("reply %s", r.Body)
	}
}

// The group ops with arbitrary parameters: always an envelope, OK or a
// FAIL with a code other than INTERNAL, and never a group with more than
// its limit or without its owner.
func FuzzGroupOps(f *testing.F) {
	f.Add(uint8(0), "0", "12015550102,+33 6 12 34 56 78", "Hikers", "0")
	f.Add(uint8(2), "1", "\x00,,+,00,12", "", "1")
	f.Add(uint8(3), "-1", "12015550101", "\xff", "yes")
	f.Add(uint8(1), "99999999999999999999", "", "", "")
	f.Add(uint8(5), "1.5", "", strings.Repeat("é", 65), "")
	f.Add(uint8(4), "1", "", "", "")
	e := webtest.NewPeople(f, "--group-max-members", "4")
	alice := e.SignIn(alicePhone, "a")
	e.SignIn(bobPhone, "b")
	e.JSON(map[string]any{"op": "setgroup", "token": alice, "name": "Seed", "m": bobPhone}).ExpectOK(f)
	ops := []string{"setgroup", "getgroup", "editmembers", "setadmin", "delgroup", "profile"}
	f.Fuzz(func(t *testing.T, opIndex uint8, gid, m, name, flag string) {
		op := ops[int(opIndex)%len(ops)]
		local := *e
		local.T = t
		r := local.Form("/api.php", map[string]string{"op": op, "token": alice, "gid": gid, "m": m, "name": name, "delete": flag, "admin": flag})
		if r.Status != http.StatusOK || (r.String("result") != "OK" && r.String("result") != "FAIL") || r.String("error") == "INTERNAL" {
			t.Fatalf("%s gid=%q m=%q name=%q flag=%q: %d %s", op, gid, m, name, flag, r.Status, r.Body)
		}
		if n := local.Count("SELECT COUNT(*) FROM (SELECT group_id FROM group_members GROUP BY group_id HAVING COUNT(*) > 4 OR SUM(CASE WHEN role = 2 THEN 1 ELSE 0 END) <> 1) x"); n != 0 {
			t.Fatalf("%d groups over the limit or without one owner", n)
		}
	})
}

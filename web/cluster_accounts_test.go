package web_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"roster/web/webtest"
)

// The rules of accounts, sessions and profiles hold with two instances
// writing at once (PostgreSQL runs their write transactions side by side).

// 40 wrong passwords for one name from one network, half on each
// instance, are exactly the limit's worth of checked tries (5); the others
// are throttled, and then the right password is refused too.
func TestAdminLoginThrottleAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t)
	a.NewAdmin("alice", "owner")
	envs := []*webtest.Env{a, b}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() { envs[i%2].Browser().Login("alice", "wrong password!") })
	}
	wg.Wait()
	checked := a.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'admin_login_failed' AND detail = 'wrong name or password'")
	throttled := a.Count("SELECT SUM(1 + repeats) FROM audit_log WHERE type = 'admin_login_failed' AND detail = 'throttled'")
	if checked != 5 || throttled != 35 {
		t.Errorf("40 wrong passwords over two instances: %d checked, %d throttled; want 5 and 35", checked, throttled)
	}
	if n := a.Count("SELECT failures FROM admin_login_throttle WHERE key LIKE 'nameip:alice|%'"); n != 5 {
		t.Errorf("the (name, network) counter is %d, want 5", n)
	}
	expectStatus(t, b.Browser().Login("alice", webtest.AdminPassword), http.StatusTooManyRequests)
}

// pngImage is a small valid PNG for the upload tests.
func pngImage(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for y := range 32 {
		for x := range 32 {
			img.Set(x, y, color.RGBA{uint8(x * 8), uint8(y * 8), 120, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// filesOn counts the stored files of both instances.
func filesOn(envs ...*webtest.Env) int {
	n := 0
	for _, e := range envs {
		files, _ := os.ReadDir(filepath.Join(e.DataDir, "files"))
		n += len(files)
	}
	return n
}

// Eight users each upload 12 files at once, half on each instance, under
// a cap of 3 a day: exactly 3 of each are stored.
func TestUploadCapAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t, "--uploads-per-day", "3")
	envs := []*webtest.Env{a, b}
	const users, tries, perDay = 8, 12, 3
	tokens := make([]string, users)
	for u := range users {
		tokens[u] = envs[u%2].SignIn(fmt.Sprintf("120155501%02d", u), "a")
	}
	img := pngImage(t)
	var wg sync.WaitGroup
	stored := make([]atomic.Int32, users)
	for u := range users {
		for i := range tries {
			wg.Go(func() {
				r := envs[i%2].Multipart(map[string]string{"op": "upload", "token": tokens[u]}, "file", "x.png", img)
				if r.String("result") == "OK" {
					stored[u].Add(1)
				}
			})
		}
	}
	wg.Wait()
	for u := range users {
		if n := stored[u].Load(); n != perDay {
			t.Errorf("user %d: %d of %d uploads over two instances stored under a cap of %d", u, n, tries, perDay)
		}
	}
	if n := a.Count("SELECT COUNT(*) FROM uploads"); n != users*perDay {
		t.Errorf("%d uploads recorded, want %d", n, users*perDay)
	}
	if n := filesOn(a, b); n != users*perDay {
		t.Errorf("%d files on the instances' disks, want %d (a refused one is removed)", n, users*perDay)
	}
}

// Four owners on two instances each demote the next at once, for several
// rounds: at least one owner always remains. (Fewer than three demotions
// may pass: an owner demoted first is no longer allowed to demote.)
func TestLastOwnerAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t)
	envs := []*webtest.Env{a, b}
	const owners = 4
	clients := make([]*webtest.AdminClient, owners)
	ids := make([]string, owners)
	for i := range owners {
		name := fmt.Sprintf("owner%d", i)
		a.NewAdmin(name, "owner")
		c := envs[i%2].Browser()
		expectStatus(t, c.Login(name, webtest.AdminPassword), http.StatusSeeOther)
		c.Get("/admin/")
		clients[i] = c
		a.Server.DB().Read.Raw("SELECT CAST(id AS TEXT) FROM admins WHERE name = ?", name).Scan(&ids[i])
	}
	for round := range 8 {
		// The first owner (from ROSTER_ADMIN_PASSWORD) steps aside: the four
		// are the only owners.
		if err := a.Server.DB().Write.Exec("UPDATE admins SET role = CASE WHEN name LIKE 'owner%' THEN 'owner' ELSE 'viewer' END").Error; err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var passed atomic.Int32
		for i := range owners {
			wg.Go(func() {
				r := clients[i].HTMX("/admin/admins/"+ids[(i+1)%owners]+"/role", map[string]string{"role": "operator", "password": webtest.AdminPassword})
				if r.Status == http.StatusOK {
					passed.Add(1)
				}
			})
		}
		wg.Wait()
		left := a.Count("SELECT COUNT(*) FROM admins WHERE role = 'owner' AND disabled_at IS NULL")
		if left < 1 || left+int64(passed.Load()) != owners {
			t.Fatalf("round %d: %d of %d concurrent demotions passed, %d owners left", round, passed.Load(), owners, left)
		}
	}
}

// Concurrent profile changes of one user over two instances, each of one
// field: none is lost, and each visible change moves the profile's time
// forward and writes its own notice.
func TestProfileChangesAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t)
	envs := []*webtest.Env{a, b}
	tok := a.SignIn("12015550121", "a")
	var start int64
	a.Server.DB().Read.Raw("SELECT profile_at FROM users WHERE phone = '+12015550121'").Scan(&start)
	const rounds = 10
	for round := range rounds {
		name, status := fmt.Sprintf("name %d", round), fmt.Sprintf("status %d", round)
		var wg sync.WaitGroup
		wg.Go(func() { envs[round%2].SetProfile(t, tok, map[string]any{"name": name}) })
		wg.Go(func() { envs[(round+1)%2].SetProfile(t, tok, map[string]any{"status": status}) })
		wg.Wait()
		var got struct{ Name, Status string }
		a.Server.DB().Read.Raw("SELECT name, status FROM users WHERE phone = '+12015550121'").Scan(&got)
		if got.Name != name || got.Status != status {
			t.Fatalf("round %d: the profile is %q / %q after setting %q and %q at once on two instances", round, got.Name, got.Status, name, status)
		}
	}
	var at int64
	a.Server.DB().Read.Raw("SELECT profile_at FROM users WHERE phone = '+12015550121'").Scan(&at)
	// The fake clocks stand still: each change is the previous time + 1 ms.
	if at != start+2*rounds {
		t.Errorf("the profile time moved by %d ms over %d changes, want %d (one step each)", at-start, 2*rounds, 2*rounds)
	}
	if n := a.Count("SELECT COUNT(DISTINCT body) FROM events WHERE type = 'profile'"); n != 2*rounds {
		t.Errorf("%d distinct profile notices for %d changes", n, 2*rounds)
	}
}

// Blocks racing sign-ins of the blocked users on the other instance: no
// blocked user is left with a live session (the sign-in either comes
// first and is revoked by the block, or waits for it and is refused).
func TestBlockRacingSignInAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t)
	admin := a.AdminLogin("moderator", "owner")
	const users = 8
	for u := range users {
		phone := fmt.Sprintf("120155503%02d", u)
		id, _ := a.SignedInUser(phone, "first")
		code := newCodeOn(t, a, b, phone)
		var wg sync.WaitGroup
		wg.Go(func() {
			expectStatus(t, admin.HTMX("/admin/users/"+id+"/block", map[string]string{"password": webtest.AdminPassword}), http.StatusOK)
		})
		wg.Go(func() {
			b.JSON(map[string]any{"op": "login", "appid": "test.app", "phone": phone, "otp": code, "device": "second", "dt": "1"})
		})
		wg.Wait()
	}
	if n := a.Count(`SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.revoked_at IS NULL AND u.blocked_until IS NOT NULL`); n != 0 {
		t.Errorf("%d live sessions of blocked users after blocks raced sign-ins", n)
	}
}

// Deletions racing the deleted users' own uploads and sign-ins: no upload
// row or file of a deleted user is left, and a sign-in at the same moment
// either comes first (and goes with the user) or signs in a new user.
func TestDeleteRacingUserWritesAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t)
	admin := a.AdminLogin("remover", "owner")
	img := pngImage(t)
	const users = 6
	var old []string
	for u := range users {
		phone := fmt.Sprintf("120155504%02d", u)
		id, tok := a.SignedInUser(phone, "first")
		old = append(old, id)
		code := newCodeOn(t, a, b, phone)
		var wg sync.WaitGroup
		wg.Go(func() {
			admin.Post("/admin/users/"+id+"/delete", map[string]string{"password": webtest.AdminPassword, "confirm": "+" + phone})
		})
		for range 3 {
			// The deleting instance's uploads: its file store is the one
			// the deletion empties.
			wg.Go(func() { a.Multipart(map[string]string{"op": "upload", "token": tok}, "file", "x.png", img) })
		}
		wg.Go(func() {
			r := b.JSON(map[string]any{"op": "login", "appid": "test.app", "phone": phone, "otp": code, "device": "second", "dt": "1"})
			if r.String("result") != "OK" {
				t.Errorf("a sign-in racing the deletion of %s: %s", phone, r.Body)
			}
		})
		wg.Wait()
	}
	for _, id := range old {
		if n := a.Count("SELECT COUNT(*) FROM users WHERE id = ?", id); n != 0 {
			t.Errorf("user %s is still there", id)
		}
		if n := a.Count("SELECT COUNT(*) FROM uploads WHERE user_id = ?", id); n != 0 {
			t.Errorf("%d uploads of the deleted user %s", n, id)
		}
	}
	if n := filesOn(a); n != 0 {
		t.Errorf("%d files of deleted users left on the disk", n)
	}
}

// One token logged out on both instances at once is revoked once: one
// audit entry (and, in mesibo mode, one deletion queued), not two.
func TestLogoutTwiceAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t)
	const users = 10
	for u := range users {
		tok := a.SignIn(fmt.Sprintf("120155505%02d", u), "a")
		var wg sync.WaitGroup
		for _, e := range []*webtest.Env{a, b} {
			wg.Go(func() { e.JSON(map[string]any{"op": "logout", "token": tok}) })
		}
		wg.Wait()
	}
	if n := a.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'token_revoked'"); n != users {
		t.Errorf("%d revocations audited for %d tokens each logged out twice at once", n, users)
	}
}

// newCodeOn asks instance b for a new code for a phone that signed in a
// minute ago (both clocks move past the wait between two codes).
func newCodeOn(t *testing.T, a, b *webtest.Env, phone string) string {
	a.Clock.Advance(time.Minute)
	b.Clock.Advance(time.Minute)
	b.JSON(webtest.LoginParams(phone)).ExpectOK(t)
	return b.LastCode("+" + phone)
}

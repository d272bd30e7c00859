package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// A deleted user is named by no row of any table but these, whoever deleted
// them: the audit log (what it must keep); the sign-in state kept per
// number until its retention, as for any number (codes, their guard, the
// messages that carried them: outbox rows of kind otp only, checked apart);
// and other users' address books, which hold the number's keyed hash as
// their owners' data.
var keptAfterDeletion = map[string]bool{
	"audit_log.phone": true, "audit_log.user_id": true, "audit_log.detail": true,
	"otp_codes.phone": true, "phone_guards.phone": true,
	"outbox.recipient":          true,
	"address_book.contact_hash": true,
}

// richAccount is alice with some of everything an account can have: two
// devices, one with a push token; a profile, photo and chat file; an
// address book; a group she owns with bob (its admin), carol and an invited
// number that is nobody's yet, and one bob owns that she was added to and
// made an admin of; an
// export link not yet used; push jobs to her device, sent and pending; a
// code asked and not used. Bob holds her number in his book. It returns
// alice's token and id.
func richAccount(t *testing.T, e *webtest.Env) (string, int64) {
	t.Helper()
	alice := e.SignIn(alicePhone, "phone")
	e.Clock.Advance(time.Minute)
	e.SignIn(alicePhone, "tablet")
	bob := e.SignIn(bobPhone, "bob")
	e.SignIn(carolPhone, "carol")
	e.SetNotify(alice).ExpectOK(t)
	e.SetProfile(t, alice, map[string]any{"name": "Alice Liddell", "status": "away"})
	e.Multipart(map[string]string{"op": "upload", "token": alice, "profile": "1"}, "photo", "me.png", testImage(t, "png", 80, 60)).ExpectOK(t)
	e.Multipart(map[string]string{"op": "upload", "token": alice}, "file", "cat.jpg", testImage(t, "jpeg", 64, 64)).ExpectOK(t)
	e.GetContacts(t, alice, map[string]any{"phones": "+" + bobPhone + ",+33698765432"})
	e.GetContacts(t, bob, map[string]any{"phones": "+" + alicePhone})
	own := e.JSON(map[string]any{"op": "setgroup", "token": alice, "name": "Alice's", "m": bobPhone + "," + carolPhone + ",33698765432"})
	own.ExpectOK(t)
	e.JSON(map[string]any{"op": "setadmin", "token": alice, "gid": own.String("gid"), "m": bobPhone, "admin": 1}).ExpectOK(t)
	bobs := e.JSON(map[string]any{"op": "setgroup", "token": bob, "name": "Bob's", "m": alicePhone + "," + carolPhone})
	bobs.ExpectOK(t)
	e.JSON(map[string]any{"op": "setadmin", "token": bob, "gid": bobs.String("gid"), "m": alicePhone, "admin": 1}).ExpectOK(t)
	e.JSON(map[string]any{"op": "exportaccount", "token": alice}).ExpectOK(t)
	e.FanOut()
	e.Server.Pusher().RunOnce(context.Background()) // "added to Bob's" pushed to alice's phone
	e.Clock.Advance(time.Minute)
	e.SetProfile(t, bob, map[string]any{"name": "Bob"})
	e.FanOut() // its push to alice's phone stays pending
	e.Clock.Advance(time.Minute)
	e.JSON(map[string]any{"op": "login", "appid": "test.app", "phone": alicePhone}).ExpectOK(t)

	var uid int64
	e.Server.DB().Read.Raw("SELECT id FROM users WHERE phone = ?", "+"+alicePhone).Scan(&uid)
	for what, n := range map[string]int64{
		"owned group with others":  e.Count("SELECT COUNT(*) FROM group_members m WHERE m.user_id = ? AND m.role = 2 AND (SELECT COUNT(*) FROM group_members o WHERE o.group_id = m.group_id) = 3", uid),
		"joined group":             e.Count("SELECT COUNT(*) FROM group_members WHERE user_id = ? AND role = 1", uid),
		"pending invite":           e.Count("SELECT COUNT(*) FROM group_invites i JOIN group_members m ON m.group_id = i.group_id AND m.role = 2 WHERE m.user_id = ?", uid),
		"export link":              e.Count("SELECT COUNT(*) FROM account_exports WHERE user_id = ?", uid),
		"push token":               e.Count("SELECT COUNT(*) FROM sessions WHERE user_id = ? AND notify_token <> ''", uid),
		"push sent to her":         e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'push' AND state = 'sent' AND recipient = ?", "+"+alicePhone),
		"push pending to her":      e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'push' AND state = 'pending' AND recipient = ?", "+"+alicePhone),
		"code pending for her":     e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'otp' AND state = 'pending' AND recipient = ?", "+"+alicePhone),
		"bob's book holding her":   e.Count("SELECT COUNT(*) FROM address_book b JOIN users u ON u.phone_hash = b.contact_hash WHERE u.id = ?", uid),
		"uploads (photo and file)": e.Count("SELECT COUNT(*) FROM uploads WHERE user_id = ?", uid) / 2,
	} {
		if n < 1 {
			t.Fatalf("alice's world has no %s", what)
		}
	}
	return alice, uid
}

// However the account is deleted (by its user, at once or at the end of a
// grace period, or from the dashboard), no row names the user afterwards
// but those the audit and the sign-in state keep: every table of the
// schema is read, on both databases. The groups live on: the owned one
// under bob, with carol and its pending invite; bob's without her.
func TestDeletionLeavesNoRowNamingTheUser(t *testing.T) {
	for _, how := range []string{"deleteaccount", "deleteaccount with a grace period", "dashboard"} {
		t.Run(how, func(t *testing.T) {
			fcm := webtest.NewFakeFCM(t)
			args := fcm.Args()
			if strings.Contains(how, "grace") {
				args = append(args, "--deletion-grace", "24h")
			}
			e := webtest.NewPeople(t, args...)
			alice, uid := richAccount(t, e)
			var hash []byte
			e.Server.DB().Read.Raw("SELECT phone_hash FROM users WHERE id = ?", uid).Row().Scan(&hash)
			before := rowsNaming(t, e, uid, alicePhone, hash)
			for _, want := range []string{"users.id", "sessions.user_id", "group_members.user_id", "account_exports.user_id",
				"address_book.owner_id", "uploads.user_id", "event_deliveries.recipient_id", "outbox.recipient"} {
				if before[want] == 0 {
					t.Errorf("before the deletion no row of %s names alice: the check below proves nothing of it", want)
				}
			}

			switch how {
			case "dashboard":
				e.DeleteUser("+" + alicePhone)
			default:
				e.JSON(map[string]any{"op": "deleteaccount", "token": alice, "confirm": alicePhone}).ExpectOK(t)
				e.Clock.Advance(24 * time.Hour)
				e.Server.DeletePendingAccounts(context.Background())
			}
			if n := e.Count("SELECT COUNT(*) FROM users WHERE id = ?", uid); n != 0 {
				t.Fatal("alice was not deleted")
			}
			expectOnlyKept(t, e, rowsNaming(t, e, uid, alicePhone, hash))
			groups := e.Count(`SELECT COUNT(*) FROM chat_groups g WHERE g.deleted_at IS NULL AND (
				(g.name = 'Alice''s' AND (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) = 2
					AND (SELECT COUNT(*) FROM group_invites i WHERE i.group_id = g.id) = 1)
				OR (g.name = 'Bob''s' AND (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) = 2))`)
			if groups != 2 {
				t.Errorf("%d of the two groups live on as they should", groups)
			}
			// Bob's group's notices, from before the deletion too, list bob
			// alone as its admin and carol: alice was taken out of them.
			var bodies []string
			e.Server.DB().Read.Raw("SELECT body FROM events WHERE group_id = (SELECT id FROM chat_groups WHERE name = 'Bob''s') ORDER BY id").Scan(&bodies)
			for _, body := range bodies {
				if !strings.Contains(body, `"status":"1:`+bobPhone+","+carolPhone+`"`) {
					t.Errorf("a notice of bob's group: %s", body)
				}
			}
			if len(bodies) < 4 { // created, added, alice made admin, alice gone
				t.Errorf("%d notices of bob's group", len(bodies))
			}
		})
	}
}

// expectOnlyKept fails for every column in kept outside keptAfterDeletion,
// and for an outbox row that names the user and is no code's message.
func expectOnlyKept(t testing.TB, e *webtest.Env, kept map[string]int64) {
	t.Helper()
	for col, n := range kept {
		if !keptAfterDeletion[col] {
			t.Errorf("after the deletion, %d rows name the user in %s", n, col)
		}
	}
	if kept["audit_log.user_id"] == 0 {
		t.Error("the audit log forgot the user")
	}
	// Besides the codes' messages, only the record of pushes already sent
	// to the user's devices: the notice's type and time, no token.
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE kind <> 'otp' AND NOT (kind = 'push' AND state IN ('sent', 'failed')) AND recipient = ?",
		"+"+alicePhone); n != 0 {
		t.Errorf("%d outbox rows name the user that are neither a code's message nor a push already made", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'push' AND recipient = ? AND body LIKE '%push-%'", "+"+alicePhone); n != 0 {
		t.Errorf("%d push records hold a push token", n)
	}
}

// rowsNaming counts, column by column ("table.column"), the rows of every
// table of the schema that name the user: by id in a column that
// references users (user_id, owner_id, recipient_id; the users table's own
// id), by the number's digits in any text column, or by the number's keyed
// hash in any binary column.
func rowsNaming(t testing.TB, e *webtest.Env, uid int64, digits string, hash []byte) map[string]int64 {
	t.Helper()
	var cols []struct{ Tbl, Col, Typ string }
	q := `SELECT m.name AS tbl, p.name AS col, lower(p.type) AS typ FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'`
	if e.Server.DB().Postgres() {
		q = `SELECT c.table_name AS tbl, c.column_name AS col, lower(c.data_type) AS typ FROM information_schema.columns c
			JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
			WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'`
	}
	if err := e.Server.DB().Read.Raw(q).Scan(&cols).Error; err != nil || len(cols) < 50 {
		t.Fatalf("the schema's columns: %d (err %v)", len(cols), err)
	}
	out := map[string]int64{}
	for _, c := range cols {
		var where string
		var arg any
		switch {
		case c.Col == "user_id" || c.Col == "owner_id" || c.Col == "recipient_id" || (c.Tbl == "users" && c.Col == "id"):
			where, arg = fmt.Sprintf(`"%s" = ?`, c.Col), uid
		case strings.Contains(c.Typ, "text") || strings.Contains(c.Typ, "char") || strings.Contains(c.Typ, "json"):
			where, arg = fmt.Sprintf(`CAST("%s" AS TEXT) LIKE ?`, c.Col), "%"+digits+"%"
		case (strings.Contains(c.Typ, "blob") || strings.Contains(c.Typ, "bytea")) && len(hash) > 0:
			where, arg = fmt.Sprintf(`"%s" = ?`, c.Col), hash
		default:
			continue
		}
		var n int64
		if err := e.Server.DB().Read.Raw(fmt.Sprintf(`SELECT COUNT(*) FROM "%s" WHERE %s`, c.Tbl, where), arg).Scan(&n).Error; err != nil {
			t.Fatalf("%s.%s: %v", c.Tbl, c.Col, err)
		}
		if n > 0 {
			out[c.Tbl+"."+c.Col] += n
		}
	}
	return out
}

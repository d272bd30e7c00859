package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"roster/models"
	"roster/web/webtest"
)

// Benchmarks of the account ops through the real app on a fresh SQLite
// database (ROSTER_TEST_DATABASE=postgres: on PostgreSQL). Each iteration's
// setup is outside the timer; ms/op is the op's latency alone.
//
//	go test -run '^$' -bench 'DeleteAccount|ChangePhone' -benchtime 5x ./web

// deleteaccount of a user with a 5,000-number address book, 3 devices and
// 50 groups, each with other members: 25 the user owns (each passes to its
// admin, the hand-over), 25 others own. At once (grace 0s), and marked
// pending (grace 24h: sessions end, the account is hidden, still in its
// groups; the chore deletes it later).
func BenchmarkDeleteAccount(b *testing.B) {
	for _, grace := range []string{"0s", "24h"} {
		b.Run("grace="+grace, func(b *testing.B) { benchDeleteAccount(b, grace) })
	}
}

// benchGroups is how many groups the deleted user owns, and as many again
// it was added to.
const benchGroups = 25

func benchDeleteAccount(b *testing.B, grace string) {
	e := webtest.NewPeople(b, "--contacts-writes-per-day", "10000000", "--contacts-allowance", "10000000", "--deletion-grace", grace,
		"--groups-per-user", "1000000") // the peers are in every iteration's groups
	// The user's fellow members, the same in every iteration: the first
	// is the admin who inherits the owned groups, the last owns the groups
	// the user was added to.
	peers := make([]string, 4)
	peerTokens := make([]string, len(peers))
	for j := range peers {
		peers[j] = fmt.Sprintf("3361234560%d", j)
		peerTokens[j] = e.SignIn(peers[j], "peer")
	}
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		phone := fmt.Sprintf("1201555%04d", i%10000)
		var tok string
		for d := range 3 {
			e.Clock.Advance(time.Minute)
			tok = e.SignIn(phone, fmt.Sprintf("device-%d", d))
		}
		nums := make([]string, 5000)
		for j := range nums {
			nums[j] = fmt.Sprintf("+3361%07d", i*5000+j)
		}
		e.GetContacts(b, tok, map[string]any{"phones": strings.Join(nums, ",")})
		for g := range benchGroups {
			r := e.JSON(map[string]any{"op": "setgroup", "token": tok, "name": fmt.Sprintf("Owned %d", g), "m": strings.Join(peers[:3], ",")})
			r.ExpectOK(b)
			e.JSON(map[string]any{"op": "setadmin", "token": tok, "gid": r.String("gid"), "m": peers[0], "admin": 1}).ExpectOK(b)
			e.JSON(map[string]any{"op": "setgroup", "token": peerTokens[3], "name": fmt.Sprintf("Joined %d", g),
				"m": phone + "," + strings.Join(peers[1:3], ",")}).ExpectOK(b)
		}
		e.FanOut()
		user := "(SELECT id FROM users WHERE phone = '+" + phone + "')"
		if n := e.Count("SELECT COUNT(*) FROM address_book WHERE owner_id = " + user); n != 5000 {
			b.Fatalf("the book holds %d numbers", n)
		}
		if n := e.Count("SELECT COUNT(*) FROM group_members WHERE user_id = " + user); n != 2*benchGroups {
			b.Fatalf("the user is in %d groups", n)
		}
		b.StartTimer()
		r := e.JSON(map[string]any{"op": "deleteaccount", "token": tok, "confirm": phone})
		b.StopTimer()
		r.ExpectOK(b)
		if grace == "0s" {
			// Every owned group passed on to its admin, none was deleted.
			if n := e.Count("SELECT COUNT(*) FROM chat_groups g JOIN group_members m ON m.group_id = g.id AND m.role = 2 JOIN users u ON u.id = m.user_id "+
				"WHERE g.name LIKE 'Owned %' AND g.deleted_at IS NULL AND u.phone = ?", "+"+peers[0]); n != int64((i+1)*benchGroups) {
				b.Fatalf("the admin owns %d groups after %d deletions", n, i+1)
			}
		}
		e.FanOut() // the hand-overs' notices, outside the timer
		b.StartTimer()
	}
}

// changephone's verify for a user whose old and new numbers are each in
// 10,000 address books (owners inserted directly). fanout-ms is the time the
// fan-out worker then takes, off the request path, to write the change's two
// notices: the profile notice to the 10,000 books holding the new number, and
// the change-of-number notice (with oldphone) to the 10,000 holding the old
// one.
func BenchmarkChangePhone(b *testing.B) {
	e := webtest.NewPeople(b)
	const books = 10_000
	hashOf := func(phone string) []byte {
		var h []byte
		if err := e.Server.DB().Read.Raw("SELECT phone_hash FROM users WHERE phone = ?", "+"+phone).Row().Scan(&h); err != nil || len(h) == 0 {
			b.Fatalf("the hash of %s: %v", phone, err)
		}
		return h
	}
	write := e.Server.DB().Write
	owners := make([]models.User, 2*books)
	for i := range owners {
		owners[i] = models.User{Phone: fmt.Sprintf("+4479%08d", i), CountryCode: 44, Discoverable: "everyone", Announce: true,
			CreatedAt: 1, ProfileAt: 1}
	}
	if err := write.CreateInBatches(owners, 1000).Error; err != nil {
		b.Fatal(err)
	}
	var fanout time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		oldNum, newNum := fmt.Sprintf("120155506%02d", i), fmt.Sprintf("120155507%02d", i)
		e.Clock.Advance(time.Minute)
		e.SignIn(newNum, "probe")
		newHash := hashOf(newNum)
		if err := write.Exec("DELETE FROM users WHERE phone = ?", "+"+newNum).Error; err != nil {
			b.Fatal(err)
		}
		e.Clock.Advance(time.Minute)
		tok := e.SignIn(oldNum, "phone")
		oldHash := hashOf(oldNum) // the same account's hash
		for j := 0; j < 2*books; j += 500 {
			var sb strings.Builder
			args := make([]any, 0, 1000)
			sb.WriteString("INSERT INTO address_book (owner_id, contact_hash) VALUES ")
			for k := j; k < j+500; k++ {
				if k > j {
					sb.WriteByte(',')
				}
				sb.WriteString("(?, ?)")
				h := oldHash
				if k >= books {
					h = newHash
				}
				args = append(args, owners[k].ID, h)
			}
			if err := write.Exec(sb.String(), args...).Error; err != nil {
				b.Fatal(err)
			}
		}
		e.FanOut()
		e.Clock.Advance(time.Minute)
		e.JSON(map[string]any{"op": "changephone", "appid": "test.app", "token": tok, "phone": newNum}).ExpectOK(b)
		code := e.LastCode("+" + newNum)
		b.StartTimer()
		r := e.JSON(map[string]any{"op": "changephone", "appid": "test.app", "token": tok, "phone": newNum, "otp": code})
		b.StopTimer()
		r.ExpectOK(b)
		start := time.Now()
		e.FanOut()
		fanout += time.Since(start)
		var uid int64
		e.Server.DB().Read.Raw("SELECT id FROM users WHERE phone = ?", "+"+newNum).Scan(&uid)
		// Each notice reached its own audience, all of it and only it: every
		// recipient's book holds the number that audience is defined by.
		for _, n := range []struct {
			what, where string
			hash        []byte
		}{
			{"the profile notice", "audience_hash IS NULL AND body NOT LIKE '%oldphone%'", newHash},
			{"the change-of-number notice", `audience_hash IS NOT NULL AND body LIKE '%"oldphone":"` + oldNum + `"%'`, oldHash},
		} {
			var ev models.Event
			if err := e.Server.DB().Read.Where("user_id = ? AND type = 'profile' AND "+n.where, uid).Take(&ev).Error; err != nil {
				b.Fatalf("%s: %v", n.what, err)
			}
			all := e.Count("SELECT COUNT(*) FROM event_deliveries WHERE event_id = ?", ev.ID)
			holders := e.Count(`SELECT COUNT(*) FROM event_deliveries d JOIN address_book a ON a.owner_id = d.recipient_id AND a.contact_hash = ?
				WHERE d.event_id = ?`, n.hash, ev.ID)
			if ev.Recipients != books || all != books || holders != books {
				b.Fatalf("%s reached %d books (%d counted on the event, %d of them holding its number), want %d",
					n.what, all, ev.Recipients, holders, books)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(fanout.Milliseconds())/float64(b.N), "fanout-ms")
}

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

// deleteaccount of a user with a 5,000-number address book and 3 devices:
// at once (grace 0s), and marked pending (grace 24h: sessions end, the
// account is hidden; the chore deletes it later).
func BenchmarkDeleteAccount(b *testing.B) {
	for _, grace := range []string{"0s", "24h"} {
		b.Run("grace="+grace, func(b *testing.B) { benchDeleteAccount(b, grace) })
	}
}

func benchDeleteAccount(b *testing.B, grace string) {
	e := webtest.NewPeople(b, "--contacts-writes-per-day", "10000000", "--contacts-allowance", "10000000", "--deletion-grace", grace)
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
		if n := e.Count("SELECT COUNT(*) FROM address_book b JOIN users u ON u.id = b.owner_id WHERE u.phone = ?", "+"+phone); n != 5000 {
			b.Fatalf("the book holds %d numbers", n)
		}
		b.StartTimer()
		r := e.JSON(map[string]any{"op": "deleteaccount", "token": tok, "confirm": phone})
		b.StopTimer()
		r.ExpectOK(b)
		b.StartTimer()
	}
}

// changephone's verify for a user whose old and new numbers are each in
// 10,000 address books (owners inserted directly). fanout-ms is the time the
// fan-out worker then takes, off the request path, to write the change's
// notice to the 10,000 books holding the new number.
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
		r := e.JSON(map[string]any{"op": "changephone", "token": tok, "phone": newNum, "otp": code})
		b.StopTimer()
		r.ExpectOK(b)
		start := time.Now()
		e.FanOut()
		fanout += time.Since(start)
		var delivered int64
		e.Server.DB().Read.Raw(`SELECT recipients FROM events WHERE type = 'profile' ORDER BY id DESC LIMIT 1`).Scan(&delivered)
		if delivered != books {
			b.Fatalf("the notice reached %d books, want %d", delivered, books)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(fanout.Milliseconds())/float64(b.N), "fanout-ms")
}

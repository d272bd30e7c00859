package models

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"
)

func benchDB(b *testing.B) (*DB, *FakeClock) {
	b.Helper()
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "roster.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db, NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
}

func benchSignIn(db *DB, clock Clock, demo string) *SignIn {
	return NewSignIn(db, clock, SignInConfig{
		Policy: DefaultOTPPolicy(), CodeKey: []byte("bench-key-bench-key-bench-key-32"),
		DemoCode: demo, TokenTTL: time.Hour, Channel: "console",
		Message: func(code string) string { return code },
	})
}

func benchPhone(i int) Phone { return Phone{E164: fmt.Sprintf("+336%08d", i), CountryCode: 33} }

// BenchmarkVerifyCode measures the verify step that succeeds: code check,
// user creation, session and token, audit entries, in one transaction.
// Demo-code mode makes the code known; the path is the normal one.
func BenchmarkVerifyCode(b *testing.B) {
	db, clock := benchDB(b)
	s := benchSignIn(db, clock, "123456")
	ctx := context.Background()
	cl := ClientInfo{UserAgent: "bench", Device: "d"}
	for i := 0; i < b.N; i++ {
		if err := s.RequestCode(ctx, benchPhone(i), cl); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.VerifyCode(ctx, benchPhone(i), "123456", "Bench", cl); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyWrongCode measures a refused try (counted, audited).
func BenchmarkVerifyWrongCode(b *testing.B) {
	db, clock := benchDB(b)
	s := benchSignIn(db, clock, "123456")
	s.cfg.Policy.MaxAttempts, s.cfg.Policy.LockAfter = 1<<30, 1<<30
	ctx := context.Background()
	p := benchPhone(1)
	if err := s.RequestCode(ctx, p, ClientInfo{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.VerifyCode(ctx, p, "000000", "", ClientInfo{}); err == nil {
			b.Fatal("wrong code accepted")
		}
	}
}

// BenchmarkRequestCode measures issuing a code (limits, code, outbox, audit).
func BenchmarkRequestCode(b *testing.B) {
	db, clock := benchDB(b)
	s := benchSignIn(db, clock, "")
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.RequestCode(ctx, benchPhone(i), ClientInfo{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticate measures the token check done on every
// authenticated request, among 10,000 live sessions.
func BenchmarkAuthenticate(b *testing.B) {
	db, clock := benchDB(b)
	s := benchSignIn(db, clock, "123456")
	ctx := context.Background()
	var tokens []string
	for i := 0; i < 10_000; i++ {
		p := benchPhone(i)
		if err := s.RequestCode(ctx, p, ClientInfo{}); err != nil {
			b.Fatal(err)
		}
		res, err := s.VerifyCode(ctx, p, "123456", "", ClientInfo{})
		if err != nil {
			b.Fatal(err)
		}
		tokens = append(tokens, res.Token)
	}
	sessions := NewSessions(db, clock, time.Minute)
	b.Run("serial", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := sessions.Authenticate(ctx, tokens[i%len(tokens)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := sessions.Authenticate(ctx, tokens[i%len(tokens)]); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
	b.Run("unknown token", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := sessions.Authenticate(ctx, "0000000000000000000000000000000000000000000000000000000000000000"); err == nil {
				b.Fatal("accepted")
			}
		}
	})
}

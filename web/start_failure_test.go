package web_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"roster/web"
)

// expectStartFailure starts Roster in a fresh data directory with the flags
// and environment, fails the test if it starts, and checks that the error
// holds each of want. It returns the error for further checks.
func expectStartFailure(t *testing.T, args []string, getenv func(string) string, want ...string) error {
	t.Helper()
	cfg, err := web.ParseConfig("roster", append([]string{"--data-dir", t.TempDir()}, args...), func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(context.Background(), cfg, discardLog(), web.Options{Getenv: getenv, BcryptCost: 4})
	if err == nil {
		srv.Close()
		t.Fatal("started")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	return err
}

package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"roster/web"
)

// On an address already in use, the start fails before it touches the
// data directory: no database is created or migrated, no owner made.
func TestAddressInUseTouchesNoData(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := filepath.Join(t.TempDir(), "data")
	cfg, err := web.ParseConfig("roster", []string{"--addr", busy.Addr().String(), "--data-dir", dir}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("started on an address in use")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(dir)
		t.Errorf("the data directory was touched: %v", entries)
	}
}

// runRoster runs roster's command line as main does, with no environment.
func runRoster(args ...string) (code int, stdout, stderr string) {
	var out, errs strings.Builder
	code = dispatch(context.Background(), args, console{stdout: &out, stderr: &errs, getenv: func(string) string { return "" }})
	return code, out.String(), errs.String()
}

// `roster --help` and `roster help` list every subcommand with its summary,
// and then the server's flags; `roster SUBCOMMAND --help` shows its own.
func TestHelpListsEverySubcommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out, errs := runRoster(args...)
		if code != 0 || errs != "" {
			t.Errorf("roster %v: exit %d, stderr %q", args, code, errs)
		}
		for _, cmd := range commands() {
			if !regexp.MustCompile(`(?m)^  ` + cmd.name + ` +` + regexp.QuoteMeta(cmd.summary) + `$`).MatchString(out) {
				t.Errorf("roster %v does not list %s:\n%s", args, cmd.name, out)
			}
		}
		if !strings.Contains(out, "--addr") || !strings.Contains(out, "--otp-ttl") {
			t.Errorf("roster %v lacks the server's flags", args)
		}
	}
	for _, cmd := range commands() {
		code, out, errs := runRoster(cmd.name, "--help")
		if code != 0 || !strings.Contains(strings.ToLower(out+errs), "usage") {
			t.Errorf("roster %s --help: exit %d, %q %q", cmd.name, code, out, errs)
		}
	}
	if code, out, _ := runRoster("help", "keys"); code != 0 || !strings.Contains(out, "--format") && !strings.Contains(out, "-format") {
		t.Errorf("roster help keys: exit %d, %q", code, out)
	}
}

// Exit codes: 2 for a command line that cannot run (an unknown subcommand,
// flag or value, a missing argument), 1 for a failure of the work.
func TestExitCodes(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none")
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"frobnicate"}, 2, `roster: unknown subcommand "frobnicate"`},
		{[]string{"--no-such-flag"}, 2, "roster: configuration: flag provided but not defined"},
		{[]string{"serve", "--otp-ttl", "soon"}, 2, "roster: configuration:"},
		{[]string{"keys", "--format", "xml"}, 2, `roster keys: --format must be env or yaml, not "xml"`},
		{[]string{"keys", "extra"}, 2, "roster keys: unexpected arguments"},
		{[]string{"admin", "promote"}, 2, `roster admin: unknown action "promote"`},
		{[]string{"admin", "create", "--name", "alice", "--role", "emperor"}, 2, "roster admin:"},
		{[]string{"backup"}, 2, "roster backup: usage: roster backup --out FILE"},
		{[]string{"copy", "--data-dir", missing}, 2, "roster copy: usage: roster copy --to"},
		{[]string{"seed", "extra"}, 2, "roster seed: unexpected arguments"},
		{[]string{"help", "frobnicate", "now"}, 2, "roster help:"},
		{[]string{"backup", "--out", filepath.Join(t.TempDir(), "copy.db"), "--data-dir", missing}, 1, "roster backup: there is no data directory"},
		{[]string{"admin", "revoke-sessions", "--name", "alice", "--data-dir", missing}, 1, "roster admin:"},
	} {
		code, _, errs := runRoster(c.args...)
		if code != c.code || !strings.Contains(errs, c.says) {
			t.Errorf("roster %v: exit %d (want %d), stderr %q (want %q)", c.args, code, c.code, errs, c.says)
		}
	}
	if _, _, errs := runRoster("frobnicate"); !strings.Contains(errs, "  keys  ") {
		t.Errorf("an unknown subcommand does not list the subcommands: %q", errs)
	}
}

// Roster is a self-hosted backend for messaging apps: phone sign-in with
// one-time codes, access tokens, contact sync and an admin dashboard, in one
// binary. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"roster/web"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "admin" {
		if err := web.AdminCommand(context.Background(), args[1:], os.Getenv, stdinIfPiped(), os.Stdout); err != nil && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "roster admin:", err)
			os.Exit(2)
		}
		return
	}
	if len(args) > 0 && args[0] == "backup" {
		if err := web.BackupCommand(context.Background(), args[1:], os.Getenv, os.Stdout); err != nil && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "roster backup:", err)
			os.Exit(1)
		}
		return
	}
	if len(args) > 0 && args[0] == "keys" {
		if err := web.KeysCommand(args[1:], os.Stdout); err != nil && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "roster keys:", err)
			os.Exit(2)
		}
		return
	}
	if len(args) > 0 && args[0] == "seed" {
		seed(args[1:])
		return
	}
	if len(args) > 0 && args[0] == "copy" {
		copyCommand(args[1:])
		return
	}
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	if os.Getenv("GOGC") == "" {
		// The server's Go heap is small (tens of MiB; SQLite's caches are
		// outside it), so at Go's default of 100 the collector runs several
		// times a second under load: measured with the load benchmark, a
		// 1,000-number re-sync spent about a fifth of its CPU in it, and
		// 200 cut that to 2.5 CPU-ms from 3.2 for some 20 MiB more RSS.
		// GOGC set in the environment still wins.
		debug.SetGCPercent(200)
	}
	cfg, err := web.ParseConfig("roster", args, os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "roster: configuration:", err)
		os.Exit(2)
	}
	log := newLogger(os.Stderr, cfg.LogFormat, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("roster stopped", "err", err)
		os.Exit(1)
	}
}

// run serves until ctx is cancelled (SIGINT/SIGTERM), then shuts down
// gracefully and closes the database.
//
// The address is bound first: on an address in use, nothing has touched
// the data directory (no database created or migrated, no owner made).
func run(ctx context.Context, cfg web.Config, log *slog.Logger) error {
	log.Info("starting roster", "config", cfg.Redacted())
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv, err := web.New(ctx, cfg, log, web.Options{})
	if err != nil {
		ln.Close()
		return err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			log.Error("closing the database", "err", err)
		}
	}()
	return srv.Serve(ctx, ln)
}

// seed runs `roster seed` (see web.Seed).
func seed(args []string) {
	log := newLogger(os.Stderr, "text", "info")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := web.Seed(ctx, args, os.Getenv, os.Stdout, log)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "roster seed:", err)
		os.Exit(1)
	}
}

// copyCommand runs `roster copy` (see web.CopyCommand); Ctrl-C stops it
// between batches, and running it again resumes.
func copyCommand(args []string) {
	// Errors only: the copy's full-table reads would each be logged as slow
	// statements.
	log := newLogger(os.Stderr, "text", "error")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := web.CopyCommand(ctx, args, os.Getenv, os.Stdout, log)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "roster copy:", err)
		os.Exit(1)
	}
}

func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// stdinIfPiped returns stdin when it is not a terminal: a password is piped
// in, never typed visibly.
func stdinIfPiped() io.Reader {
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice == 0 {
		return os.Stdin
	}
	return nil
}

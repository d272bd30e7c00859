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
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"roster/web"
)

func main() {
	// Every subcommand stops on SIGINT and SIGTERM through its context: the
	// server shuts down gracefully, a copy stops between batches.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:], console{stdin: stdinIfPiped(), stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// console is what a subcommand reads and writes: the process's own in main.
type console struct {
	stdin          io.Reader // nil when stdin is a terminal
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one subcommand: `roster NAME ARGS…` runs run with ARGS.
type command struct {
	name, summary string
	run           func(ctx context.Context, c console, args []string) error
}

// commands lists roster's subcommands in the order `roster --help` shows them.
func commands() []command {
	return []command{
		{"serve", "run the server (also without a subcommand: roster --addr … is roster serve --addr …)", serve},
		{"admin", "create dashboard admins, reset their passwords, sign them out of every browser", func(ctx context.Context, c console, args []string) error {
			return web.AdminCommand(ctx, args, c.getenv, c.stdin, c.stdout)
		}},
		{"users", "unlock a number locked after wrong codes, or create an account awaiting its owner's first sign-in", func(ctx context.Context, c console, args []string) error {
			return web.UsersCommand(ctx, args, c.getenv, c.stdout)
		}},
		{"backup", "copy the SQLite database and its secrets, also while the server runs", func(ctx context.Context, c console, args []string) error {
			return web.BackupCommand(ctx, args, c.getenv, c.stdout)
		}},
		{"copy", "copy a SQLite deployment into PostgreSQL (stopped by Ctrl-C between batches; run again to resume)", copyCommand},
		{"keys", "print a fresh set of the generated secrets for the environment of every instance", func(_ context.Context, c console, args []string) error {
			return web.KeysCommand(args, c.stdout)
		}},
		{"seed", "fill an empty data directory with a generated deployment (benchmarks, demos)", seed},
		{"help", "list the subcommands and the server's flags; help SUBCOMMAND: its flags", help},
	}
}

// errLogged is a failure already written to the log.
var errLogged = errors.New("the failure is in the log")

// dispatch runs the subcommand args name (serve when the first argument is
// a flag, or there is none) and returns the exit code: 0, 2 for a usage
// error (an unknown subcommand or flag, a bad or missing argument), 1 for a
// failure.
func dispatch(ctx context.Context, args []string, c console) int {
	name, rest := "serve", args
	if len(args) > 0 {
		switch {
		case args[0] == "-h" || args[0] == "-help" || args[0] == "--help":
			name, rest = "help", nil
		case !strings.HasPrefix(args[0], "-"):
			name, rest = args[0], args[1:]
		}
	}
	for _, cmd := range commands() {
		if cmd.name != name {
			continue
		}
		err := cmd.run(ctx, c, rest)
		prefix := "roster " + name
		if name == "serve" {
			prefix = "roster"
		}
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, web.ErrUsage):
			fmt.Fprintf(c.stderr, "%s: %v\n", prefix, err)
			return 2
		case !errors.Is(err, errLogged):
			fmt.Fprintf(c.stderr, "%s: %v\n", prefix, err)
		}
		return 1
	}
	fmt.Fprintf(c.stderr, "roster: unknown subcommand %q\n\n", name)
	listCommands(c.stderr)
	return 2
}

// help is `roster help` (and `roster --help`): the subcommands, then the
// server's flags; `roster help NAME` is `roster NAME --help`.
func help(ctx context.Context, c console, args []string) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		args = nil
	}
	if len(args) == 1 && args[0] != "help" {
		for _, cmd := range commands() {
			if cmd.name == args[0] {
				return cmd.run(ctx, c, []string{"--help"})
			}
		}
	}
	if len(args) > 0 {
		return web.MarkUsage(fmt.Errorf("help takes one subcommand name, not %q", strings.Join(args, " ")))
	}
	listCommands(c.stdout)
	fmt.Fprintln(c.stdout, "\n`roster SUBCOMMAND --help` lists a subcommand's flags. The server's:")
	fmt.Fprintln(c.stdout)
	_, err := web.ParseConfig("roster", []string{"--help"}, func(string) string { return "" }, c.stdout)
	return err
}

// listCommands prints the usage line and the subcommands with their summaries.
func listCommands(w io.Writer) {
	fmt.Fprintln(w, "Usage: roster [SUBCOMMAND] [flags]\n\nSubcommands:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, cmd := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", cmd.name, cmd.summary)
	}
	tw.Flush()
}

// serve is `roster serve`, what roster runs without a subcommand.
func serve(ctx context.Context, c console, args []string) error {
	if c.getenv("GOGC") == "" {
		// The server's Go heap is small (tens of MiB; SQLite's caches are
		// outside it), so at Go's default of 100 the collector runs several
		// times a second under load: measured with the load benchmark, a
		// 1,000-number re-sync spent about a fifth of its CPU in it, and
		// 200 cut that to 2.5 CPU-ms from 3.2 for some 20 MiB more RSS.
		// GOGC set in the environment still wins.
		debug.SetGCPercent(200)
	}
	cfg, err := web.ParseConfig("roster", args, c.getenv, c.stderr)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	if err != nil {
		return web.MarkUsage(fmt.Errorf("configuration: %w", err))
	}
	if c.getenv("GOMEMLIMIT") == "" && cfg.Load.MemoryLimitMB > 0 {
		// A soft limit: with GOGC at 200 the heap may grow to three times
		// what is live before a collection, and a burst of 1,024
		// connections holds some 65 MiB live; near the limit the collector
		// runs sooner instead (at most half the CPU), so a burst's garbage
		// does not take the process past what a small machine has.
		debug.SetMemoryLimit(int64(cfg.Load.MemoryLimitMB) << 20)
	}
	// The log is written in blocks (web.LogBuffer): warnings and errors at
	// once, the rest at least every 100 ms, all of it before serve returns.
	out := web.NewLogBuffer(c.stderr, 100*time.Millisecond)
	defer out.Close()
	log := slog.New(out.FlushOnWarn(newLogger(out, cfg.LogFormat, cfg.LogLevel).Handler()))
	if err := run(ctx, cfg, log); err != nil {
		log.Error("roster stopped", "err", err)
		return errLogged
	}
	return nil
}

// run serves until ctx is cancelled (SIGINT/SIGTERM), then shuts down
// gracefully and closes the database.
//
// The address is bound first: on an address in use, nothing has touched
// the data directory (no database created or migrated, no owner made).
func run(ctx context.Context, cfg web.Config, log *slog.Logger) error {
	log.Info("starting roster", "config", cfg)
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
func seed(ctx context.Context, c console, args []string) error {
	return web.Seed(ctx, args, c.getenv, c.stdout, newLogger(c.stderr, "text", "info"))
}

// copyCommand runs `roster copy` (see web.CopyCommand); a cancelled ctx
// stops it between batches, and running it again resumes.
func copyCommand(ctx context.Context, c console, args []string) error {
	// Errors only: the copy's full-table reads would each be logged as slow
	// statements.
	return web.CopyCommand(ctx, args, c.getenv, c.stdout, newLogger(c.stderr, "text", "error"))
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

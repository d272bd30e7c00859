package web

import (
	"context"
	"flag"
	"fmt"
	"io"

	"roster/models"
)

// UsersCommand is `roster users unlock NUMBER`: the dashboard's "unlock the
// number" from a shell, on the data directory's database (or
// ROSTER_DATABASE_URL), audited with the actor "cli".
func UsersCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	const usage = "usage: roster users unlock NUMBER [--region US] [--data-dir DIR]\n" +
		"Clears the number's wrong codes and locks on every network and restarts its hourly and daily code quotas.\n" +
		"NUMBER is in any format; a national one is read in --region (the dashboard's --admin-region)."
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(stdout, usage)
		return flag.ErrHelp
	}
	if args[0] != "unlock" {
		return MarkUsage(fmt.Errorf("unknown action %q\n%s", args[0], usage))
	}
	fs := flag.NewFlagSet("roster users unlock", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprintln(stdout, usage+"\n\nFlags:"); fs.PrintDefaults() }
	dataDir := fs.String("data-dir", "./data", "data directory [$"+EnvName("data-dir")+"]")
	region := fs.String("region", "US", "region of a number in national format [$"+EnvName("admin-region")+"]")
	if v := getenv(EnvName("data-dir")); v != "" {
		*dataDir = v
	}
	if v := getenv(EnvName("admin-region")); v != "" {
		*region = v
	}
	plain, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return MarkUsage(err)
	}
	if len(plain) != 1 {
		return MarkUsage(fmt.Errorf("one number to unlock\n%s", usage))
	}
	p, err := models.ParseDashboardPhone(plain[0], *region)
	if err != nil {
		return MarkUsage(fmt.Errorf("%q is not a phone number: %w", plain[0], err))
	}
	db, err := adminCommandDB(ctx, *dataDir, getenv(EnvName("database-url")))
	if err != nil {
		return err
	}
	defer db.Close()
	// Unlocking writes the guards, the quota reset and the audit entry: no
	// sessions, files or profiles are touched.
	actions := models.NewUserActions(db, models.SystemClock{}, nil, nil, nil)
	u, err := actions.UnlockPhone(ctx, p.E164, "cli", models.ClientInfo{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "unlocked %s: it was locked on %d network(s); its wrong codes and code quotas start afresh\n", p.E164, u.Locked)
	return nil
}

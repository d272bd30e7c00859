package web

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"roster/models"
)

// UsersCommand is `roster users unlock NUMBER` and `roster users create
// --phone NUMBER --name NAME`: the dashboard's "unlock the number" and
// "create a user" from a shell, on the data directory's database (or
// ROSTER_DATABASE_URL), audited with the actor "cli".
func UsersCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	const usage = "usage: roster users unlock NUMBER [--region US] [--data-dir DIR]\n" +
		"       roster users create --phone NUMBER [--name NAME] [--region US] [--data-dir DIR]\n" +
		"unlock clears the number's wrong codes and locks on every network and restarts its hourly and daily code quotas.\n" +
		"create makes an account for the number, hidden from address books until its owner first signs in with a code.\n" +
		"NUMBER is in any format; a national one is read in --region (the dashboard's --admin-region)."
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(stdout, usage)
		return flag.ErrHelp
	}
	if args[0] != "unlock" && args[0] != "create" {
		return MarkUsage(fmt.Errorf("unknown action %q\n%s", args[0], usage))
	}
	fs := flag.NewFlagSet("roster users "+args[0], flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprintln(stdout, usage+"\n\nFlags:"); fs.PrintDefaults() }
	dataDir := fs.String("data-dir", "./data", "data directory [$"+EnvName("data-dir")+"]")
	region := fs.String("region", "US", "region of a number in national format [$"+EnvName("admin-region")+"]")
	var phone, name *string
	if args[0] == "create" {
		phone = fs.String("phone", "", "the number of the account to create, in any format")
		name = fs.String("name", "", "the account's name")
	}
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
	number := ""
	switch {
	case args[0] == "unlock" && len(plain) != 1:
		return MarkUsage(fmt.Errorf("one number to unlock\n%s", usage))
	case args[0] == "unlock":
		number = plain[0]
	case len(plain) != 0 || *phone == "":
		return MarkUsage(fmt.Errorf("create takes --phone and --name, nothing else\n%s", usage))
	default:
		number = *phone
	}
	p, err := models.ParseDashboardPhone(number, *region)
	if err != nil {
		return MarkUsage(fmt.Errorf("%q is not a phone number: %w", number, err))
	}
	if name != nil && len([]rune(*name)) > models.MaxNameLen {
		return MarkUsage(fmt.Errorf("the name is longer than %d characters", models.MaxNameLen))
	}
	db, err := adminCommandDB(ctx, *dataDir, getenv(EnvName("database-url")))
	if err != nil {
		return err
	}
	defer db.Close()
	// Unlocking writes the guards, the quota reset and the audit entry;
	// creating, the user row and its audit entry: no sessions, files or
	// profiles are touched.
	actions := models.NewUserActions(db, models.SystemClock{}, nil, nil, nil)
	if args[0] == "create" {
		u, err := actions.CreateUser(ctx, p, *name, "cli", models.ClientInfo{})
		var existing *models.ExistingUserError
		if errors.As(err, &existing) {
			return fmt.Errorf("%s already has an account: user %d; nothing was created", existing.Phone, existing.ID)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created user %d for %s; it is found by address books once its owner signs in with a code\n", u.ID, u.Phone)
		return nil
	}
	u, err := actions.UnlockPhone(ctx, p.E164, "cli", models.ClientInfo{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "unlocked %s: it was locked on %d network(s); its wrong codes and code quotas start afresh\n", p.E164, u.Locked)
	return nil
}

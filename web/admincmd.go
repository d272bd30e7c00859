package web

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"roster/models"
)

// AdminCommand runs `roster admin create --name NAME [--role R]`,
// `roster admin reset-password --name NAME`, `roster admin
// revoke-sessions --name NAME` and `roster admin disable-2fa --name NAME`, with the same --flag style as the server
// (the name may also come as the one plain argument, and flags may stand
// before or after it). The password is read from the first line of stdin;
// when stdin is empty a random one is generated and printed.
func AdminCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	const usage = "usage: roster admin create --name NAME [--role owner|operator|viewer] [--data-dir DIR]\n" +
		"       roster admin reset-password --name NAME [--data-dir DIR]\n" +
		"       roster admin revoke-sessions --name NAME [--data-dir DIR]   (signs NAME out of every browser)\n" +
		"       roster admin disable-2fa --name NAME [--data-dir DIR]       (NAME lost their authenticator and recovery codes)\n" +
		"The password is read from stdin (first line); with empty stdin one is generated and printed."
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(stdout, usage)
		return flag.ErrHelp
	}
	action := args[0]
	if action != "create" && action != "reset-password" && action != "revoke-sessions" && action != "disable-2fa" {
		return MarkUsage(fmt.Errorf("unknown action %q\n%s", action, usage))
	}
	fs := flag.NewFlagSet("roster admin "+action, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprintln(stdout, usage+"\n\nFlags:"); fs.PrintDefaults() }
	dataDir := fs.String("data-dir", "./data", "data directory [$"+EnvName("data-dir")+"]")
	nameFlag := fs.String("name", "", "the admin's name")
	role := fs.String("role", models.RoleOperator, "role of a new admin: owner, operator or viewer")
	if v := getenv(EnvName("data-dir")); v != "" {
		*dataDir = v
	}
	plain, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return MarkUsage(err)
	}
	name := *nameFlag
	switch {
	case len(plain) == 1 && name == "":
		name = plain[0]
	case len(plain) > 0 || name == "":
		//lint:ignore ST1005 the message is the usage text, sentences and all
		return MarkUsage(errors.New(usage))
	}
	if action == "create" {
		if err := models.CheckAdminInput(name, *role); err != nil {
			return MarkUsage(err)
		}
	}
	var password string
	var generated bool
	if action == "create" || action == "reset-password" {
		var err error
		if password, err = readPassword(stdin); err != nil {
			return err
		}
		generated = password == ""
		if generated {
			password = models.GeneratePassword()
		}
	}
	db, err := adminCommandDB(ctx, *dataDir, getenv(EnvName("database-url")))
	if err != nil {
		return err
	}
	defer db.Close()
	admins := models.NewAdmins(db, models.SystemClock{}, models.DefaultAdminPolicy())
	switch action {
	case "create":
		if _, err := admins.Create(ctx, name, *role, password, "cli", models.ClientInfo{}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created admin %q with role %s\n", name, *role)
	case "reset-password":
		if err := admins.ResetPassword(ctx, name, password, "cli", models.ClientInfo{}); errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("there is no admin named %q", name)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new password set for %q; their sessions were ended\n", name)
	case "revoke-sessions":
		n, err := admins.RevokeSessionsByName(ctx, name, "cli")
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("there is no admin named %q", name)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d sessions of %q revoked\n", n, name)
	case "disable-2fa":
		on, err := admins.RemoveSecondFactorByName(ctx, name, "cli")
		switch {
		case errors.Is(err, models.ErrNotFound):
			return fmt.Errorf("there is no admin named %q", name)
		case err != nil:
			return err
		case on:
			fmt.Fprintf(stdout, "two-factor sign-in of %q turned off; they sign in with their password and may set it up again\n", name)
		default:
			fmt.Fprintf(stdout, "%q had no two-factor sign-in\n", name)
		}
	}
	if generated {
		fmt.Fprintf(stdout, "password: %s\n", password)
	}
	return nil
}

func readPassword(r io.Reader) (string, error) {
	if r == nil {
		return "", nil
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// parseInterspersed parses flags that may stand before and after plain
// arguments (the flag package stops at the first plain one), and returns the
// plain arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var plain []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return plain, nil
		}
		plain = append(plain, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// adminCommandDB opens the deployment's database: PostgreSQL when
// ROSTER_DATABASE_URL is set, else the data directory's existing SQLite
// file, beside the running server or not.
func adminCommandDB(ctx context.Context, dataDir, databaseURL string) (*models.DB, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if databaseURL != "" {
		db, err := models.OpenPostgres(ctx, databaseURL, models.PostgresPool{MaxOpen: 2, MaxIdle: 2}, log)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", EnvName("database-url"), redactURL(databaseURL), err)
		}
		return db, nil
	}
	path, err := existingDatabase(dataDir)
	if err != nil {
		return nil, err
	}
	return models.OpenForCommand(ctx, path, log)
}

package web

import (
	"flag"
	"fmt"
	"io"
	"strconv"

	"roster/models"
)

// KeysCommand is `roster keys`: a fresh set of the secrets Roster would
// otherwise generate into DATA-DIR/secrets/, printed for an environment
// file or a Kubernetes Secret. Instances that share a database must share
// these keys, and only the environment can give them all the same ones.
// It touches no data directory.
func KeysCommand(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("roster keys", flag.ContinueOnError)
	fs.SetOutput(out)
	format := fs.String("format", "env", "output format: env (NAME=value lines for an environment file) or yaml (a Kubernetes Secret, its stringData)")
	fs.Usage = func() {
		fmt.Fprintln(out, "Usage: roster keys [--format env|yaml]\n\nPrints a fresh set of every generated secret (ROSTER_OTP_KEY, …) to paste into the\nenvironment of every instance; nothing is stored.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return MarkUsage(err)
	}
	if fs.NArg() > 0 {
		return MarkUsage(fmt.Errorf("unexpected arguments: %v", fs.Args()))
	}
	var keys []secretVar
	for _, s := range secretVars() {
		if s.key != "" {
			keys = append(keys, s)
		}
	}
	values := make([]string, len(keys))
	for i := range keys {
		values[i] = models.NewToken()
	}
	switch *format {
	case "env":
		writeKeysEnv(out, keys, values)
	case "yaml":
		writeKeysYAML(out, keys, values)
	default:
		return MarkUsage(fmt.Errorf("--format must be env or yaml, not %q", *format))
	}
	return nil
}

// keysWarning heads the output: what an operator must know before pasting it.
const keysWarning = `# Roster keys made by "roster keys". Give every instance the same values, and keep them
# with the database backups: changing a key over existing data breaks what it protects.
`

func writeKeysEnv(out io.Writer, keys []secretVar, values []string) {
	fmt.Fprint(out, keysWarning)
	for i, k := range keys {
		fmt.Fprintf(out, "\n# %s\n%s=%s\n", k.protects, k.env, values[i])
	}
}

// writeKeysYAML writes a Kubernetes Secret; the values are quoted so that
// YAML never reads one as a number.
func writeKeysYAML(out io.Writer, keys []secretVar, values []string) {
	fmt.Fprint(out, keysWarning)
	fmt.Fprint(out, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: roster-keys\ntype: Opaque\nstringData:\n")
	for i, k := range keys {
		fmt.Fprintf(out, "  # %s\n  %s: %s\n", k.protects, k.env, strconv.Quote(values[i]))
	}
}

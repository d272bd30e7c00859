package web

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"roster/models"
	"roster/models/dbcopy"
)

// CopyCommand is `roster copy --to postgres://… [--files-to s3://…]`: a
// stopped (or backed-up) SQLite deployment copied into an empty PostgreSQL
// database and, optionally, its files into an object store. Every row is
// compared after the copy; an interrupted copy resumes when run again. It
// ends by printing the generated keys in the form the environment takes
// (hex:…), which every instance on PostgreSQL must be given: the copied
// codes, address books and cookies were made with them.
func CopyCommand(ctx context.Context, args []string, getenv func(string) string, out io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("roster copy", flag.ContinueOnError)
	fs.SetOutput(out)
	dataDir := fs.String("data-dir", "./data", "data directory of the SQLite deployment to copy (stopped, or a backup restored there) [$"+EnvName("data-dir")+"]")
	to := fs.String("to", "", "PostgreSQL database to copy into: postgres://USER:PASSWORD@HOST/DB (migrated here if new; must hold no rows)")
	files := FilesConfig{RedirectTTL: 15 * time.Minute} // not used here; the check wants a valid one
	fs.StringVar(&files.URL, "files-to", "", "also copy the uploaded files to this object store: s3://BUCKET/PREFIX (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&files.S3Endpoint, "s3-endpoint", "", "S3 API endpoint of --files-to (empty = AWS S3)")
	fs.StringVar(&files.S3Region, "s3-region", "", "region of the --files-to bucket")
	fs.BoolVar(&files.S3PathStyle, "s3-path-style", false, "address the --files-to bucket in the URL path")
	if v := getenv(EnvName("data-dir")); v != "" {
		*dataDir = v
	}
	if err := fs.Parse(args); err != nil {
		return MarkUsage(err)
	}
	if *to == "" || fs.NArg() > 0 {
		return MarkUsage(errors.New("usage: roster copy --to postgres://… [--data-dir DIR] [--files-to s3://BUCKET/PREFIX]"))
	}
	if errs := files.check(); len(errs) > 0 {
		return MarkUsage(errors.Join(errs...))
	}
	dbPath, err := filepath.Abs(filepath.Join(*dataDir, "roster.db"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("no SQLite database to copy at %s", dbPath)
	}
	// A server writing during the copy would write rows the copy misses.
	lock, err := lockDataDir(*dataDir, "copy")
	if err != nil {
		return err
	}
	defer lock.release()
	src, err := models.Open(ctx, dbPath, log)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := models.OpenPostgres(ctx, *to, models.PostgresPool{MaxOpen: 4, MaxIdle: 4}, log)
	if err != nil {
		return fmt.Errorf("--to %s: %w", redactURL(*to), err)
	}
	defer dst.Close()
	fmt.Fprintf(out, "copying %s into %s\n", dbPath, redactURL(*to))
	if err := dbcopy.ToPostgres(ctx, src, dst, dbPath, copyProgressPrinter(out)); err != nil {
		return fmt.Errorf("%w (run the same command again to resume)", err)
	}
	fmt.Fprintln(out, "database copied and compared row by row")
	if files.URL != "" {
		if err := copyFiles(ctx, *dataDir, Config{Files: files}, getenv, out); err != nil {
			return fmt.Errorf("files: %w (run the same command again to resume)", err)
		}
	}
	return printCopiedKeys(*dataDir, getenv, out)
}

// copyProgressPrinter prints a line per table at most every two seconds,
// with the rate and an estimate of the time left.
func copyProgressPrinter(out io.Writer) func(dbcopy.Progress) {
	var last time.Time
	var lastTable string
	return func(p dbcopy.Progress) {
		finished := p.Total > 0 && p.Done >= p.Total
		if p.Table == lastTable && !finished && time.Since(last) < 2*time.Second {
			return
		}
		last, lastTable = time.Now(), p.Table
		rate := float64(p.Done) / max(p.TableElapsed.Seconds(), 0.001)
		line := fmt.Sprintf("%s %s: %d", p.Stage, p.Table, p.Done)
		if p.Total > 0 {
			line += fmt.Sprintf(" of %d (%.0f%%)", p.Total, 100*float64(p.Done)/float64(max(p.Total, 1)))
		}
		line += fmt.Sprintf(", %.0f rows/s", rate)
		if p.Total > p.Done && rate > 0 {
			line += fmt.Sprintf(", about %s left", (time.Duration(float64(p.Total-p.Done)/rate) * time.Second).Round(time.Second))
		}
		fmt.Fprintln(out, line)
	}
}

// copyFiles copies the data directory's uploaded files that the object
// store does not hold yet.
func copyFiles(ctx context.Context, dataDir string, cfg Config, getenv func(string) string, out io.Writer) error {
	dir := filepath.Join(dataDir, "files")
	from, err := models.NewDirFiles(dir)
	if err != nil {
		return err
	}
	to, err := openFiles(ctx, cfg, getenv)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	copied, present := 0, 0
	for i, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		done, err := copyFile(ctx, from, to, e.Name())
		if err != nil {
			return fmt.Errorf("%s: %w", e.Name(), err)
		}
		if done {
			copied++
		} else {
			present++
		}
		if (i+1)%500 == 0 {
			fmt.Fprintf(out, "files: %d of %d\n", i+1, len(entries))
		}
	}
	fmt.Fprintf(out, "files: %d copied to %s, %d already there\n", copied, to.Describe(), present)
	return nil
}

// copyFile copies one file unless the destination has it (a resumed copy).
func copyFile(ctx context.Context, from, to models.FileStore, name string) (bool, error) {
	if held, err := to.Exists(ctx, name); err != nil || held {
		return false, err
	}
	f, err := from.Open(ctx, name)
	if err != nil {
		return false, err
	}
	defer f.Body.Close()
	data, err := io.ReadAll(f.Body)
	if err != nil {
		return false, err
	}
	return true, to.Put(ctx, name, data, f.ContentType)
}

// printCopiedKeys prints the data directory's generated keys as the
// environment takes them.
func printCopiedKeys(dataDir string, getenv func(string) string, out io.Writer) error {
	fmt.Fprintln(out, "\n# Give every instance on PostgreSQL these keys (the copied data was made with them);")
	fmt.Fprintln(out, "# keep them as secret as the database.")
	for _, v := range secretVars() {
		if v.key == "" {
			continue
		}
		if getenv(v.env) != "" || getenv(v.env+secretFileSuffix) != "" {
			fmt.Fprintf(out, "# %s: give the instances the value this deployment has in its environment.\n", v.env)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dataDir, "secrets", v.key+".key"))
		if errors.Is(err, fs.ErrNotExist) {
			// Nothing was made with it yet: a new one completes the set.
			fmt.Fprintf(out, "# %s is new: the copied deployment never made one.\n", v.env)
			b = []byte(models.NewToken())
		} else if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s=%s%s\n", v.env, hexSecretPrefix, strings.TrimSpace(string(b)))
	}
	return nil
}

package web

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// secretFileSuffix names the variable that holds the path of a file with
// the secret instead of the secret itself: ROSTER_OTP_KEY_FILE for
// ROSTER_OTP_KEY. This is how Docker and Kubernetes hand secrets over (as
// files in a mounted volume), and it keeps them out of the process
// environment, which crash reports and /proc/PID/environ expose.
const secretFileSuffix = "_FILE"

// maxSecretFile bounds what is read from a secret file: a path pointing at
// a log or a device by mistake must not fill the memory. (Pipes are read:
// ROSTER_OTP_KEY_FILE=<(pass show roster/otp) works.)
const maxSecretFile = 64 << 10

// withSecretFiles returns getenv that also answers every secret of
// secretVars() from the file its NAME_FILE variable names. Each file is
// read once, here, so that a wrong path stops the start with the
// variable's name rather than failing later in the feature that needs it.
// Setting both NAME and NAME_FILE is an error: which one wins would be a
// guess. Files that other users may read are logged as a warning; no
// secret value is ever logged.
func withSecretFiles(getenv func(string) string, log *slog.Logger) (func(string) string, error) {
	fromFiles := map[string]string{}
	var errs []error
	for _, s := range secretVars() {
		fileVar := s.env + secretFileSuffix
		path := getenv(fileVar)
		if path == "" {
			continue
		}
		if getenv(s.env) != "" {
			errs = append(errs, fmt.Errorf("%s and %s are both set: keep one", s.env, fileVar))
			continue
		}
		v, err := readSecretFile(fileVar, path, log)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fromFiles[s.env] = v
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(fromFiles) == 0 {
		return getenv, nil
	}
	return func(name string) string {
		if v, ok := fromFiles[name]; ok {
			return v
		}
		return getenv(name)
	}, nil
}

// readSecretFile reads the secret in the file at path, named by the
// variable fileVar, without its trailing line break (editors and
// `echo` add one that is no part of the secret).
func readSecretFile(fileVar, path string, log *slog.Logger) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fileVar, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("%s: %w", fileVar, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("%s: %w", fileVar, err)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s: %s is larger than %d KiB: not a secret file", fileVar, path, maxSecretFile>>10)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("%s: %s is empty", fileVar, path)
	}
	if fi.Mode().Perm()&0o004 != 0 {
		log.Warn("a secret file is readable by every user of this machine: restrict it to Roster's account (chmod 600; Kubernetes: defaultMode 0400)",
			"variable", fileVar, "path", path, "mode", fi.Mode().Perm().String())
	}
	return v, nil
}

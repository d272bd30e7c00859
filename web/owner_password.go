package web

import (
	"crypto/subtle"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
)

// firstPasswordFile is DATA-DIR/owner-password.txt, which the first start
// writes the owner's generated password to (writeOwnerPassword). Once that
// password is changed the file is deleted; while a deletion failed the
// dashboard shows a banner.
type firstPasswordFile struct {
	path   string
	log    *slog.Logger
	failed atomic.Bool // a deletion failed (in this process)
}

// Retire deletes the file when it holds password.
func (f *firstPasswordFile) Retire(password string) (bool, error) {
	raw, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) || password == "" {
		return false, nil
	}
	if err != nil {
		f.failed.Store(true)
		f.log.Warn("cannot read the first owner's password file; delete it once its password is changed", "password_file", f.path, "err", err)
		return false, err
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(string(raw))), []byte(password)) != 1 {
		return false, nil
	}
	if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.failed.Store(true)
		f.log.Warn("cannot delete the first owner's password file, whose password was changed: delete it", "password_file", f.path, "err", err)
		return false, err
	}
	f.failed.Store(false)
	f.log.Info("deleted the first owner's password file: the password in it was changed", "password_file", f.path)
	return true, nil
}

// Left is the file's path while a deletion failed and it is still there.
func (f *firstPasswordFile) Left() string {
	if !f.failed.Load() {
		return ""
	}
	if _, err := os.Stat(f.path); errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	return f.path
}

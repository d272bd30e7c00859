package models

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"time"
)

// FileStore keeps the files users upload (profile photos, chat files)
// under flat names that Roster chooses: random, never reused, so a name
// is written once and its content never changes. Two stores implement it:
// the data directory (DirFiles, the default) and an S3-compatible bucket
// (S3Files, for several instances sharing their files).
type FileStore interface {
	// Put writes data under name atomically: readers see the whole file
	// or nothing, never part of it.
	Put(ctx context.Context, name string, data []byte, contentType string) error
	// Open returns a stored file; an unknown name is an error matching
	// fs.ErrNotExist. The caller closes the body.
	Open(ctx context.Context, name string) (*StoredFile, error)
	// Delete removes a file; an unknown name is not an error.
	Delete(ctx context.Context, name string) error
	// Exists reports whether the store holds a file (without reading it:
	// a resumed copy asks it of every file).
	Exists(ctx context.Context, name string) (bool, error)
	// Describe names the store for logs, without credentials.
	Describe() string
}

// FileLinker is a store that can hand out short-lived URLs of its own for
// a file, so that clients download from it rather than through Roster.
type FileLinker interface {
	SignedURL(ctx context.Context, name string, ttl time.Duration) (string, error)
}

// StoredFile is an opened stored file.
type StoredFile struct {
	Body        io.ReadCloser
	ContentType string
	Size        int64
}

// errBadFileName refuses a name that is not a plain file name: stores key
// files by name alone, and a slash or a dot-name could reach elsewhere.
var errBadFileName = errors.New("not a stored file name")

// checkFileName accepts the names Roster makes (letters, digits, one dot
// before the extension) and refuses anything with a path in it.
func checkFileName(name string) error {
	if name == "" || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`) || filepath.Base(name) != name {
		return errBadFileName
	}
	return nil
}

// notFound is the error of an unknown or refused name: to a reader both
// are "no such file".
func notFound(name string) error {
	return &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// contentTypeByName is the content type of a stored name from its
// extension, for stores that keep no metadata (the data directory).
func contentTypeByName(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	}
	return "application/octet-stream"
}

// cleanupTimeout bounds the removal of a file that is no longer wanted.
const cleanupTimeout = 30 * time.Second

// cleanupContext lets a removal finish when the request that asked for it
// has ended or timed out (a cancelled removal would leave an orphan), for
// at most cleanupTimeout.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}

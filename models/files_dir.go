package models

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DirFiles stores files in a directory of the data directory
// (DATA-DIR/files), one file a name, owner-only (0700 directory, 0600
// files): the layout of every deployment before object stores existed.
type DirFiles struct {
	dir string
}

// NewDirFiles returns the store in dir, created if needed.
func NewDirFiles(dir string) (*DirFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create files directory: %w", err)
	}
	return &DirFiles{dir: dir}, nil
}

// Put writes a temporary file beside the final name and renames it: a
// reader never opens a half-written file.
func (d *DirFiles) Put(_ context.Context, name string, data []byte, _ string) error {
	if err := checkFileName(name); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(d.dir, name), data)
}

// Open opens a stored file; its content type comes from its extension.
func (d *DirFiles) Open(_ context.Context, name string) (*StoredFile, error) {
	if checkFileName(name) != nil {
		return nil, notFound(name)
	}
	f, err := os.Open(filepath.Join(d.dir, name))
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &StoredFile{Body: f, ContentType: contentTypeByName(name), Size: st.Size()}, nil
}

// Exists reports whether the directory holds the file.
func (d *DirFiles) Exists(_ context.Context, name string) (bool, error) {
	if checkFileName(name) != nil {
		return false, nil
	}
	_, err := os.Stat(filepath.Join(d.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Delete removes a file; a missing one is already deleted.
func (d *DirFiles) Delete(_ context.Context, name string) error {
	if checkFileName(name) != nil {
		return nil
	}
	err := os.Remove(filepath.Join(d.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Describe names the directory.
func (d *DirFiles) Describe() string { return "directory " + d.dir }

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

package web

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// secretEnvOf names the environment variable of a generated secret.
func secretEnvOf(name string) string {
	for _, v := range secretVars() {
		if v.key == name {
			return v.env
		}
	}
	return name
}

// secretsDir is where generated secrets live: the data directory's, or
// none on PostgreSQL, where instances share the database and must share
// the keys (LoadSecret then never generates one).
func secretsDir(cfg Config) string {
	if cfg.DatabaseURL != "" {
		return ""
	}
	return cfg.DataDir
}

// minSecretLen is the shortest secret accepted from the environment.
const minSecretLen = 32

// hexSecretPrefix marks an environment secret given as hex bytes.
const hexSecretPrefix = "hex:"

// LoadSecret returns a named secret: from the environment value when set,
// else from DATA-DIR/secrets/NAME.key, which is created with 32 random bytes
// (mode 0600) on first use. Losing the file invalidates what it protects
// (codes, contact hashes, cookies), so back it up with the
// database. Before creating the file, inUse (when not nil) says what stored
// data depends on the secret: a new key over it would silently break it,
// so the start stops instead. With no data directory (PostgreSQL) the
// secret must come from the environment.
//
// An environment value "hex:HEX" is the key's bytes in hex, as the key
// files hold them: the form `roster copy` prints, so that a deployment
// moved to PostgreSQL keeps the keys its data was made with.
func LoadSecret(dataDir, name, fromEnv string, inUse func() (string, error)) ([]byte, error) {
	if h, ok := strings.CutPrefix(fromEnv, hexSecretPrefix); ok {
		key, err := hex.DecodeString(strings.TrimSpace(h))
		if err != nil || len(key) < 16 {
			return nil, fmt.Errorf("the %s secret from the environment starts with %q but is not at least 16 hex-encoded bytes", name, hexSecretPrefix)
		}
		return key, nil
	}
	if fromEnv == "" && dataDir == "" {
		return nil, fmt.Errorf("the %s secret must come from the environment (%s or %s_FILE) when the database is PostgreSQL: "+
			"every instance must use the same one. `roster keys` prints a new set; `roster copy` prints the keys of a moved deployment",
			name, secretEnvOf(name), secretEnvOf(name))
	}
	if fromEnv != "" {
		if len(fromEnv) < minSecretLen {
			return nil, fmt.Errorf("the %s secret from the environment must be at least %d characters", name, minSecretLen)
		}
		return []byte(fromEnv), nil
	}
	dir := filepath.Join(dataDir, "secrets")
	path := filepath.Join(dir, name+".key")
	if b, err := os.ReadFile(path); err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) < 16 {
			return nil, fmt.Errorf("secret file %s is damaged: it must hold at least 16 hex-encoded bytes", path)
		}
		return key, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	if inUse != nil {
		lost, err := inUse()
		if err != nil {
			return nil, err
		}
		if lost != "" {
			return nil, fmt.Errorf("the %s secret is missing: %s does not exist, but the database holds %s. "+
				"Restore the file from the backup of %s (roster backup copies it beside the database copy), or set it in "+
				"the environment; Roster does not generate a new one over existing data", name, path, lost, dir)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create secrets directory: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	// Write a temporary file, then link it into place: the key appears whole
	// or not at all, and of two processes starting at once the second links
	// nothing and reads the first one's key.
	tmp, err := os.CreateTemp(dir, name+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create secret file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return LoadSecret(dataDir, name, "", nil)
		}
		return nil, fmt.Errorf("create secret file: %w", err)
	}
	return key, nil
}

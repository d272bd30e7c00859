package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"roster/models"
)

// loadCheckedSecret is LoadSecret for a secret that protects stored data
// (code hashes, contact hashes), then refuses a key
// that is not the one the data was made with: a wrong but well-formed
// contacts key would otherwise start and match no stored contact, a wrong
// code key fail every code another instance sent. The database holds a
// check value of each such key (models.CheckSecret). While nothing stored
// depends on the key (secretGuard), a different one replaces the
// recorded value instead. The cookie keys are not checked: a new one only
// ends dashboard sessions, which is also how they are rotated.
func loadCheckedSecret(ctx context.Context, cfg Config, db *models.DB, clock models.Clock, log *slog.Logger, name, fromEnv string) ([]byte, error) {
	key, err := LoadSecret(secretsDir(cfg), name, fromEnv, secretGuard(ctx, db, name))
	if err != nil {
		return nil, err
	}
	recorded, err := db.CheckSecret(ctx, name, key, clock.Now())
	switch {
	case err == nil:
		if recorded {
			log.Info("recorded the check value of a secret: a start with a different key is refused from now on", "secret", name)
		}
		return key, nil
	case !errors.Is(err, models.ErrSecretMismatch):
		return nil, fmt.Errorf("check the %s secret: %w", name, err)
	}
	lost, err := secretGuard(ctx, db, name)()
	if err != nil {
		return nil, err
	}
	where := "$" + secretEnvOf(name)
	if fromEnv == "" {
		where = filepath.Join(cfg.DataDir, "secrets", name+".key")
	}
	if lost == "" {
		log.Warn("a secret changed while no stored data depends on it: recording the new key's check value", "secret", name, "from", where)
		return key, db.RecordSecret(ctx, name, key, clock.Now())
	}
	return nil, fmt.Errorf("the %s secret from %s is not the key this database was made with (its check value differs), and the "+
		"database holds %s. Give Roster the key it was made with (the %s file of the data directory's backup, or the "+
		"value every other instance has in $%s); Roster does not start with a different key over existing data",
		name, where, lost, name+".key", secretEnvOf(name))
}

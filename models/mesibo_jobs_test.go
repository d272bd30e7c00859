package models

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/gorm"
)

func openTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSealToken(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	sealed, err := sealToken(key, "mesibo-user-token")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := unsealToken(key, sealed); err != nil || got != "mesibo-user-token" {
		t.Fatalf("unseal: %q %v", got, err)
	}
	if _, err := unsealToken([]byte("another key entirely, 32 bytes.."), sealed); err == nil {
		t.Error("opened with the wrong key")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := unsealToken(key, sealed); err == nil {
		t.Error("opened a tampered token")
	}
}

// unsealToken opens a token sealed by the sign-in, as a holder of the key
// would.
func unsealToken(key, sealed []byte) (string, error) {
	gcm, err := tokenAEAD(key)
	if err != nil {
		return "", err
	}
	if len(sealed) < gcm.NonceSize() {
		return "", errors.New("sealed token too short")
	}
	plain, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], []byte("roster mesibo token"))
	if err != nil {
		return "", errors.New("the sealed token does not open with this key")
	}
	return string(plain), nil
}

// outboxAfter runs queue in a transaction and returns the outbox it leaves.
func outboxAfter(t *testing.T, db *DB, queue func(tx *gorm.DB) error) []OutboxMessage {
	t.Helper()
	if err := db.Write.Transaction(queue); err != nil {
		t.Fatal(err)
	}
	var rows []OutboxMessage
	if err := db.Read.Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

// Deleting an account queues userdel for its mesibo user in the same
// transaction; a user without a mesibo uid queues nothing.
func TestQueueMesiboUserDelete(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC).UnixMilli()
		rows := outboxAfter(t, db, func(tx *gorm.DB) error {
			for _, u := range []*User{
				{Phone: "+12015550123", CountryCode: 1, MesiboUID: "5302", Discoverable: "everyone", CreatedAt: now, ProfileAt: now},
				{Phone: "+33612345678", CountryCode: 33, Discoverable: "everyone", CreatedAt: now, ProfileAt: now},
			} {
				if err := tx.Create(u).Error; err != nil {
					return err
				}
				if err := queueMesiboUserDelete(tx, u, now); err != nil {
					return err
				}
			}
			return nil
		})
		if len(rows) != 1 || rows[0].Channel != MesiboChannel || rows[0].Kind != OutboxKindMesiboRevoke || rows[0].Recipient != "+12015550123" {
			t.Fatalf("rows %+v", rows)
		}
		var job MesiboJob
		if err := json.Unmarshal([]byte(rows[0].Body), &job); err != nil || job.Op != MesiboJobUserDel || job.UID != "5302" || job.Address != "" || job.TokenSealed != nil {
			t.Errorf("job %+v %v", job, err)
		}
	})
}

// Revoking a mesibo session queues one userdel for its mesibo user (mesibo
// has no op deleting one token); revoking more sessions of the same user
// while it is pending queues nothing more, and a session replaced on the
// same device queues nothing (the job would kill the token just issued).
func TestQueueMesiboTokenDelete(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC).UnixMilli()
		rows := outboxAfter(t, db, func(tx *gorm.DB) error {
			u := &User{Phone: "+12015550123", CountryCode: 1, MesiboUID: "5302", Discoverable: "everyone", CreatedAt: now, ProfileAt: now}
			if err := tx.Create(u).Error; err != nil {
				return err
			}
			for i, reason := range []string{RevokeReplaced, RevokeLogout, RevokeLogout, ""} {
				sess := &Session{UserID: u.ID, TokenHash: HashToken("t" + string(rune('a'+i))), CreatedAt: now, LastUsedAt: now, ExpiresAt: now + 1,
					MesiboUID: "5302", MesiboTokenSealed: []byte("sealed"), RevokeReason: reason}
				if reason == "" {
					sess.MesiboUID, sess.MesiboTokenSealed = "", nil // a Roster token
				}
				if err := queueMesiboTokenDelete(tx, sess, now); err != nil {
					return err
				}
			}
			return nil
		})
		if len(rows) != 1 || rows[0].Body != `{"op":"userdel","uid":"5302"}` || rows[0].Recipient != "+12015550123" || rows[0].Kind != OutboxKindMesiboRevoke {
			t.Fatalf("rows %+v", rows)
		}
	})
}

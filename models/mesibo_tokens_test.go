package models

import (
	"context"
	"encoding/json"
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
	if got, err := UnsealToken(key, sealed); err != nil || got != "mesibo-user-token" {
		t.Fatalf("unseal: %q %v", got, err)
	}
	if _, err := UnsealToken([]byte("another key entirely, 32 bytes.."), sealed); err == nil {
		t.Error("opened with the wrong key")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := UnsealToken(key, sealed); err == nil {
		t.Error("opened a tampered token")
	}
}

// Deleting an account queues deluser for its mesibo user in the same
// transaction; a user without a mesibo uid queues nothing.
func TestQueueMesiboUserDelete(t *testing.T) {
	db := openTestDB(t)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC).UnixMilli()
	err := db.Write.Transaction(func(tx *gorm.DB) error {
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
	if err != nil {
		t.Fatal(err)
	}
	var rows []OutboxMessage
	if err := db.Read.Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Channel != MesiboChannel || rows[0].Kind != OutboxKindMesiboRevoke || rows[0].Recipient != "+12015550123" {
		t.Fatalf("rows %+v", rows)
	}
	var job MesiboJob
	if err := json.Unmarshal([]byte(rows[0].Body), &job); err != nil || job.Op != "deluser" || job.UID != "5302" || job.Address != "12015550123" || job.TokenSealed != nil {
		t.Errorf("job %+v %v", job, err)
	}
}

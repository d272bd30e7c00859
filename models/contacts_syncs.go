package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Sync records (each upload, incremental sync and deletion, for the
// dashboard's history, read by ContactSyncReader in dashboard_sync.go).

// ContactSync is the record of one sync, for the dashboard.
type ContactSync struct {
	ID         int64
	UserID     int64
	At         int64
	Kind       string // upload, incremental, delete
	Reset      bool
	Received   int
	Valid      int
	NewNumbers int
	Matched    int
	DurationUs int64
	Refused    string
}

func (c *Contacts) insertRecord(tx *gorm.DB, rec *ContactSync, start time.Time) error {
	rec.DurationUs = time.Since(start).Microseconds()
	return tx.Create(rec).Error
}

// record writes a sync record outside any other transaction. Losing one is
// not worth failing the request for, so errors are ignored.
func (c *Contacts) record(ctx context.Context, rec *ContactSync, start time.Time) {
	_ = c.db.Write.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return c.insertRecord(tx, rec, start) })
}

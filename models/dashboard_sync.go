package models

import (
	"context"
	"time"
)

// The dashboard shows what each user's contact sync did. The contact-sync
// data (address book, sync records, events) belongs to the contact-sync
// model; these are the shapes the dashboard reads it in. Until a
// ContactSyncReader is wired in, every sync section says "not available".

// SyncSummary is a user's contact-sync state in the user list.
type SyncSummary struct {
	Contacts   int64  // address-book entries stored
	LastSyncAt *int64 // ms; nil when the user never synced
}

// SyncRun is one recorded sync.
type SyncRun struct {
	At         int64 // ms
	Sent       int64 // numbers uploaded
	New        int64 // numbers not seen before
	Matched    int64 // numbers that are users
	DurationMs int64
}

// UserRef names a user for links.
type UserRef struct {
	ID    int64
	Phone string
	Name  string
}

// UserSync is a user's contact-sync section.
type UserSync struct {
	LastSyncAt    *int64
	NumbersStored int64
	Matched       []UserRef // users in this user's address book (first N)
	HaveThisUser  []UserRef // users who have this user's number (first N; the reverse index)
	Recent        []SyncRun // newest first
}

// EventSent is a notice about a user that was fanned out to their contacts.
type EventSent struct {
	At         int64
	Type       string // "joined", "profile"
	Recipients int64
}

// ContactSyncReader is what the dashboard needs from the contact-sync model.
// Every method must be fast on a million users (indexed lookups only): the
// user list calls Summaries for one page of ids.
type ContactSyncReader interface {
	Summaries(ctx context.Context, userIDs []int64) (map[int64]SyncSummary, error)
	UserSync(ctx context.Context, userID int64, limit int) (*UserSync, error)
	EventsAbout(ctx context.Context, userID int64, limit int) ([]EventSent, error)
	// SyncsPerDay counts syncs per UTC day for days days from start.
	SyncsPerDay(ctx context.Context, start time.Time, days int) ([]int64, error)
}

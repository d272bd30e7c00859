package models

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// User is a person, identified by a verified phone number.
type User struct {
	ID           int64
	Phone        string // E.164
	CountryCode  int
	Name         string
	Status       string
	Photo        string
	Thumbnail    string
	Discoverable string
	Announce     bool
	BlockedUntil *int64
	CreatedAt    int64 `gorm:"autoCreateTime:false"`
	ProfileAt    int64
	LastSeenAt   *int64
	MesiboUID    string // the user's uid at mesibo (mesibo mode)
	PhoneHash    []byte // keyed hash of Phone (see PhoneHasher): how address books find the user
	GroupAdd     string `gorm:"column:groupadd;default:everyone"` // who may add the user to a group (ValidDiscoverable's values)
	// A recycled number's old account (recycleNumber): the number it had,
	// and when it lost it; Phone is then lostPhone(ID).
	LostPhone    string
	NumberLostAt *int64
	// An account an administrator created (CreateUser): who did ("admin:NAME"
	// or "cli"; "" when its owner made it by signing in), and whether the
	// owner has yet to sign in. Until then it has no PhoneHash, so no address
	// book or group finds it, and its first sign-in is its join.
	CreatedBy      string
	AwaitingSignIn bool `gorm:"column:awaiting_signin"`
	// An account whose user asked to delete it, with a grace period: when
	// the pending-deletions chore deletes it (nil: not pending).
	DeleteAfter *int64
}

// NumberLost reports whether the account was detached from its number.
func (u *User) NumberLost() bool { return u.NumberLostAt != nil }

// Digits is the phone number as the protocol writes it (no '+').
func (u *User) Digits() string { return strings.TrimPrefix(u.Phone, "+") }

// CC is the country calling code as a numeric string.
func (u *User) CC() string { return strconv.Itoa(u.CountryCode) }

// ProfileTS is the protocol's `ts` of this user's profile: unix seconds of its last change.
func (u *User) ProfileTS() int64 { return u.ProfileAt / 1000 }

// BlockedAt reports whether the user is blocked at time now.
func (u *User) BlockedAt(now time.Time) bool {
	return u.BlockedUntil != nil && *u.BlockedUntil > toMillis(now)
}

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

func userByPhone(tx *gorm.DB, e164 string) (*User, error) {
	return userWhere(tx, "phone = ?", e164)
}

// userWhere reads the user that where matches (ErrNotFound: none).
func userWhere(tx *gorm.DB, where string, args ...any) (*User, error) {
	var u User
	err := tx.Where(where, args...).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

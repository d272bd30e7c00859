package models

import (
	"context"
	"errors"
	"fmt"
)

// EventAdminCreateUser is an administrator creating an account for a
// number its owner has yet to prove (CreateUser).
const EventAdminCreateUser = "admin_create_user"

// ExistingUserError is a number that already has an account.
type ExistingUserError struct {
	ID    int64
	Phone string
}

func (e *ExistingUserError) Error() string {
	return fmt.Sprintf("%s already has an account (user %d)", e.Phone, e.ID)
}

// CreateUser creates an account for the number p, named name, on behalf of
// actor ("admin:NAME" or "cli"), audited. Nobody has proven the number
// yet: the account awaits its owner's first sign-in with a code, and until
// then no address book or group finds it and nobody is told it joined
// (completeSignInWith makes that sign-in its join). A number that has an
// account already is refused with an *ExistingUserError. A creation and a
// sign-in (or two creations) of one number at once make one account:
// users.phone is unique, and the transaction that loses the insert is run
// again by WriteTx and finds the other's row.
func (d *UserActions) CreateUser(ctx context.Context, p Phone, name, actor string, cl ClientInfo) (*User, error) {
	now := toMillis(d.clock.Now())
	name = CleanText(name, MaxNameLen)
	return WriteTx(ctx, d.db, func(tx *Tx) (*User, error) {
		switch u, err := userByPhone(tx.DB, p.E164); {
		case err == nil:
			return nil, &ExistingUserError{ID: u.ID, Phone: p.E164}
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
		u := &User{Phone: p.E164, CountryCode: p.CountryCode, Name: name, Discoverable: "everyone", Announce: true,
			CreatedAt: now, ProfileAt: now, CreatedBy: actor, AwaitingSignIn: true}
		if err := tx.Create(u).Error; err != nil {
			return nil, err
		}
		detail := fmt.Sprintf("account %d named %q, awaiting its owner's first sign-in", u.ID, name)
		return u, audit(tx.DB, auditEntry(now, actor, EventAdminCreateUser, p.E164, &u.ID, cl, detail))
	})
}

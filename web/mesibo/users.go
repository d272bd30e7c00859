package mesibo

import (
	"context"
	"errors"
	"strconv"
	"time"

	"roster/models"
)

// The user ops: useradd (with a token for sign-in, without one for the
// notice sender) and userdel.

// User is a mesibo user and its new token.
type User struct {
	UID   string
	Token string
}

// AddUser creates the user, or refreshes an existing one, and returns a new
// token for the app (user-management page, "Adding a User"):
// {"op":"useradd","token":APP_TOKEN,"user":{"address":…,"name":…,
// "token":{"appid":…,"expiry":MINUTES}}}.
func (c *Client) AddUser(ctx context.Context, address, name, appID string, expiryMinutes int64) (User, error) {
	r, err := c.call(ctx, request{Op: "useradd", User: &userReq{Address: address, Name: name,
		Token: &tokenReq{AppID: appID, Expiry: expiryMinutes}}})
	if err != nil {
		return User{}, err
	}
	if r.User == nil || r.User.UID == "" || len(r.User.Token) < 16 {
		// Not the documented reply: as loud as a refusal.
		e := &Error{Op: "useradd", Cause: "the reply has no user uid and token", Kind: Config}
		c.Health.fail(e.Op, e)
		return User{}, e
	}
	return User{UID: string(r.User.UID), Token: r.User.Token}, nil
}

// EnsureUser creates or updates a user without issuing a token: useradd
// without "user.token" (the user-management page: no access token is
// generated when that object is absent). It returns the uid when the reply
// has one.
func (c *Client) EnsureUser(ctx context.Context, address, name string) (string, error) {
	r, err := c.call(ctx, request{Op: "useradd", User: &userReq{Address: address, Name: name}})
	if err != nil {
		return "", err
	}
	if r.User != nil {
		return string(r.User.UID), nil
	}
	return "", nil
}

// DeleteUser deletes the user, and with it every token it has:
// {"op":"userdel","token":APP_TOKEN,"user":{"uid":UID}}. A user mesibo no
// longer knows counts as deleted.
func (c *Client) DeleteUser(ctx context.Context, uid string) error {
	_, err := c.call(ctx, request{Op: "userdel", User: &userReq{UID: uidValue(uid)}})
	var me *Error
	if errors.As(err, &me) && me.Kind == Rejected {
		return nil
	}
	return err
}

// uidValue sends a numeric uid as a JSON number (mesibo's uids are
// integers: "uid=456" in the API overview) and anything else as given.
func uidValue(uid string) any {
	if n, err := strconv.ParseInt(uid, 10, 64); err == nil && n > 0 {
		return n
	}
	return uid
}

// Issuer issues access tokens with useradd (it satisfies models.TokenIssuer).
type Issuer struct{ Client *Client }

// IssueToken creates or refreshes the user at mesibo and returns its new token.
func (i Issuer) IssueToken(ctx context.Context, req models.IssueRequest) (models.IssuedToken, error) {
	minutes := max(int64(req.Lifetime/time.Minute), 1)
	u, err := i.Client.AddUser(ctx, req.Address, req.Name, req.AppID, minutes)
	if err != nil {
		return models.IssuedToken{}, err
	}
	return models.IssuedToken{UID: u.UID, Token: u.Token}, nil
}

package mesibo

import (
	"context"
	"errors"
)

// The group ops (mesibo mode): groupadd, groupset, groupeditmembers,
// groupdel, each with the group under "group", as the user ops carry the
// user under "user". The old backend's contract (protocol.md, "mesibo's
// own backend API") names the ops and groupeditmembers' parameters (gid,
// the members, delete); the JSON nesting below, the members as an array
// of addresses, delete as a boolean and the reply's group.gid, follow
// the pattern of the documented user and message ops and could NOT be
// checked against mesibo's group-management page from here: check them
// before relying on mesibo mode's groups.

type groupReq struct {
	GID     any      `json:"gid,omitempty"` // all but groupadd
	Name    string   `json:"name,omitempty"`
	Members []string `json:"members,omitempty"` // groupeditmembers
	Delete  *bool    `json:"delete,omitempty"`  // groupeditmembers
}

// AddGroup creates a group and returns its gid at mesibo:
// {"op":"groupadd","token":APP_TOKEN,"group":{"name":…}}.
func (c *Client) AddGroup(ctx context.Context, name string) (string, error) {
	r, err := c.call(ctx, request{Op: "groupadd", Group: &groupReq{Name: name}})
	if err != nil {
		return "", err
	}
	if r.Group == nil || r.Group.GID == "" {
		e := &Error{Op: "groupadd", Cause: "the reply has no group gid", Kind: Config}
		c.Health.fail(e.Op, e)
		return "", e
	}
	return string(r.Group.GID), nil
}

// SetGroup renames a group: {"op":"groupset","token":…,"group":{"gid":…,"name":…}}.
func (c *Client) SetGroup(ctx context.Context, gid, name string) error {
	_, err := c.call(ctx, request{Op: "groupset", Group: &groupReq{GID: uidValue(gid), Name: name}})
	return err
}

// EditGroupMembers adds or removes members: {"op":"groupeditmembers",
// "token":…,"group":{"gid":…,"members":[ADDRESS,…],"delete":BOOL}}.
func (c *Client) EditGroupMembers(ctx context.Context, gid string, addresses []string, remove bool) error {
	_, err := c.call(ctx, request{Op: "groupeditmembers", Group: &groupReq{GID: uidValue(gid), Members: addresses, Delete: &remove}})
	return err
}

// DeleteGroup deletes a group: {"op":"groupdel","token":…,"group":{"gid":…}}.
// A group mesibo no longer knows counts as deleted.
func (c *Client) DeleteGroup(ctx context.Context, gid string) error {
	_, err := c.call(ctx, request{Op: "groupdel", Group: &groupReq{GID: uidValue(gid)}})
	var me *Error
	if errors.As(err, &me) && me.Kind == Rejected {
		return nil
	}
	return err
}

package mesibo

import (
	"context"
	"errors"
	"strings"
)

// The group ops (mesibo mode): groupadd, groupset, groupeditmembers,
// groupdel, each with the group under "group", in the shapes of mesibo's
// own JSON helper for its demo backend (mesibohelper.php of
// mesibo/messenger-app-backend's JSON API: MesiboSetGroup, MesiboEditMembers,
// MesiboDeleteGroup) and its group-management page
// (docs.mesibo.com/api/backend-api/group-management): the members as an
// object of "m" (the addresses, comma-separated, as the form API took
// them) and the members' permissions, "delete" as 0 or 1, and the reply's
// group.gid.

type groupReq struct {
	GID     any           `json:"gid,omitempty"` // all but groupadd
	Name    string        `json:"name,omitempty"`
	Members *groupMembers `json:"members,omitempty"` // groupeditmembers
	Delete  *int          `json:"delete,omitempty"`  // groupeditmembers: 1 removes
}

// groupMembers are the members a groupeditmembers adds or removes, with
// what an added member may do: everything a member of a chat group does
// (send, receive, publish and subscribe to calls, list the members).
type groupMembers struct {
	M           string            `json:"m"`
	Permissions memberPermissions `json:"permissions"`
}

type memberPermissions struct {
	Send bool `json:"send"`
	Recv bool `json:"recv"`
	Pub  bool `json:"pub"`
	Sub  bool `json:"sub"`
	List bool `json:"list"`
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
// "token":…,"group":{"gid":…,"delete":0|1,"members":{"m":"ADDRESS,…",
// "permissions":{…}}}}.
func (c *Client) EditGroupMembers(ctx context.Context, gid string, addresses []string, remove bool) error {
	del := 0
	if remove {
		del = 1
	}
	members := &groupMembers{M: strings.Join(addresses, ","), Permissions: memberPermissions{Send: true, Recv: true, Pub: true, Sub: true, List: true}}
	_, err := c.call(ctx, request{Op: "groupeditmembers", Group: &groupReq{GID: uidValue(gid), Members: members, Delete: &del}})
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

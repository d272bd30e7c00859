package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// The old backend's group ops: setgroup, getgroup, editmembers, setadmin,
// delgroup, and a group's name and photo through profile and upload with a
// gid. Replies carry gid and ts as numbers, members as
// "<admincount>:<phones>".

// groupID reads `gid`: 0 when absent (or "0"); a value that is not a
// non-negative integer is BADREQUEST.
func groupID(r *Request) (int64, error) {
	s := r.Get("gid")
	if s == "" {
		return 0, nil
	}
	gid, err := strconv.ParseInt(s, 10, 64)
	if err != nil || gid < 0 {
		return 0, apiErr(CodeBadRequest, "gid must be a group's number.")
	}
	return gid, nil
}

// requiredGroupID is groupID for the ops that name an existing group.
func requiredGroupID(r *Request) (int64, error) {
	gid, err := groupID(r)
	if err == nil && gid == 0 {
		err = apiErr(CodeMissingPara, "The group (gid) is missing.")
	}
	return gid, err
}

// groupNumbers reads `m`: the numbers in E.164. A number that is not one
// is BADPHONE, every such number named.
func (a *API) groupNumbers(r *Request, pr *models.Principal) ([]string, error) {
	numbers, bad := a.groups.ParseNumbers(&pr.User, models.SplitList(r.Get("m")))
	if len(bad) > 0 {
		shown := bad[:min(len(bad), 20)]
		for i, b := range shown {
			shown[i] = truncateRunes(b, 32)
		}
		msg := "These are not phone numbers: " + strings.Join(shown, ", ")
		if len(bad) > len(shown) {
			msg += " and " + strconv.Itoa(len(bad)-len(shown)) + " more"
		}
		return nil, apiErr(CodeBadPhone, msg+".")
	}
	return numbers, nil
}

// groupError translates a refused group op.
func groupError(err error) error {
	var ge *models.GroupError
	if !errors.As(err, &ge) {
		return err
	}
	switch ge.Refusal {
	case models.GroupNotMember:
		return apiErr(CodeNotMember, ge.Message)
	case models.GroupNotAllowed:
		return apiErr(CodeBadGroup, ge.Message)
	default:
		return apiErr(CodeTooLarge, ge.Message)
	}
}

// groupReply is a group as setgroup and getgroup answer it.
func groupReply(v *models.GroupView) Reply {
	reply := Reply{"gid": v.ID, "name": v.Name, "photo": v.Photo, "tn": v.Thumbnail, "ts": v.TS(), "members": v.MembersField()}
	addRefused(reply, v)
	return reply
}

// addRefused adds Roster's own field `refused`: the numbers (digits) of
// people who could not be added.
func addRefused(reply Reply, v *models.GroupView) {
	if len(v.Refused) == 0 {
		return
	}
	refused := make([]string, len(v.Refused))
	for i, e := range v.Refused {
		refused[i] = strings.TrimPrefix(e, "+")
	}
	reply["refused"] = refused
}

// setGroup creates a group (gid absent or 0) or changes one: name, photo,
// and with `m` its member list.
func (a *API) setGroup(c *fiber.Ctx, r *Request, pr *models.Principal) (Reply, error) {
	gid, err := groupID(r)
	if err != nil {
		return nil, err
	}
	cl := clientInfo(c, r)
	ch := models.GroupChange{Client: &cl}
	if ch.Name, err = textParam(r, "name", "group name", models.MaxNameLen); err != nil {
		return nil, err
	}
	if _, ok := r.Params["m"]; ok || gid == 0 {
		if ch.Members, err = a.groupNumbers(r, pr); err != nil {
			return nil, err
		}
		if ch.Members == nil {
			ch.Members = []string{}
		}
	}
	if len(r.Files) > 0 {
		if ch.Photo, err = a.storeUpload(c, r, pr, false); err != nil {
			return nil, err
		}
	}
	var v *models.GroupView
	if gid == 0 {
		v, err = a.groups.Create(c.UserContext(), &pr.User, ch)
	} else {
		v, err = a.groups.Update(c.UserContext(), pr.User.ID, gid, ch)
	}
	if err != nil {
		return nil, groupError(err)
	}
	return groupReply(v), nil
}

// getGroup answers a group the caller is in.
func (a *API) getGroup(c *fiber.Ctx, r *Request, pr *models.Principal) (Reply, error) {
	gid, err := requiredGroupID(r)
	if err != nil {
		return nil, err
	}
	v, err := a.groups.Get(c.UserContext(), pr.User.ID, gid)
	if err != nil {
		return nil, groupError(err)
	}
	reply := groupReply(v)
	reply["status"] = ""
	return reply, nil
}

// membersParams reads the gid and the numbers of editmembers and setadmin.
func (a *API) membersParams(r *Request, pr *models.Principal) (int64, []string, error) {
	gid, err := requiredGroupID(r)
	if err != nil {
		return 0, nil, err
	}
	if strings.TrimSpace(r.Get("m")) == "" {
		return 0, nil, apiErr(CodeMissingPara, "The numbers (m) are missing.")
	}
	numbers, err := a.groupNumbers(r, pr)
	return gid, numbers, err
}

// editMembers adds (delete=0) or removes (delete=1) members.
func (a *API) editMembers(c *fiber.Ctx, r *Request, pr *models.Principal) (Reply, error) {
	gid, numbers, err := a.membersParams(r, pr)
	if err != nil {
		return nil, err
	}
	v, err := a.groups.EditMembers(c.UserContext(), pr.User.ID, gid, numbers, r.Flag("delete"), clientInfo(c, r))
	if err != nil {
		return nil, groupError(err)
	}
	reply := Reply{"gid": v.ID, "members": v.MembersField()}
	addRefused(reply, v)
	return reply, nil
}

// setAdmin makes members admins (admin=1) or members again (admin=0).
func (a *API) setAdmin(c *fiber.Ctx, r *Request, pr *models.Principal) (Reply, error) {
	gid, numbers, err := a.membersParams(r, pr)
	if err != nil {
		return nil, err
	}
	v, err := a.groups.SetAdmin(c.UserContext(), pr.User.ID, gid, numbers, r.Flag("admin"), clientInfo(c, r))
	if err != nil {
		return nil, groupError(err)
	}
	return Reply{"gid": v.ID, "members": v.MembersField()}, nil
}

// delGroup deletes the caller's own group, or leaves another.
func (a *API) delGroup(c *fiber.Ctx, r *Request, pr *models.Principal) (Reply, error) {
	gid, err := requiredGroupID(r)
	if err != nil {
		return nil, err
	}
	if _, err := a.groups.Delete(c.UserContext(), pr.User.ID, gid, clientInfo(c, r)); err != nil {
		return nil, groupError(err)
	}
	return Reply{"gid": gid}, nil
}

// groupProfile is profile and upload with a gid: the group's name or photo
// (admins and the owner only). Reply: the group as setgroup answers it,
// with `file` when a file was stored.
func (a *API) groupProfile(c *fiber.Ctx, r *Request, pr *models.Principal, gid int64, upload bool) (Reply, error) {
	cl := clientInfo(c, r)
	ch := models.GroupChange{Client: &cl}
	var err error
	if !upload {
		if ch.Name, err = textParam(r, "name", "group name", models.MaxNameLen); err != nil {
			return nil, err
		}
	}
	switch {
	case upload && r.Flag("delete"):
		ch.DeletePhoto = true
	case len(r.Files) > 0:
		if ch.Photo, err = a.storeUpload(c, r, pr, false); err != nil {
			return nil, err
		}
	case upload:
		return nil, apiErr(CodeMissingFile, "No file was attached.")
	}
	v, err := a.groups.Update(c.UserContext(), pr.User.ID, gid, ch)
	if err != nil {
		return nil, groupError(err)
	}
	reply := groupReply(v)
	if upload {
		reply["file"] = ""
		if ch.Photo != nil {
			reply["file"] = a.client.DownloadURL + ch.Photo.Name
		}
	}
	return reply, nil
}

// groupContactJSON is a group in the delta sync's contacts: gid and ts as
// strings, phone and status empty, and members.
type groupContactJSON struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Phone   string `json:"phone"`
	Photo   string `json:"photo"`
	TN      string `json:"tn"`
	GID     string `json:"gid"`
	TS      string `json:"ts"`
	Members string `json:"members"`
}

// appendGroups adds to a delta sync's contacts the caller's groups that
// changed at or after since (and those they left).
func (a *API) appendGroups(ctx context.Context, list models.ContactList, userID, since int64) (models.ContactList, error) {
	groups, err := a.groups.ChangedGroups(ctx, userID, since)
	if err != nil || len(groups) == 0 {
		return list, err
	}
	list.JSON = list.JSON[:len(list.JSON)-1] // the closing bracket
	for i := range groups {
		v := &groups[i]
		entry, err := json.Marshal(groupContactJSON{Name: v.Name, Photo: v.Photo, TN: v.Thumbnail,
			GID: strconv.FormatInt(v.ID, 10), TS: strconv.FormatInt(v.TS(), 10), Members: v.MembersField()})
		if err != nil {
			return list, err
		}
		if list.N > 0 {
			list.JSON = append(list.JSON, ',')
		}
		list.JSON = append(list.JSON, entry...)
		list.N++
	}
	list.JSON = append(list.JSON, ']')
	return list, nil
}

package handlers

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// contactJSON is a contact as the protocol's getcontacts reply carries it:
// ts and gid are strings there. (A struct, not a map: replies carry up to
// thousands of contacts.)
type contactJSON struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Phone  string `json:"phone"`
	Photo  string `json:"photo"`
	TN     string `json:"tn"`
	GID    string `json:"gid,omitempty"`
	TS     string `json:"ts"`
}

func contactFields(u *models.User) contactJSON {
	return contactJSON{Name: u.Name, Status: u.Status, Phone: u.Digits(), Photo: u.Photo, TN: u.Thumbnail,
		GID: "0", TS: strconv.FormatInt(u.ProfileTS(), 10)}
}

// getContacts is contact sync: with `phones`, an upload (reset=1 clears the
// book first; hidden=1, a lookup of one unknown sender, is stored like any
// other number); without, the contacts changed since `ts`. The contacts'
// array (up to megabytes) is built in a recycled buffer (reply_buffers.go),
// handed back once the reply is written.
func (a *API) getContacts(c *fiber.Ctx, r *Request, pr *models.Principal) (Reply, error) {
	list, err := a.syncContacts(c.UserContext(), r, pr, a.listBufs.get())
	if err != nil {
		return nil, err
	}
	me := contactFields(&pr.User) // u: the caller's own profile, without gid
	me.GID = ""
	return Reply{"contacts": preEncoded{json: list.JSON, release: func() { a.listBufs.put(list.JSON) }}, "u": me}, nil
}

func (a *API) syncContacts(ctx context.Context, r *Request, pr *models.Principal, dst []byte) (models.ContactList, error) {
	raw := models.SplitList(r.Get("phones"))
	if len(raw) > 0 || r.Flag("reset") {
		res, err := a.contacts.Upload(ctx, &pr.User, raw, r.Flag("reset"), dst)
		if err != nil {
			return models.ContactList{}, err
		}
		return res.Contacts, nil
	}
	since, err := parseTS(r.Get("ts"))
	if err != nil {
		return models.ContactList{}, err
	}
	list, err := a.contacts.Changed(ctx, &pr.User, since, dst)
	if err != nil {
		return models.ContactList{}, err
	}
	return a.appendGroups(ctx, list, pr.User.ID, since)
}

func parseTS(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	ts, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && f >= 0 && f < 1e15 {
			return int64(f), nil
		}
		return 0, apiErr(CodeBadRequest, "ts must be a time in unix seconds.")
	}
	return max(ts, 0), nil
}

func (a *API) delContacts(c *fiber.Ctx, r *Request, pr *models.Principal) (Reply, error) {
	raw := models.SplitList(r.Get("phones"))
	if len(raw) == 0 {
		return nil, apiErr(CodeMissingPara, "The numbers to remove (phones) are missing.")
	}
	n, err := a.contacts.Delete(c.UserContext(), &pr.User, raw)
	if err != nil {
		return nil, err
	}
	return Reply{"removed": n}, nil
}

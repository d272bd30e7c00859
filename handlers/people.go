package handlers

import (
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// People are the services behind the protocol's people ops: contact sync,
// profiles and photos, and notices.
type People struct {
	Contacts *models.Contacts
	Profiles *models.Profiles
	Photos   *models.Photos
	Events   *models.Events
	Uploads  *models.Uploads
}

// PeopleHandlers serves the people ops and the routes beside the op
// endpoint (event stream, files).
type PeopleHandlers struct {
	api *API
	People
}

// AddPeople registers getcontacts, delcontacts, profile and upload, and
// returns the handlers of the event stream and the files route.
func (a *API) AddPeople(p People) *PeopleHandlers {
	ops := &PeopleHandlers{api: a, People: p}
	a.ops["getcontacts"] = a.authed(ops.getContacts)
	a.ops["delcontacts"] = a.authed(ops.delContacts)
	a.ops["profile"] = a.authed(ops.profile)
	a.ops["upload"] = a.authed(ops.upload)
	return ops
}

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
// other number); without, the contacts changed since `ts`.
func (p *PeopleHandlers) getContacts(c *fiber.Ctx, r *Request, pr *models.Principal) (Reply, error) {
	ctx := c.UserContext()
	raw := models.SplitPhones(r.Get("phones"))
	var users []models.User
	if len(raw) > 0 || r.Flag("reset") {
		res, err := p.Contacts.Upload(ctx, &pr.User, raw, r.Flag("reset"))
		if err != nil {
			return nil, err
		}
		users = res.Contacts
	} else {
		since, err := parseTS(r.Get("ts"))
		if err != nil {
			return nil, err
		}
		if users, err = p.Contacts.Changed(ctx, &pr.User, since); err != nil {
			return nil, err
		}
	}
	list := make([]contactJSON, len(users))
	for i := range users {
		list[i] = contactFields(&users[i])
	}
	me := contactFields(&pr.User) // u: the caller's own profile, without gid
	me.GID = ""
	return Reply{"contacts": list, "u": me}, nil
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

func (p *PeopleHandlers) delContacts(c *fiber.Ctx, r *Request, pr *models.Principal) (Reply, error) {
	raw := models.SplitPhones(r.Get("phones"))
	if len(raw) == 0 {
		return nil, apiErr(CodeMissingPara, "The numbers to remove (phones) are missing.")
	}
	n, err := p.Contacts.Delete(c.UserContext(), &pr.User, raw)
	if err != nil {
		return nil, err
	}
	return Reply{"removed": n}, nil
}

// textParam reads an optional profile text: absent is nil; present (even
// empty) is a change. Invalid UTF-8 and over-long text are refused rather
// than silently altered.
func textParam(r *Request, name, label string, maxRunes int) (*string, error) {
	v, ok := r.Params[name]
	if !ok {
		return nil, nil
	}
	if !utf8.ValidString(v) {
		return nil, apiErr(CodeBadRequest, "The "+label+" is not valid UTF-8 text.")
	}
	if utf8.RuneCountInString(v) > maxRunes {
		return nil, apiErr(CodeTooLarge, "The "+label+" is longer than "+strconv.Itoa(maxRunes)+" characters.")
	}
	return &v, nil
}

// profile changes the caller's name and status, optionally with a photo.
// Roster adds two optional privacy parameters: `discoverable`
// (everyone | contacts | nobody: who may find the caller by number) and
// `announce` (1 | 0: whether contacts are told when the caller joins).
func (p *PeopleHandlers) profile(c *fiber.Ctx, r *Request, pr *models.Principal) (Reply, error) {
	var ch models.ProfileChange
	var err error
	if ch.Name, err = textParam(r, "name", "name", models.MaxNameLen); err != nil {
		return nil, err
	}
	if ch.Status, err = textParam(r, "status", "status", models.MaxStatusLen); err != nil {
		return nil, err
	}
	if d := r.Get("discoverable"); d != "" {
		if !models.ValidDiscoverable(d) {
			return nil, apiErr(CodeBadRequest, "discoverable must be everyone, contacts or nobody.")
		}
		ch.Discoverable = &d
	}
	if r.Get("announce") != "" {
		a := r.Flag("announce")
		ch.Announce = &a
	}
	if len(r.Files) > 0 {
		if ch.Photo, err = p.storePhoto(r); err != nil {
			return nil, err
		}
	}
	u, err := p.Profiles.Update(c.UserContext(), pr.User.ID, ch)
	if err != nil {
		return nil, err
	}
	reply := profileFields(u)
	reply["discoverable"] = u.Discoverable
	reply["announce"] = boolInt(u.Announce)
	return reply, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// storePhoto stores the request's first file as an image.
func (p *PeopleHandlers) storePhoto(r *Request) (*models.StoredPhoto, error) {
	fh := r.Files[0]
	if fh.Size > p.Photos.Limits().MaxBytes {
		return nil, apiErr(CodeTooLarge, "The image is too large (at most "+strconv.FormatInt(p.Photos.Limits().MaxBytes>>20, 10)+" MB).")
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ph, err := p.Photos.Store(f)
	switch {
	case errors.Is(err, models.ErrBadImage):
		return nil, apiErr(CodeBadImage, "The file is not an image Roster can read (JPEG, PNG, GIF or WebP).")
	case errors.Is(err, models.ErrImageTooLarge):
		return nil, apiErr(CodeTooLarge, "The image is too large (at most "+strconv.FormatInt(p.Photos.Limits().MaxBytes>>20, 10)+
			" MB and "+strconv.Itoa(p.Photos.Limits().MaxPixels/1_000_000)+" megapixels).")
	}
	return ph, err
}

// upload stores an image: the profile photo when profile=1, or removes the
// profile photo when delete=1.
func (p *PeopleHandlers) upload(c *fiber.Ctx, r *Request, pr *models.Principal) (Reply, error) {
	if r.Flag("delete") {
		u, err := p.Profiles.Update(c.UserContext(), pr.User.ID, models.ProfileChange{DeletePhoto: true})
		if err != nil {
			return nil, err
		}
		reply := profileFields(u)
		reply["file"] = ""
		reply["profile"] = "1"
		return reply, nil
	}
	if len(r.Files) == 0 {
		return nil, apiErr(CodeMissingFile, "No file was attached.")
	}
	if err := p.Uploads.Allow(c.UserContext(), pr.User.ID); err != nil {
		return nil, err
	}
	ph, err := p.storePhoto(r)
	if err != nil {
		return nil, err
	}
	if err := p.Uploads.Record(c.UserContext(), pr.User.ID, ph.Name, r.Flag("profile")); err != nil {
		return nil, err
	}
	if !r.Flag("profile") {
		return Reply{"file": p.api.client.DownloadURL + ph.Name}, nil
	}
	u, err := p.Profiles.Update(c.UserContext(), pr.User.ID, models.ProfileChange{Photo: ph})
	if err != nil {
		return nil, err
	}
	reply := profileFields(u)
	reply["file"] = p.api.client.DownloadURL + ph.Name
	reply["profile"] = "1"
	return reply, nil
}

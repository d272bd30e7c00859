package handlers

import (
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"roster/models"
)

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
func (a *API) profile(c *fiber.Ctx, r *Request, pr *models.Principal) (Reply, error) {
	if gid, err := groupID(r); err != nil || gid > 0 {
		if err != nil {
			return nil, err
		}
		return a.groupProfile(c, r, pr, gid, false)
	}
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
	if g := r.Get("groupadd"); g != "" {
		if !models.ValidDiscoverable(g) {
			return nil, apiErr(CodeBadRequest, "groupadd must be everyone, contacts or nobody.")
		}
		ch.GroupAdd = &g
	}
	if len(r.Files) > 0 {
		// A photo here is an upload like any other: it counts toward the cap.
		if ch.Photo, err = a.storeUpload(c, r, pr, true); err != nil {
			return nil, err
		}
	}
	u, err := a.profiles.Update(c.UserContext(), pr.User.ID, ch)
	if err != nil {
		return nil, err
	}
	reply := profileFields(u)
	reply["discoverable"] = u.Discoverable
	reply["announce"] = boolInt(u.Announce)
	reply["groupadd"] = u.GroupAdd
	return reply, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// storePhoto stores the request's first file as an image.
func (a *API) storePhoto(c *fiber.Ctx, r *Request) (*models.StoredPhoto, error) {
	fh := r.Files[0]
	if fh.Size > a.photos.Limits().MaxBytes {
		return nil, apiErr(CodeTooLarge, "The image is too large (at most "+strconv.FormatInt(a.photos.Limits().MaxBytes>>20, 10)+" MB).")
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ph, err := a.photos.Store(c.UserContext(), f)
	switch {
	case errors.Is(err, models.ErrBadImage):
		return nil, apiErr(CodeBadImage, "The file is not an image Roster can read (JPEG, PNG, GIF or WebP).")
	case errors.Is(err, models.ErrTooManyScans):
		return nil, apiErr(CodeBadImage, "The JPEG is encoded in more than "+strconv.Itoa(models.MaxJPEGScans)+
			" scans. Save it again as an ordinary JPEG.")
	case errors.Is(err, models.ErrImageTooLarge):
		return nil, apiErr(CodeTooLarge, "The image is too large (at most "+strconv.FormatInt(a.photos.Limits().MaxBytes>>20, 10)+
			" MB and "+strconv.Itoa(a.photos.Limits().MaxPixels/1_000_000)+" megapixels).")
	}
	return ph, err
}

// storeUpload stores the request's image under the user's daily cap: the
// cap is read first to spare a refused upload the write, then checked again
// and the upload counted in one transaction before the file is decoded (a
// file that fails still counts), and the stored file named in the ledger
// (removed if the user is gone).
func (a *API) storeUpload(c *fiber.Ctx, r *Request, pr *models.Principal, profile bool) (*models.StoredPhoto, error) {
	if err := a.uploads.Allow(c.UserContext(), pr.User.ID); err != nil {
		return nil, err
	}
	id, err := a.uploads.Begin(c.UserContext(), pr.User.ID, profile)
	if err != nil {
		return nil, err
	}
	ph, err := a.storePhoto(c, r)
	if err != nil {
		return nil, err
	}
	if err := a.uploads.Finish(c.UserContext(), pr.User.ID, id, ph.Name); err != nil {
		_ = a.photos.Remove(c.UserContext(), ph.Name)
		return nil, err
	}
	return ph, nil
}

// upload stores an image: the profile photo when profile=1, or removes the
// profile photo when delete=1.
func (a *API) upload(c *fiber.Ctx, r *Request, pr *models.Principal) (Reply, error) {
	if gid, err := groupID(r); err != nil || gid > 0 {
		if err != nil {
			return nil, err
		}
		return a.groupProfile(c, r, pr, gid, true)
	}
	if r.Flag("delete") {
		u, err := a.profiles.Update(c.UserContext(), pr.User.ID, models.ProfileChange{DeletePhoto: true})
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
	ph, err := a.storeUpload(c, r, pr, r.Flag("profile"))
	if err != nil {
		return nil, err
	}
	if !r.Flag("profile") {
		return Reply{"file": a.client.DownloadURL + ph.Name}, nil
	}
	u, err := a.profiles.Update(c.UserContext(), pr.User.ID, models.ProfileChange{Photo: ph})
	if err != nil {
		return nil, err
	}
	reply := profileFields(u)
	reply["file"] = a.client.DownloadURL + ph.Name
	reply["profile"] = "1"
	return reply, nil
}

// profileFields is a user's profile as the protocol's replies carry it
// (without `ts`, which at the top level of a reply is the server's time).
func profileFields(u *models.User) Reply {
	return Reply{
		"phone":  u.Digits(),
		"name":   u.Name,
		"status": u.Status,
		"photo":  u.Photo,
		"tn":     u.Thumbnail,
	}
}

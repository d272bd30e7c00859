package handlers

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// setNotify stores the device's push token on the caller's session.
func (a *API) setNotify(c *fiber.Ctx, r *Request, p *models.Principal) (Reply, error) {
	token, fcmID := r.Get("notifytoken"), r.Get("fcmid")
	if len(token) > 4096 {
		return nil, apiErr(CodeBadRequest, "The push token is too long.")
	}
	// No push service issues a token that is not UTF-8 or holds a control
	// character (PostgreSQL would refuse a NUL): such a token is refused
	// whole, not stored mangled.
	if !pushText(token) || !pushText(fcmID) {
		return nil, apiErr(CodeBadRequest, "The push token is not valid text.")
	}
	err := a.sessions.SetPush(c.UserContext(), p.SessionID, models.PushSettings{
		NotifyToken: token,
		FcmID:       truncateRunes(fcmID, 4096),
		Prod:        r.Flag("prod"),
		DeviceType:  truncateRunes(r.Get("dt"), 64), // made storable by the model
	})
	return Reply{}, err
}

// pushText reports whether s can be a push service's token: UTF-8 without
// control characters.
func pushText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

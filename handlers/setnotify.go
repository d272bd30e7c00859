package handlers

import (
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
	// No push service issues a token that is not UTF-8, and PostgreSQL
	// would refuse to store one.
	if !utf8.ValidString(token) || !utf8.ValidString(fcmID) {
		return nil, apiErr(CodeBadRequest, "The push token is not valid text.")
	}
	err := a.sessions.SetPush(c.UserContext(), p.SessionID, models.PushSettings{
		NotifyToken: token,
		FcmID:       truncateRunes(fcmID, 4096),
		Prod:        r.Flag("prod"),
		DeviceType:  truncateRunes(validUTF8(r.Get("dt")), 64),
	})
	return Reply{}, err
}

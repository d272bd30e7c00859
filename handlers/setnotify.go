package handlers

import (
	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// setNotify stores the device's push token on the caller's session.
func (a *API) setNotify(c *fiber.Ctx, r *Request, p *models.Principal) (Reply, error) {
	token := r.Get("notifytoken")
	if len(token) > 4096 {
		return nil, apiErr(CodeBadRequest, "The push token is too long.")
	}
	err := a.sessions.SetPush(c.UserContext(), p.SessionID, models.PushSettings{
		NotifyToken: token,
		FcmID:       truncateRunes(r.Get("fcmid"), 4096),
		Prod:        r.Flag("prod"),
		DeviceType:  truncateRunes(r.Get("dt"), 64),
	})
	return Reply{}, err
}

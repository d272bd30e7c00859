package handlers

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// ownSessions lists the caller's live sessions (their devices), marking the
// one asking. No token of any kind is in the reply.
func (a *API) ownSessions(c *fiber.Ctx, r *Request, p *models.Principal) (Reply, error) {
	own, err := a.sessions.ListOwn(c.UserContext(), p)
	if err != nil {
		return nil, err
	}
	list := make([]map[string]any, len(own))
	for i, s := range own {
		list[i] = map[string]any{
			"id": s.ID, "device": s.Device, "dt": s.DeviceType, "appid": s.AppID,
			"created": s.CreatedAt / 1000, "lastused": s.LastUsedAt / 1000, "expires": s.ExpiresAt / 1000,
			"current": s.Current, "country": s.Country,
		}
	}
	return Reply{"sessions": list}, nil
}

// endSession ends one of the caller's sessions (`id`) or all the others
// (`others=1`); the ended sessions' live streams close at once.
func (a *API) endSession(c *fiber.Ctx, r *Request, p *models.Principal) (Reply, error) {
	cl := clientInfo(c, r)
	if r.Flag("others") {
		if r.Get("id") != "" {
			return nil, apiErr(CodeBadRequest, "Send either id or others=1, not both.")
		}
		n, err := a.sessions.EndOthers(c.UserContext(), p, cl)
		return Reply{"ended": n}, err
	}
	raw := r.Get("id")
	if raw == "" {
		return nil, apiErr(CodeMissingPara, "Send the id of the session to end, or others=1.")
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return nil, apiErr(CodeBadRequest, "The parameter \"id\" must be a session id from the sessions op.")
	}
	ended, err := a.sessions.EndOwn(c.UserContext(), p, id, cl)
	if errors.Is(err, models.ErrNotFound) {
		return nil, apiErr(CodeBadRequest, "No session of this account has that id.")
	}
	if err != nil {
		return nil, err
	}
	n := 0
	if ended {
		n = 1
	}
	return Reply{"ended": n}, nil
}

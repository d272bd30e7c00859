package handlers

import (
	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// exportAccount answers with everything Roster holds about the caller, as
// one JSON document in `account`.
func (a *API) exportAccount(c *fiber.Ctx, r *Request, p *models.Principal) (Reply, error) {
	doc, err := a.accounts.Export(c.UserContext(), p, clientInfo(c, r))
	if err != nil {
		return nil, err
	}
	return Reply{"account": doc}, nil
}

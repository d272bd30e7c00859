package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// deleteAccount deletes the caller's account for good. The token alone is
// not enough: `confirm` must repeat the account's number (as the protocol
// writes it, the `phone` of the login reply), so that no request made for
// another purpose, replayed or forged by a page, deletes an account.
func (a *API) deleteAccount(c *fiber.Ctx, r *Request, p *models.Principal) (Reply, error) {
	confirm := r.Get("confirm")
	if confirm == "" {
		return nil, apiErr(CodeMissingPara, "To delete the account, send confirm with the account's number.")
	}
	if !strings.EqualFold(strings.TrimPrefix(confirm, "+"), p.User.Digits()) {
		return nil, apiErr(CodeBadRequest, "The parameter \"confirm\" is not this account's number: nothing was deleted.")
	}
	deleteAt, err := a.accounts.DeleteOwn(c.UserContext(), p, clientInfo(c, r))
	if err != nil {
		return nil, err
	}
	if deleteAt > 0 { // --deletion-grace: pending until then; signing in again cancels it
		return Reply{"deleted": false, "delete_at": deleteAt / 1000}, nil
	}
	return Reply{"deleted": true}, nil
}

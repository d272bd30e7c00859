package handlers

import (
	"encoding/json"
	"errors"

	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// exportAccount hands out a link to everything Roster holds about the
// caller: a browser opens it (ServeExport), once, within
// models.ExportLinkTTL.
func (a *API) exportAccount(c *fiber.Ctx, r *Request, p *models.Principal) (Reply, error) {
	link, err := a.accounts.NewExportLink(c.UserContext(), p, clientInfo(c, r))
	if err != nil {
		return nil, err
	}
	return Reply{"url": a.client.ExportURL + "?key=" + link.Token, "expires": link.ExpiresAt / 1000}, nil
}

// ServeExport is GET /api/export?key=TOKEN: the export document of the
// link's user, as a JSON file to save. The key is in the query string,
// which the access log leaves out. An unknown, used or expired key is a
// 404, the same for each.
func (a *API) ServeExport(c *fiber.Ctx) error {
	doc, err := a.accounts.OpenExportLink(c.UserContext(), c.Query("key"), models.ClientInfo{IP: c.IP(), UserAgent: c.Get(fiber.HeaderUserAgent)}.Clean())
	if errors.Is(err, models.ErrNotFound) {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return fiber.NewError(fiber.StatusNotFound, "This export link is unknown, expired or already used: ask the app for a new export.")
	}
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="roster-account.json"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	return c.Status(fiber.StatusOK).Send(body)
}

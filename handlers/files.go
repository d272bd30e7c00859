package handlers

import (
	"errors"
	"io"
	"os"

	"github.com/gofiber/fiber/v2"
)

// Files serves stored photos at /files/NAME with their content type and
// long caching: names are random and never reused, so a name's content
// never changes.
func (a *API) Files(c *fiber.Ctx) error {
	f, ct, err := a.photos.Open(c.Params("name"))
	if errors.Is(err, os.ErrNotExist) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return c.Status(fiber.StatusOK).Send(data)
}

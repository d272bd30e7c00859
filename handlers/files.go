package handlers

import (
	"errors"
	"io"
	"io/fs"
	"strconv"

	"github.com/gofiber/fiber/v2"
)

// Files serves stored photos at /files/NAME with their content type and
// long caching: names are random and never reused, so a name's content
// never changes. With redirects on, it answers with a redirect to a
// short-lived URL of the object store instead.
func (a *API) Files(c *fiber.Ctx) error {
	name := c.Params("name")
	if a.redirect > 0 {
		return a.redirectToFile(c, name)
	}
	f, err := a.photos.Open(c.UserContext(), name)
	if errors.Is(err, fs.ErrNotExist) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	defer f.Body.Close()
	data, err := io.ReadAll(f.Body)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, f.ContentType)
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return c.Status(fiber.StatusOK).Send(data)
}

// redirectToFile answers with a 302 to a presigned URL. The redirect may
// be cached for a fifth of the URL's life, so a cached one still has most
// of its validity left when it is followed. The URL is never logged: its
// query holds a signature.
func (a *API) redirectToFile(c *fiber.Ctx, name string) error {
	link, err := a.photos.SignedURL(c.UserContext(), name, a.redirect)
	if errors.Is(err, fs.ErrNotExist) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, max-age="+strconv.Itoa(int(a.redirect.Seconds()/5)))
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return c.Redirect(link, fiber.StatusFound)
}

package handlers

import (
	"encoding/json"
	"sort"

	"github.com/gofiber/fiber/v2"

	"roster/models"
)

func setProtocolHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderCacheControl, "no-cache, no-store")
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set(fiber.HeaderAccessControlAllowMethods, "GET, POST, OPTIONS")
	c.Set(fiber.HeaderAccessControlAllowHeaders, "Content-Type, Authorization")
	c.Set(fiber.HeaderAccessControlMaxAge, "86400")
}

func (a *API) envelope(op, result string) fiber.Map {
	return fiber.Map{"op": op, "ts": a.clock.Now().Unix(), "result": result}
}

func (a *API) writeOK(c *fiber.Ctx, op string, reply Reply) error {
	env := a.envelope(op, "OK")
	if _, authed := c.Locals(localPrincipal).(*models.Principal); authed {
		a.addClientConfig(env)
	}
	var raw []string
	for k, v := range reply {
		if _, ok := v.(preEncoded); ok {
			raw = append(raw, k)
			continue
		}
		env[k] = v
	}
	if len(raw) == 0 {
		return c.Status(fiber.StatusOK).JSON(env)
	}
	// Pre-encoded values are spliced in as they are: handed to the encoder
	// (as json.RawMessage) they would be validated and copied byte by byte,
	// which for a reply of thousands of contacts costs more than the query.
	// The body is streamed from the envelope's bytes and the values'
	// buffers, which are handed back once it is written (replyStream).
	b, err := c.App().Config().JSONEncoder(env)
	if err != nil {
		return err
	}
	sort.Strings(raw) // the encoder writes map keys in order too: the same reply every time
	// The envelope without its closing brace, then the values.
	body := &replyStream{parts: [][]byte{b[:len(b)-1]}}
	var releases []func()
	for _, k := range raw {
		key, _ := json.Marshal(k)
		v := reply[k].(preEncoded)
		body.parts = append(body.parts, []byte{','}, key, []byte{':'}, v.json)
		if v.release != nil {
			releases = append(releases, v.release)
		}
	}
	body.parts = append(body.parts, []byte{'}'})
	body.release = func() {
		for _, f := range releases {
			f()
		}
	}
	res := c.Response()
	res.Header.SetContentType(fiber.MIMEApplicationJSON)
	res.SetBodyStream(body, body.size())
	c.Status(fiber.StatusOK)
	return nil
}

// preEncoded is a reply value that is already valid JSON (built from
// entries the database keeps encoded); writeOK sends it unchanged, and
// release (when set) hands its buffer back once the reply is written.
type preEncoded struct {
	json    []byte
	release func()
}

// WriteError writes a failure envelope: always HTTP 200, as the clients expect.
func (a *API) WriteError(c *fiber.Ctx, e *APIError) error {
	setProtocolHeaders(c)
	op := OpOf(c)
	env := a.envelope(op, "FAIL")
	env["error"] = e.Code
	c.Locals(localErrorCode, e.Code)
	if e.Code == CodeNoOp {
		env["code"] = CodeNoOp
	}
	if e.Msg != "" {
		env["errmsg"] = e.Msg
	}
	if e.RetryAfter > 0 {
		secs := retryAfterSeconds(e.RetryAfter)
		env["retry_after"] = secs
		c.Set(fiber.HeaderRetryAfter, itoa(secs))
	}
	return c.Status(fiber.StatusOK).JSON(env)
}

func (a *API) addClientConfig(env fiber.Map) {
	env["urls"] = fiber.Map{"upload": a.client.UploadURL, "download": a.client.DownloadURL}
	env["uploadurl"] = a.client.UploadURL
	env["downloadurl"] = a.client.DownloadURL
	env["fileurl"] = a.client.DownloadURL
	env["share"] = fiber.Map{"text": a.client.ShareText, "subject": a.client.ShareSubject, "title": a.client.ShareTitle}
	env["invite"] = a.client.InviteText
}

package handlers

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// setProtocolHeaders sets the headers of every protocol reply. The names
// are given in their canonical form, which spares fasthttp normalizing
// them on each reply.
func setProtocolHeaders(c *fiber.Ctx) {
	h := &c.Response().Header
	h.SetCanonical([]byte(fiber.HeaderCacheControl), []byte("no-cache, no-store"))
	h.SetCanonical([]byte(fiber.HeaderAccessControlAllowOrigin), []byte("*"))
	h.SetCanonical([]byte(fiber.HeaderAccessControlAllowMethods), []byte("GET, POST, OPTIONS"))
	h.SetCanonical([]byte(fiber.HeaderAccessControlAllowHeaders), []byte("Content-Type, Authorization"))
	h.SetCanonical([]byte(fiber.HeaderAccessControlMaxAge), []byte("86400"))
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
// Its few fields are written directly, in the order encoding/json gives a
// map's keys (the same bytes as encoding the envelope as a map): refusals
// (AUTHFAIL, BUSY) are the replies sent most under attack and overload, and
// the map and its reflection were a third of an unknown token's cost.
func (a *API) WriteError(c *fiber.Ctx, e *APIError) error {
	setProtocolHeaders(c)
	c.Locals(localErrorCode, e.Code)
	b := append(make([]byte, 0, 128+len(e.Msg)), '{')
	field := func(name string) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(append(append(b, '"'), name...), '"', ':')
	}
	if e.Code == CodeNoOp {
		field("code")
		b = appendJSONString(b, CodeNoOp)
	}
	if e.Msg != "" {
		field("errmsg")
		b = appendJSONString(b, e.Msg)
	}
	field("error")
	b = appendJSONString(b, e.Code)
	field("op")
	b = appendJSONString(b, OpOf(c))
	field("result")
	b = append(b, `"FAIL"`...)
	if e.RetryAfter > 0 {
		secs := retryAfterSeconds(e.RetryAfter)
		field("retry_after")
		b = strconv.AppendInt(b, secs, 10)
		c.Set(fiber.HeaderRetryAfter, itoa(secs))
	}
	field("ts")
	b = strconv.AppendInt(b, a.clock.Now().Unix(), 10)
	b = append(b, '}')
	c.Response().Header.SetContentType(fiber.MIMEApplicationJSON)
	c.Response().SetBodyRaw(b)
	c.Status(fiber.StatusOK)
	return nil
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it (HTML characters included). Printable ASCII without a quote,
// a backslash or an HTML character, as error codes and messages are, needs
// no escape.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || strings.IndexByte(`"\<>&`, c) >= 0 {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}

func (a *API) addClientConfig(env fiber.Map) {
	env["urls"] = fiber.Map{"upload": a.client.UploadURL, "download": a.client.DownloadURL}
	env["uploadurl"] = a.client.UploadURL
	env["downloadurl"] = a.client.DownloadURL
	env["fileurl"] = a.client.DownloadURL
	env["share"] = fiber.Map{"text": a.client.ShareText, "subject": a.client.ShareSubject, "title": a.client.ShareTitle}
	env["invite"] = a.client.InviteText
}

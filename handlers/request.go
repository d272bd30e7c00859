package handlers

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"mime/multipart"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Request is one demo-app protocol request, whatever its encoding.
type Request struct {
	Op     string            // lower-cased
	Params map[string]string // every parameter, as text
	Files  []*multipart.FileHeader
	// objects are the parameters a JSON body gave as an object (or a list
	// of lists): kept as JSON text in Params, refused where text is read.
	objects map[string]bool
}

// Get returns the first non-empty value among the names (aliases such as
// `otp` and `code`).
func (r *Request) Get(names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(r.Params[n]); v != "" {
			return v
		}
	}
	return ""
}

// Flag reads a protocol boolean: "1", "true", "yes" are true.
func (r *Request) Flag(name string) bool {
	switch strings.ToLower(r.Get(name)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// DecodeRequest reads the parameters of a protocol request from its query
// string and body (JSON, URL-encoded form, or multipart form). Body values
// win over query values.
func DecodeRequest(c *fiber.Ctx) (*Request, error) {
	req := &Request{Params: map[string]string{}, objects: map[string]bool{}}
	if err := DecodeQuery(c.Request().URI().QueryString(), req.Params); err != nil {
		return req, err
	}
	req.Op = parseOp(req.Params["op"])
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	if c.Method() != fiber.MethodPost {
		return req, req.checkTypes()
	}
	if strings.HasPrefix(ct, fiber.MIMEMultipartForm) {
		return req, decodeMultipart(c, req)
	}
	body, err := requestBody(c)
	if err != nil {
		return req, err
	}
	switch {
	case strings.HasPrefix(ct, fiber.MIMEApplicationJSON) || LooksLikeJSON(body):
		if err := decodeJSON(body, req.Params, req.objects); err != nil {
			return req, err
		}
	case len(body) > 0:
		if err := DecodeQuery(body, req.Params); err != nil {
			return req, err
		}
	}
	req.Op = parseOp(req.Params["op"])
	return req, req.checkTypes()
}

// decodeMultipart reads a multipart form's values and files into req.
func decodeMultipart(c *fiber.Ctx, req *Request) error {
	form, err := c.MultipartForm()
	if err != nil {
		return badRequest("The multipart form could not be read.")
	}
	for k, vs := range form.Value {
		if len(vs) > 0 {
			if err := setParam(req.Params, k, vs[len(vs)-1]); err != nil {
				return err
			}
		}
	}
	names := make([]string, 0, len(form.File))
	for k := range form.File {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		req.Files = append(req.Files, form.File[k]...)
	}
	req.Op = parseOp(req.Params["op"])
	return req.checkTypes()
}

// requestBody is the request's body as sent, or decompressed when its
// Content-Encoding is gzip or deflate, at most the body limit. Fiber's own
// Body() would decompress without a limit (16 MB of gzip can hold 16 GB)
// and copy the body once more.
func requestBody(c *fiber.Ctx) ([]byte, error) {
	raw := c.Request().Body()
	var r io.Reader
	var err error
	switch enc := strings.ToLower(strings.TrimSpace(c.Get(fiber.HeaderContentEncoding))); enc {
	case "", "identity":
		return raw, nil
	case "gzip", "x-gzip":
		r, err = gzip.NewReader(bytes.NewReader(raw))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(raw))
	default:
		return nil, badRequest("The request body's encoding %q is not supported (gzip and deflate are).", truncateRunes(enc, 32))
	}
	if err != nil {
		return nil, badRequest("The request body could not be decompressed.")
	}
	limit := int64(c.App().Config().BodyLimit)
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, badRequest("The request body could not be decompressed.")
	}
	if int64(len(body)) > limit {
		return nil, apiErr(CodeTooLarge, "The request is too large.")
	}
	return body, nil
}

// checkTypes refuses, by name, values of the wrong type for the protocol's
// parameters instead of reading them as something else (an object as its
// JSON text, an unknown boolean as false).
func (r *Request) checkTypes() error {
	// The parameters that hold text (or a number), and the booleans.
	textParams := [...]string{"op", "appid", "phone", "phonel", "cc", "otp", "code", "name", "status", "token",
		"device", "dt", "phones", "ts", "notifytoken", "fcmid", "discoverable", "id", "confirm"}
	boolParams := [...]string{"reset", "hidden", "delete", "profile", "prod", "announce", "others"}
	for _, n := range textParams {
		if r.objects[n] {
			return badRequest("The parameter %q must be text, not a JSON object.", n)
		}
	}
	for _, n := range boolParams {
		if r.objects[n] {
			return badRequest("The parameter %q must be 1 or 0, not a JSON object.", n)
		}
		switch strings.ToLower(strings.TrimSpace(r.Params[n])) {
		case "", "1", "true", "yes", "on", "0", "false", "no", "off":
		default:
			return badRequest("The parameter %q must be 1 or 0 (or true, false, yes, no, on, off).", n)
		}
	}
	return nil
}

// Limits on a request's parameters. Contact sync sends the largest values
// (10,000 numbers of up to ~20 characters each).
const (
	maxParams     = 64
	maxKeyLen     = 64
	maxValueLen   = 512 << 10
	maxArrayItems = 20_000
)

// BadRequestError is a request that cannot be read. Its text is safe to show.
type BadRequestError struct{ Msg string }

func (e *BadRequestError) Error() string { return e.Msg }

func badRequest(format string, a ...any) error {
	return &BadRequestError{Msg: fmt.Sprintf(format, a...)}
}

// DecodeQuery reads URL-encoded parameters (a query string or a form body)
// one pair at a time, stopping at the first limit reached (url.ParseQuery
// would first build every pair of a 16 MB form: millions of strings).
func DecodeQuery(raw []byte, into map[string]string) error {
	for len(raw) > 0 {
		var pair []byte
		pair, raw, _ = bytes.Cut(raw, []byte("&"))
		if len(pair) == 0 {
			continue
		}
		if bytes.IndexByte(pair, ';') >= 0 { // as url.ParseQuery: a separator some servers take, refused
			return badRequest("The request's parameters are not correctly URL-encoded.")
		}
		k, v, _ := bytes.Cut(pair, []byte("="))
		key, err := url.QueryUnescape(string(k))
		if err != nil {
			return badRequest("The request's parameters are not correctly URL-encoded.")
		}
		if err := checkNewParam(into, key); err != nil {
			return err
		}
		if len(v) > 3*maxValueLen { // an escape is 3 bytes for 1: too long whatever it holds
			return badRequest("The parameter %q is too long.", key)
		}
		val, err := url.QueryUnescape(string(v))
		if err != nil {
			return badRequest("The request's parameters are not correctly URL-encoded.")
		}
		if err := setParam(into, key, val); err != nil {
			return err
		}
	}
	return nil
}

func setParam(into map[string]string, k, v string) error {
	if err := checkNewParam(into, k); err != nil {
		return err
	}
	if len(v) > maxValueLen {
		return badRequest("The parameter %q is too long.", k)
	}
	into[k] = v
	return nil
}

// checkNewParam refuses a parameter name that is too long, or one more
// name than maxParams, before its value is read.
func checkNewParam(into map[string]string, k string) error {
	if len(k) > maxKeyLen {
		return badRequest("The request has a parameter name that is too long.")
	}
	if len(into) >= maxParams {
		if _, exists := into[k]; !exists {
			return badRequest("The request has too many parameters.")
		}
	}
	return nil
}

func parseOp(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func truncateRunes(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

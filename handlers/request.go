package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
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
	body := c.Body()
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	switch {
	case c.Method() != fiber.MethodPost:
	case strings.HasPrefix(ct, fiber.MIMEMultipartForm):
		form, err := c.MultipartForm()
		if err != nil {
			return req, badRequest("The multipart form could not be read.")
		}
		for k, vs := range form.Value {
			if len(vs) > 0 {
				if err := setParam(req.Params, k, vs[len(vs)-1]); err != nil {
					return req, err
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

// checkTypes refuses, by name, values of the wrong type for the protocol's
// parameters instead of reading them as something else (an object as its
// JSON text, an unknown boolean as false).
func (r *Request) checkTypes() error {
	// The parameters that hold text (or a number), and the booleans.
	textParams := [...]string{"op", "appid", "phone", "phonel", "cc", "otp", "code", "name", "status", "token",
		"device", "dt", "phones", "ts", "notifytoken", "fcmid", "discoverable"}
	boolParams := [...]string{"reset", "hidden", "delete", "profile", "prod", "announce"}
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

// DecodeJSONParams reads a JSON object body into text parameters. Numbers
// keep their exact text, booleans become "1"/"0", arrays of scalars (a list
// of phones) are joined with commas, and nested objects keep their JSON text.
func DecodeJSONParams(body []byte, into map[string]string) error {
	return decodeJSON(body, into, nil)
}

// decodeJSON is DecodeJSONParams that also notes, in objects (unless nil),
// the parameters given as objects or lists of lists.
func decodeJSON(body []byte, into map[string]string, objects map[string]bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return badRequest("The request body is not a valid JSON object.")
	}
	if dec.More() {
		return badRequest("The request body has data after the JSON object.")
	}
	if obj == nil {
		return badRequest("The request body must be a JSON object.")
	}
	if len(obj) > maxParams {
		return badRequest("The request has too many parameters.")
	}
	for k, v := range obj {
		s, err := jsonText(v)
		if err != nil {
			return err
		}
		if objects != nil && structured(v) {
			objects[k] = true
		}
		if err := setParam(into, k, s); err != nil {
			return err
		}
	}
	return nil
}

// structured reports whether a JSON value is an object or holds one or a
// list: something no protocol parameter is.
func structured(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return true
	case []any:
		for _, item := range x {
			switch item.(type) {
			case []any, map[string]any:
				return true
			}
		}
	}
	return false
}

func jsonText(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case []any:
		if len(x) > maxArrayItems {
			return "", badRequest("A list in the request has too many items.")
		}
		parts := make([]string, 0, len(x))
		for _, item := range x {
			switch item.(type) {
			case []any, map[string]any:
				b, _ := json.Marshal(x)
				return string(b), nil
			}
			s, err := jsonText(item)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return "", badRequest("The request's JSON has a value that cannot be read.")
		}
		return string(b), nil
	}
}

// DecodeQuery reads URL-encoded parameters (a query string or a form body).
func DecodeQuery(raw []byte, into map[string]string) error {
	vals, err := url.ParseQuery(string(raw))
	if err != nil {
		return badRequest("The request's parameters are not correctly URL-encoded.")
	}
	if len(vals) > maxParams {
		return badRequest("The request has too many parameters.")
	}
	for k, vs := range vals {
		if err := setParam(into, k, vs[len(vs)-1]); err != nil {
			return err
		}
	}
	return nil
}

func setParam(into map[string]string, k, v string) error {
	if len(k) > maxKeyLen {
		return badRequest("The request has a parameter name that is too long.")
	}
	if len(v) > maxValueLen {
		return badRequest("The parameter %q is too long.", k)
	}
	if len(into) >= maxParams {
		if _, exists := into[k]; !exists {
			return badRequest("The request has too many parameters.")
		}
	}
	into[k] = v
	return nil
}

// LooksLikeJSON reports whether a body is a JSON object even without a JSON
// content type: some clients post JSON as text/plain or with no type at all.
func LooksLikeJSON(body []byte) bool {
	return len(bytes.TrimLeft(body, " \t\r\n")) > 0 && bytes.TrimLeft(body, " \t\r\n")[0] == '{'
}

// parseOp normalizes the op name.
func parseOp(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func truncateRunes(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

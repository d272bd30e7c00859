package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/url"
	"strings"
)

// Request is one demo-app protocol request, whatever its encoding.
type Request struct {
	Op     string            // lower-cased
	Params map[string]string // every parameter, as text
	Files  []*multipart.FileHeader
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

// Limits on a request's parameters. Contact sync sends the largest values
// (10,000 numbers of up to ~20 characters each).
const (
	maxParams     = 64
	maxKeyLen     = 64
	maxValueLen   = 512 << 10
	maxArrayItems = 20_000
)

// ErrBadRequest is a request that cannot be read. Its text is safe to show.
type ErrBadRequest struct{ Msg string }

func (e *ErrBadRequest) Error() string { return e.Msg }

func badRequest(format string, a ...any) error { return &ErrBadRequest{Msg: fmt.Sprintf(format, a...)} }

// DecodeJSONParams reads a JSON object body into text parameters. Numbers
// keep their exact text, booleans become "1"/"0", arrays of scalars (a list
// of phones) are joined with commas, and nested objects keep their JSON text.
func DecodeJSONParams(body []byte, into map[string]string) error {
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
		if err := setParam(into, k, s); err != nil {
			return err
		}
	}
	return nil
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

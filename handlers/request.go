package handlers

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
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

// decodeJSON reads a JSON object body into text parameters. Numbers keep
// their exact text, booleans become "1"/"0", arrays of scalars (a list of
// phones) are joined with commas, and nested objects keep their JSON text.
// It also notes, in objects (unless nil), the parameters given as objects
// or lists of lists.
//
// It reads the body one token at a time and stops at the first limit
// reached: a list is refused at its item past maxArrayItems, a value once
// its text passes maxValueLen, without building the whole document first
// (decoded into Go values, a 16 MB list of numbers took 40 times its size).
func decodeJSON(body []byte, into map[string]string, objects map[string]bool) error {
	dec := &jsonTokens{Decoder: json.NewDecoder(bytes.NewReader(body)), body: body}
	dec.UseNumber()
	tok, err := dec.next("")
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return badRequest("The request body must be a JSON object.")
	}
	for dec.More() {
		tok, err := dec.next("")
		if err != nil {
			return err
		}
		k, _ := tok.(string) // the decoder gives object keys as strings
		if err := checkNewParam(into, k); err != nil {
			return err
		}
		v, isStructured, err := jsonParam(dec, k)
		if err != nil {
			return err
		}
		if objects != nil {
			if isStructured {
				objects[k] = true
			} else {
				delete(objects, k) // a repeated name: the last value counts
			}
		}
		if err := setParam(into, k, v); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return badRequest("The request body is not a valid JSON object.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("The request body has data after the JSON object.")
	}
	return nil
}

// jsonParam reads the value of parameter k as text: a scalar as itself, a
// list of scalars joined with commas, anything holding an object or a list
// of lists as its JSON text (structured).
func jsonParam(dec *jsonTokens, k string) (text string, isStructured bool, err error) {
	tok, err := dec.next(k)
	if err != nil {
		return "", false, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			var js strings.Builder
			js.WriteByte('{')
			if err := copyJSON(dec, &js, k); err != nil {
				return "", false, err
			}
			return js.String(), true, nil
		}
	default:
		return scalarText(tok), false, nil
	}
	// A list: its scalars joined, and its JSON text in case an item turns
	// out to be an object or a list.
	var joined, js strings.Builder
	js.WriteByte('[')
	for items := 0; dec.More(); items++ {
		if items == maxArrayItems {
			return "", false, badRequest("A list in the request has too many items.")
		}
		tok, err := dec.next(k)
		if err != nil {
			return "", false, err
		}
		if items > 0 {
			joined.WriteByte(',')
			js.WriteByte(',')
		}
		if d, ok := tok.(json.Delim); ok {
			js.WriteRune(rune(d))
			if err := copyJSON(dec, &js, k); err != nil {
				return "", false, err
			}
			isStructured = true
			continue
		}
		joined.WriteString(scalarText(tok))
		writeJSONScalar(&js, tok)
		if joined.Len() > maxValueLen || js.Len() > maxValueLen {
			return "", false, badRequest("The parameter %q is too long.", k)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return "", false, badRequest("The request body is not a valid JSON object.")
	}
	if isStructured {
		js.WriteByte(']')
		return js.String(), true, nil
	}
	return joined.String(), false, nil
}

// copyJSON writes, as compact JSON, the rest of the object or list whose
// opening the caller wrote, up to its closing; past maxValueLen bytes it
// stops with the parameter k's "too long".
func copyJSON(dec *jsonTokens, js *strings.Builder, k string) error {
	// For each open object or list: whether it is an object, and how many
	// tokens (keys and values) it has had.
	type level struct {
		object bool
		tokens int
	}
	last := js.String()[js.Len()-1]
	stack := []level{{object: last == '{'}}
	for len(stack) > 0 {
		tok, err := dec.next(k)
		if err != nil {
			return err
		}
		top := &stack[len(stack)-1]
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			js.WriteRune(rune(d))
			stack = stack[:len(stack)-1]
			continue
		}
		switch {
		case top.object && top.tokens%2 == 1:
			js.WriteByte(':')
		case top.tokens > 0:
			js.WriteByte(',')
		}
		top.tokens++
		if d, ok := tok.(json.Delim); ok {
			js.WriteRune(rune(d))
			stack = append(stack, level{object: d == '{'})
		} else {
			writeJSONScalar(js, tok)
		}
		if js.Len() > maxValueLen {
			return badRequest("The parameter %q is too long.", k)
		}
	}
	return nil
}

// jsonTokens reads a body's JSON tokens, refusing one too long for any
// parameter before the decoder reads it: the decoder holds a token whole,
// in a buffer that doubles as it grows, and then copies it (a 16 MB string
// took three times its size).
type jsonTokens struct {
	*json.Decoder
	body []byte
}

// maxTokenBytes is the longest a token may be as sent: a value of
// maxValueLen bytes written with \u escapes (6 bytes for 1), in quotes.
const maxTokenBytes = 6*maxValueLen + 2

// next returns the next token of parameter k ("" for a parameter's name).
func (d *jsonTokens) next(k string) (json.Token, error) {
	if tokenLonger(d.body[min(d.InputOffset(), int64(len(d.body))):], maxTokenBytes) {
		if k == "" {
			return nil, badRequest("The request has a parameter name that is too long.")
		}
		return nil, badRequest("The parameter %q is too long.", k)
	}
	tok, err := d.Token()
	if err != nil {
		return nil, badRequest("The request body is not a valid JSON object.")
	}
	return tok, nil
}

// tokenLonger reports whether the JSON token rest starts with (after
// whitespace and a separator) is longer than limit bytes as sent, looking
// at limit bytes at most.
func tokenLonger(rest []byte, limit int) bool {
	i := 0
	for i < len(rest) && strings.IndexByte(" \t\r\n:,", rest[i]) >= 0 {
		i++
	}
	rest = rest[i:]
	if len(rest) == 0 {
		return false
	}
	if rest[0] != '"' {
		n := 0
		for n < len(rest) && n <= limit && strings.IndexByte(" \t\r\n:,[]{}\"", rest[n]) < 0 {
			n++
		}
		return n > limit
	}
	for n := 1; n < len(rest); n++ {
		if n >= limit {
			return true
		}
		switch rest[n] {
		case '\\':
			n++ // the escaped byte, a quote included
		case '"':
			return false
		}
	}
	return false // unterminated: the decoder refuses it
}

// scalarText is a JSON scalar as a parameter's text: strings and numbers
// as they are, booleans as 1 and 0, null as nothing.
func scalarText(tok json.Token) string {
	switch x := tok.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "1"
		}
		return "0"
	}
	return ""
}

// writeJSONScalar writes a scalar token as JSON.
func writeJSONScalar(js *strings.Builder, tok json.Token) {
	switch x := tok.(type) {
	case string:
		b, _ := json.Marshal(x) // a string always marshals
		js.Write(b)
	case json.Number:
		js.WriteString(x.String())
	case bool:
		js.WriteString(strconv.FormatBool(x))
	default:
		js.WriteString("null")
	}
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

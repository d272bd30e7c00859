package handlers

// Decoding a JSON body into the protocol's text parameters, one token at
// a time, stopping at the first limit a body breaks.

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

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
	if done, err := decodeFlatJSON(body, into, objects); done {
		return err
	}
	return decodeJSONTokens(body, into, objects)
}

// decodeJSONTokens is decodeJSON with the token decoder, for any body.
func decodeJSONTokens(body []byte, into map[string]string, objects map[string]bool) error {
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

// LooksLikeJSON reports whether a body is a JSON object even without a JSON
// content type: some clients post JSON as text/plain or with no type at all.
func LooksLikeJSON(body []byte) bool {
	return len(bytes.TrimLeft(body, " \t\r\n")) > 0 && bytes.TrimLeft(body, " \t\r\n")[0] == '{'
}

// parseOp normalizes the op name.

// flatParams is how many parameters decodeFlatJSON reads (more: the
// token decoder reads the body).
const flatParams = 16

// decodeFlatJSON reads, without the token decoder, the bodies nearly every
// app sends: one object of names and plain values (strings without escapes,
// integers, true, false, null), nothing after it. It gives the same
// parameters and the same refusals as decodeJSON's token decoder, in a
// fraction of its time (a refused token, AUTHFAIL, is mostly the reading
// of its request). done is false, and nothing is read, for any other body
// (an escape, a fraction, a list, an object, invalid UTF-8, more than
// flatParams parameters, a string past maxValueLen, any syntax error): the
// token decoder then reads it. FuzzDecodeFlatJSON holds the two to the same
// answers.
func decodeFlatJSON(body []byte, into map[string]string, objects map[string]bool) (done bool, err error) {
	type param struct{ k, v string }
	var params [flatParams]param
	n := 0
	i := skipJSONSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return false, nil
	}
	i = skipJSONSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		i++
	} else {
		for {
			if n == flatParams {
				return false, nil
			}
			k, next, ok := flatJSONString(body, i)
			if !ok {
				return false, nil
			}
			i = skipJSONSpace(body, next)
			if i == len(body) || body[i] != ':' {
				return false, nil
			}
			v, next, ok := flatJSONScalar(body, skipJSONSpace(body, i+1))
			if !ok {
				return false, nil
			}
			params[n] = param{k, v}
			n++
			i = skipJSONSpace(body, next)
			if i == len(body) {
				return false, nil
			}
			if body[i] == '}' {
				i++
				break
			}
			if body[i] != ',' {
				return false, nil
			}
			i = skipJSONSpace(body, i+1)
		}
	}
	if skipJSONSpace(body, i) != len(body) {
		return false, nil
	}
	// The checks decodeJSON makes, in its order.
	for _, p := range params[:n] {
		if err := checkNewParam(into, p.k); err != nil {
			return true, err
		}
		if objects != nil {
			delete(objects, p.k)
		}
		if err := setParam(into, p.k, p.v); err != nil {
			return true, err
		}
	}
	return true, nil
}

func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// flatJSONString reads the string at b[i:] if it has no escape, no control
// character, valid UTF-8 and at most maxValueLen bytes; next is the index
// after its closing quote.
func flatJSONString(b []byte, i int) (s string, next int, ok bool) {
	if i == len(b) || b[i] != '"' {
		return "", 0, false
	}
	ascii := true
	for j := i + 1; j < len(b) && j-i-1 <= maxValueLen; j++ {
		switch c := b[j]; {
		case c == '"':
			if !ascii && !utf8.Valid(b[i+1:j]) {
				return "", 0, false
			}
			return string(b[i+1 : j]), j + 1, true
		case c == '\\' || c < 0x20:
			return "", 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", 0, false
}

// flatJSONScalar reads the value at b[i:] as decodeJSON's text: a string
// (flatJSONString), an integer as written, true as 1, false as 0, null as
// nothing. Anything else is not read (ok false).
func flatJSONScalar(b []byte, i int) (text string, next int, ok bool) {
	if i == len(b) {
		return "", 0, false
	}
	switch c := b[i]; {
	case c == '"':
		return flatJSONString(b, i)
	case c == '-' || c >= '0' && c <= '9':
		j := i
		if b[j] == '-' {
			j++
		}
		switch {
		case j < len(b) && b[j] == '0':
			j++
		case j < len(b) && b[j] >= '1' && b[j] <= '9':
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
			}
		default:
			return "", 0, false
		}
		if j-i > maxValueLen || !flatJSONEnd(b, j) {
			return "", 0, false
		}
		return string(b[i:j]), j, true
	}
	for _, lit := range [...]struct{ json, text string }{{"true", "1"}, {"false", "0"}, {"null", ""}} {
		if bytes.HasPrefix(b[i:], []byte(lit.json)) && flatJSONEnd(b, i+len(lit.json)) {
			return lit.text, i + len(lit.json), true
		}
	}
	return "", 0, false
}

// flatJSONEnd reports whether a number or literal ends at b[j]: the body's
// end, whitespace, a comma or the object's end.
func flatJSONEnd(b []byte, j int) bool {
	return j == len(b) || strings.IndexByte(" \t\r\n,}", b[j]) >= 0
}

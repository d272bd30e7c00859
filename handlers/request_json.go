package handlers

// Decoding a JSON body into the protocol's text parameters, one token at
// a time, stopping at the first limit a body breaks.

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
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

package handlers_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"roster/web/webtest"
)

// A failure envelope is the JSON encoding of its fields as a map (keys in
// order, encoding/json's escaping), byte for byte, whichever fields it has:
// a message, NOOP's code, a retry_after, text that needs escaping.
func TestFailureEnvelopeIsItsFieldsEncoded(t *testing.T) {
	e := webtest.New(t)
	for i := 0; i < 5; i++ {
		e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
		e.Clock.Advance(31 * time.Second)
	}
	for _, c := range []struct {
		name   string
		params map[string]any
		code   string
		fields []string // fields the envelope must have besides op, result, error and ts
	}{
		{"unknown token", map[string]any{"op": "getcontacts", "token": strings.Repeat("0", 64)}, "AUTHFAIL", []string{"errmsg"}},
		{"no op", map[string]any{"phone": webtest.USPhone}, "NOOP", []string{"code", "errmsg"}},
		{"unknown op to escape", map[string]any{"op": `<b>"x"&\u2028`}, "BADOP", []string{"errmsg"}},
		{"rate limit", webtest.LoginParams(webtest.USPhone), "RATELIMIT", []string{"errmsg", "retry_after"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.JSON(c.params)
			r.ExpectFail(t, c.code)
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			dec := json.NewDecoder(bytes.NewReader(r.Body))
			dec.UseNumber()
			var fields map[string]any
			if err := dec.Decode(&fields); err != nil {
				t.Fatalf("%v: %s", err, r.Body)
			}
			for _, f := range append([]string{"op", "result", "error", "ts"}, c.fields...) {
				if _, ok := fields[f]; !ok {
					t.Errorf("no %q in %s", f, r.Body)
				}
			}
			want, _ := json.Marshal(fields)
			if !bytes.Equal(r.Body, want) {
				t.Errorf("body\n%s\nwant (its fields encoded as a map)\n%s", r.Body, want)
			}
		})
	}
}

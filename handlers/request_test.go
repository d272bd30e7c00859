package handlers

import (
	"fmt"
	"maps"
	"strings"
	"testing"
)

func TestDecodeJSONParams(t *testing.T) {
	cases := []struct {
		body string
		want map[string]string
		bad  bool
	}{
		{body: `{"op":"login","phone":12015550123,"dt":1}`, want: map[string]string{"op": "login", "phone": "12015550123", "dt": "1"}},
		{body: `{"reset":true,"hidden":false}`, want: map[string]string{"reset": "1", "hidden": "0"}},
		{body: `{"phones":["+1 201 555 0123", 33612345678]}`, want: map[string]string{"phones": "+1 201 555 0123,33612345678"}},
		{body: `{"ts":1.5e3,"name":null}`, want: map[string]string{"ts": "1.5e3", "name": ""}},
		{body: `{"x":{"a":1}}`, want: map[string]string{"x": `{"a":1}`}},
		{body: "  \n{\"op\":\"x\"}", want: map[string]string{"op": "x"}},
		{body: `{"op":"x"} trailing`, bad: true},
		{body: `{"op":`, bad: true},
		{body: `[1,2]`, bad: true},
		{body: `null`, bad: true},
		{body: `"s"`, bad: true},
		{body: `{"a":[[1],[2]]}`, want: map[string]string{"a": `[[1],[2]]`}},
	}
	for _, c := range cases {
		got := map[string]string{}
		err := decodeJSON([]byte(c.body), got, nil)
		if c.bad {
			if err == nil {
				t.Errorf("%s: accepted as %v", c.body, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.body, err)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", c.body, k, got[k], v)
			}
		}
	}
}

func TestDecodeQuery(t *testing.T) {
	got := map[string]string{}
	if err := DecodeQuery([]byte("op=login&phone=%2B12015550123&phone=last&name=J%C3%BCrgen"), got); err != nil {
		t.Fatal(err)
	}
	if got["phone"] != "last" || got["name"] != "Jürgen" || got["op"] != "login" {
		t.Errorf("%v", got)
	}
	if err := DecodeQuery([]byte("a=%zz"), map[string]string{}); err == nil {
		t.Error("bad escape accepted")
	}
	many := strings.Repeat("k=1&", 10) + "x=" + strings.Repeat("a", maxValueLen+1)
	if err := DecodeQuery([]byte(many), map[string]string{}); err == nil {
		t.Error("oversized value accepted")
	}
	var b strings.Builder
	for i := 0; i < maxParams+1; i++ {
		b.WriteString("p")
		b.WriteString(strings.Repeat("x", i%5))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(itoa(int64(i)))
		b.WriteString("=1&")
	}
	if err := DecodeQuery([]byte(b.String()), map[string]string{}); err == nil {
		t.Error("too many parameters accepted")
	}
}

// Decoding any body never panics and, when it succeeds, respects the limits.
func FuzzDecodeJSONParams(f *testing.F) {
	for _, s := range []string{`{"op":"login","phone":12015550123}`, `{"phones":["1","2"]}`, `{"a":{"b":[1,{"c":null}]}}`, `{`, `[]`, `{"a":1e999}`, "{\"\\ud800\":1}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got := map[string]string{}
		if err := decodeJSON(body, got, nil); err != nil {
			if _, ok := err.(*BadRequestError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		checkLimits(t, got)
	})
}

// The flat reader gives what the token decoder gives, parameters and
// refusals alike, for every body it reads (and reads nothing otherwise);
// both start from a query parameter already read.
func FuzzDecodeFlatJSON(f *testing.F) {
	for _, s := range []string{`{"op":"login","phone":12015550123}`, `{"op":"getcontacts","token":"0f","ts":0,"reset":true,"x":null}`,
		` { } `, `{"a":-0,"b":-12,"c":01}`, `{"a":"\u00e9"}`, `{"a":"é"}`, "{\"a\":\"\xff\"}", `{"a":1,}`, `{"a":1}x`,
		`{"op":"a","op":"b"}`, `{"a":1.5}`, `{"a":truex}`, `{"a":"b"`, `{"a" : "b" , "c":false}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, slow := map[string]string{"op": "q"}, map[string]string{"op": "q"}
		fastObjects, slowObjects := map[string]bool{"op": true}, map[string]bool{"op": true}
		done, fastErr := decodeFlatJSON(body, fast, fastObjects)
		if !done {
			if len(fast) != 1 || len(fastObjects) != 1 {
				t.Fatalf("not read, yet changed: %v %v", fast, fastObjects)
			}
			return
		}
		slowErr := decodeJSONTokens(body, slow, slowObjects)
		if fmt.Sprint(fastErr) != fmt.Sprint(slowErr) || !maps.Equal(fast, slow) || !maps.Equal(fastObjects, slowObjects) {
			t.Fatalf("%q:\nflat   %v %q %v\ntokens %v %q %v", body, fastErr, fast, fastObjects, slowErr, slow, slowObjects)
		}
	})
}

func FuzzDecodeQuery(f *testing.F) {
	for _, s := range []string{"op=login&phone=1", "a=%zz", "&&&=", "a=1;b=2", "%00=%00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := map[string]string{}
		if err := DecodeQuery(raw, got); err != nil {
			if _, ok := err.(*BadRequestError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		checkLimits(t, got)
	})
}

func checkLimits(t *testing.T, got map[string]string) {
	if len(got) > maxParams {
		t.Fatalf("%d params", len(got))
	}
	for k, v := range got {
		if len(k) > maxKeyLen || len(v) > maxValueLen {
			t.Fatalf("param %q of %d bytes passed the limits", k[:min(len(k), 20)], len(v))
		}
	}
}

// Tokens too long for any parameter are refused before the decoder reads
// them; the longest a value may be sent as (maxValueLen bytes, each as a
// \u escape) still reads.
func TestDecodeJSONTokenLengths(t *testing.T) {
	escaped := `{"status":"` + strings.Repeat(`\u0061`, maxValueLen) + `"}`
	got := map[string]string{}
	if err := decodeJSON([]byte(escaped), got, nil); err != nil || len(got["status"]) != maxValueLen {
		t.Errorf("%d escaped bytes: %v (%d read)", maxValueLen, err, len(got["status"]))
	}
	for body, want := range map[string]string{
		`{"status":"` + strings.Repeat("a", maxTokenBytes) + `"}`:     `"status" is too long`,
		`{"status":` + strings.Repeat("1", maxTokenBytes+1) + `}`:     `"status" is too long`,
		`{"status":["` + strings.Repeat("a", maxTokenBytes) + `"]}`:   `"status" is too long`,
		`{"` + strings.Repeat("k", maxTokenBytes) + `":1}`:            "name that is too long",
		`{"x":{"y":"` + strings.Repeat(`\"`, maxTokenBytes/2) + `"}}`: `"x" is too long`,
		`{"status":"` + strings.Repeat("a", maxValueLen+1) + `"}`:     `"status" is too long`,
	} {
		err := decodeJSON([]byte(body), map[string]string{}, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.40s…: %v, want %q", body, err, want)
		}
	}
}

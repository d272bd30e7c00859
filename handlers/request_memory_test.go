package handlers_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"

	"roster/web/webtest"
)

// allocated is how many bytes the process has allocated on the heap so far.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// A body is read up to the first limit it breaks, not decoded whole first:
// a 16 MB list of numbers, object of names or string, sent without a
// session, is refused having cost its decoding less than its own size on
// top of what sending a body of that size costs (the test client's copies
// of it and the server's read of it). Decoded whole, the list cost 65
// times its size, the names 20 times; read by encoding/json's tokens
// alone, the string cost 3 times.
func TestLargeBodiesRefusedAsTheyAreRead(t *testing.T) {
	e := webtest.NewPeople(t)
	const size = 16<<20 - 1024
	var list, names bytes.Buffer
	list.WriteString(`{"op":"getcontacts","phones":[`)
	for list.Len() < size {
		list.WriteString("1,")
	}
	list.WriteString("1]}")
	names.WriteString(`{"op":"getcontacts"`)
	for i := 0; names.Len() < size; i++ {
		names.WriteString(`,"p` + strconv.Itoa(i) + `":1`)
	}
	names.WriteString("}")
	str := []byte(`{"op":"getcontacts","phones":"` + strings.Repeat("1", size) + `"}`)
	send := func(body []byte) (*webtest.Response, uint64) {
		before := allocated()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		r := e.Do(req)
		return r, allocated() - before
	}
	// A body of the same size refused at its first byte: the cost of
	// sending it (the second time: the first fills the buffer pools).
	junk := bytes.Repeat([]byte("x"), size)
	send(junk)
	_, sending := send(junk)
	for _, c := range []struct {
		name   string
		body   []byte
		errmsg string
	}{
		{"list", list.Bytes(), "too many items"},
		{"names", names.Bytes(), "too many parameters"},
		{"string", str, "too long"},
	} {
		r, took := send(c.body)
		r.ExpectFail(t, "BADREQUEST")
		if !strings.Contains(r.String("errmsg"), c.errmsg) {
			t.Errorf("%s: errmsg %q", c.name, r.String("errmsg"))
		}
		decoding := int64(took) - int64(sending)
		t.Logf("%s: a %d MiB body cost %d MiB to decode (%d MiB to send)", c.name, len(c.body)>>20, decoding>>20, sending>>20)
		if decoding > 2*int64(len(c.body)) {
			t.Errorf("%s: a %d MiB body cost %d MiB to decode", c.name, len(c.body)>>20, decoding>>20)
		}
	}
}

// A compressed body is decompressed up to the body limit, no further:
// 64 MiB of JSON in a 64 KB gzip body is too large, like 64 MiB sent as is.
func TestCompressedBodyBoundedByTheBodyLimit(t *testing.T) {
	e := webtest.NewPeople(t)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write([]byte(`{"op":"getcontacts","phones":"` + strings.Repeat(" ", 64<<20) + `"}`))
	_ = w.Close()
	req := httptest.NewRequest(http.MethodPost, "/", &gz)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	e.Do(req).ExpectFail(t, "TOOLARGE")

	// Within the limit, a compressed body is read as the same body sent as is.
	gz.Reset()
	w = gzip.NewWriter(&gz)
	_, _ = w.Write([]byte(`{"op":"login","appid":"x"}`))
	_ = w.Close()
	req = httptest.NewRequest(http.MethodPost, "/", &gz)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	r := e.Do(req)
	r.ExpectFail(t, "MISSINGPARA")

	req = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"op":"login"}`))
	req.Header.Set("Content-Encoding", "br")
	e.Do(req).ExpectFail(t, "BADREQUEST")
}

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
// a 16 MB list of numbers or object of names, sent without a session, is
// refused having allocated about 5 times its size, the test client's
// copies of it included (decoded whole: 1,044 MiB and 324 MiB, 65 and 20
// times).
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
	for _, c := range []struct {
		name   string
		body   []byte
		errmsg string
	}{
		{"list", list.Bytes(), "too many items"},
		{"names", names.Bytes(), "too many parameters"},
	} {
		before := allocated()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		r := e.Do(req)
		took := allocated() - before
		r.ExpectFail(t, "BADREQUEST")
		if !strings.Contains(r.String("errmsg"), c.errmsg) {
			t.Errorf("%s: errmsg %q", c.name, r.String("errmsg"))
		}
		t.Logf("%s: a %d MiB body allocated %d MiB", c.name, len(c.body)>>20, took>>20)
		if took > 10*uint64(len(c.body)) {
			t.Errorf("%s: a %d MiB body allocated %d MiB", c.name, len(c.body)>>20, took>>20)
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

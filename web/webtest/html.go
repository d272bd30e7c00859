package webtest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// HTML parses the reply as an HTML document. Tests find elements by CSS
// selectors (usually data-testid) instead of matching text, so they do not
// depend on attribute order or markup details.
func (r *Response) HTML(t testing.TB) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("parse the reply as HTML: %v", err)
	}
	return doc
}

// TestID selects the elements with this data-testid.
func (r *Response) TestID(t testing.TB, id string) *goquery.Selection {
	t.Helper()
	return r.HTML(t).Find(TestIDSelector(id))
}

// CountTestID counts the elements with this data-testid.
func (r *Response) CountTestID(t testing.TB, id string) int {
	t.Helper()
	return r.TestID(t, id).Length()
}

// TestIDText is the text of the first element with this data-testid,
// spaces trimmed ("" when there is none).
func (r *Response) TestIDText(t testing.TB, id string) string {
	t.Helper()
	return strings.TrimSpace(r.TestID(t, id).First().Text())
}

// TestIDSelector is the CSS selector of a data-testid.
func TestIDSelector(id string) string { return `[data-testid="` + id + `"]` }

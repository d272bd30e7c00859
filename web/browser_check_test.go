package web_test

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Every dashboard page the browser tests visit is checked the same way, in
// the light and the dark colour scheme, at 1280 and at 390 pixels wide:
// axe-core finds no accessibility violation, the page does not scroll
// sideways, and it is photographed.

//go:embed testdata/axe/axe.min.js
var axeSource string

// axeSHA256 is the vendored axe.min.js (testdata/axe/VENDORED.md).
const axeSHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// checkA11y runs axe-core on the page and fails on any violation.
func checkA11y(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if sum := sha256.Sum256([]byte(axeSource)); hex.EncodeToString(sum[:]) != axeSHA256 {
		t.Fatal("testdata/axe/axe.min.js is not the vendored file: see VENDORED.md")
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe === "undefined" ? (0, eval)(`+jsString(axeSource)+`) && true : true`)); err != nil {
		t.Fatalf("%s: load axe-core: %v", name, err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: axe: %v", name, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("%s: axe result: %v", name, err)
	}
	for _, v := range vs {
		var where []string
		for i, n := range v.Nodes {
			if i == 3 {
				where = append(where, "…")
				break
			}
			where = append(where, n.HTML)
		}
		t.Errorf("%s: axe %s (%s): %s, %d nodes: %s", name, v.ID, v.Impact, v.Help, len(v.Nodes), strings.Join(where, " | "))
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// checkPage checks the page shown in both colour schemes at both widths:
// axe, no sideways scrolling, a screenshot (name, then "-390" for the
// phone width, "dark-" before it for the dark scheme). It leaves the page
// light at 1280 pixels.
func checkPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, scheme := range []string{"light", "dark"} {
		colorScheme(t, ctx, scheme)
		for _, w := range []int64{1280, 390} {
			do(t, ctx, "resize", chromedp.EmulateViewport(w, 900))
			shot := name
			if scheme == "dark" {
				shot = "dark-" + shot
			}
			if w == 390 {
				shot += "-390"
			}
			checkA11y(t, ctx, shot)
			wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
			if err != nil {
				t.Fatal(err)
			}
			if wide {
				t.Errorf("%s scrolls sideways at %d px", shot, w)
			}
			screenshot(t, ctx, shot)
		}
	}
	colorScheme(t, ctx, "light")
	do(t, ctx, "resize", chromedp.EmulateViewport(1280, 900))
}

// colorScheme makes the page see the system's colour scheme as dark or light.
func colorScheme(t *testing.T, ctx context.Context, scheme string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
		t.Fatalf("prefers-color-scheme %s: %v", scheme, err)
	}
}

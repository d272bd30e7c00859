package web_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
)

// actInPlace runs an htmx action (steps: the click) and checks that its
// answer, the element sel, is where the admin looks once htmx has settled:
// inside the viewport, focused (or holding the focus) so that a screen
// reader reads it, and below the page's first screen, by the action the
// caller chose far down a long page. A result rendered at the top of the
// page, out of sight, is what this guards against.
func actInPlace(t *testing.T, ctx context.Context, what, sel string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(window.rosterSettled = new Promise(done =>
		document.addEventListener("htmx:afterSettle", () => done(true), {once: true})), true)`)); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	do(t, ctx, what, steps...)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.rosterSettled`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("%s: waiting for htmx to settle: %v", what, err)
	}
	type where struct {
		Found, Focused        bool
		Top, Bottom, Height   float64
		ScrollY, WindowHeight float64
	}
	w, err := chromedp.Run(ctx, chromedp.Evaluate[where](`(() => {
		const el = document.querySelector(`+jsString(sel)+`);
		if (!el) return {Found: false};
		const r = el.getBoundingClientRect();
		return {Found: true, Focused: el === document.activeElement || el.contains(document.activeElement),
			Top: r.top, Bottom: r.bottom, Height: document.documentElement.scrollHeight,
			ScrollY: window.scrollY, WindowHeight: window.innerHeight};
	})()`))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	switch {
	case !w.Found:
		t.Errorf("%s: no %s on the page", what, sel)
	case w.Top+w.ScrollY < w.WindowHeight:
		t.Errorf("%s: %s is on the page's first screen (%.0f px from the top of a %.0f px page), not by an action below it", what, sel, w.Top+w.ScrollY, w.Height)
	case w.Top < 0 || w.Bottom > w.WindowHeight:
		t.Errorf("%s: %s is outside the viewport: %.0f to %.0f px, the viewport 0 to %.0f", what, sel, w.Top, w.Bottom, w.WindowHeight)
	case !w.Focused:
		t.Errorf("%s: %s is not the focused element, nor holds it", what, sel)
	}
}

package web_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"roster/web/webtest"
)

// The same undelivered receipt arriving many times at once on two
// instances (Twilio retries, a load balancer spreads them) moves the code
// to its next channel once.
func TestUndeliveredReceiptsAcrossInstances(t *testing.T) {
	sms := webtest.NewFakeHTTP(t, webtest.Reply{Status: http.StatusCreated, Body: twilioCreated})
	hook := webtest.NewFakeHTTP(t, webtest.Reply{Status: 204})
	a, b, _, _ := twoInstances(t, "--otp-channel", "twilio,voice", "--twilio-base-url", sms.URL, "--twilio-account-sid", twilioSID,
		"--twilio-from", "+15005550006", "--webhook-url", hook.URL, "--base-url", publicURL)
	a.JSON(webtest.LoginParams(webtest.USPhone)).ExpectOK(t)
	waitUntilSent(t, a)

	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		e := []*webtest.Env{a, b}[i%2]
		wg.Go(func() {
			statuses[i] = twilioReceipt(e, statusForm("undelivered", "30003"), signedByHand("undelivered", "30003")).Status
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusNoContent {
			t.Errorf("receipt %d: %d", i, s)
		}
	}
	if n := a.Count("SELECT COUNT(*) FROM outbox WHERE channel = 'voice'"); n != 1 {
		t.Errorf("%d calls queued for one undelivered code, want 1", n)
	}
	if n := a.Count("SELECT COUNT(*) FROM audit_log WHERE type = 'code_fallback'"); n != 1 {
		t.Errorf("%d fallback entries", n)
	}
}

// waitUntilSent waits until the one queued message has been handed to its
// provider. Both instances' background workers run too, and either may
// hold the message when this instance's worker looks, so running one turn
// here is not enough: a receipt that arrives before the send is recorded
// finds no attempt to move on.
func waitUntilSent(t *testing.T, e *webtest.Env) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.Count("SELECT COUNT(*) FROM outbox WHERE state = 'sent'") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the code was not sent within 10 s")
		}
		e.Server.Worker().RunOnce(context.Background())
		time.Sleep(10 * time.Millisecond)
	}
}

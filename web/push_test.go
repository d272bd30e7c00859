// Push notifications against the fake FCM (webtest.FakeFCM, which checks
// the OAuth exchange and each message's exact form): end to end on a
// running server, an online device, retries on the fake clock, the token
// rules, and the start-up checks.

package web_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"roster/models"
	"roster/web"
	"roster/web/webtest"
)

// postJSON sends a protocol request to a running server.
func postJSON(t *testing.T, base string, params map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(params)
	res, err := http.Post(base+"/", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out["result"] != "OK" {
		t.Fatalf("%v: %v %v", params["op"], out, err)
	}
	return out
}

// waitUntil polls cond for up to a minute (a generous bound for a loaded
// machine: the test is about what happens, not how fast).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// B, offline with a token, has A's number; A signs in: the fake FCM gets
// exactly one data-only message for B's token. After it answers
// UNREGISTERED to a later notice, B's token is gone and never used again.
func TestPushJoinEndToEnd(t *testing.T) {
	fcm := webtest.NewFakeFCM(t)
	e := webtest.NewPeople(t, fcm.Args()...)
	base := e.Listen()
	signIn := func(phone, device string) string {
		postJSON(t, base, map[string]any{"op": "login", "appid": "test.app", "phone": phone})
		return postJSON(t, base, map[string]any{"op": "login", "appid": "test.app", "phone": phone, "otp": e.LastCode("+" + phone),
			"device": device})["token"].(string)
	}
	bob := signIn(webtest.FRPhone, "bob-phone")
	postJSON(t, base, map[string]any{"op": "setnotify", "token": bob, "notifytoken": "fcm-token-of-bob", "prod": 1})
	postJSON(t, base, map[string]any{"op": "getcontacts", "token": bob, "phones": "+" + webtest.USPhone})
	e.Clock.Advance(time.Minute)
	alice := signIn(webtest.USPhone, "alice-phone")
	waitUntil(t, "the join's push", func() bool { return len(fcm.Messages()) == 1 })
	m := fcm.Messages()[0]
	joinedAt := e.Clock.Now().Unix()
	if m.Token != "fcm-token-of-bob" || m.Type != "contact_joined" || m.TS != strconv.FormatInt(joinedAt, 10) {
		t.Errorf("message %+v, want Bob's token, contact_joined at %d", m, joinedAt)
	}
	if strings.Contains(m.Body, webtest.USPhone) || strings.Contains(m.Body, "Alice") {
		t.Errorf("the push carries personal data: %s", m.Body)
	}
	waitUntil(t, "the push recorded", func() bool {
		return e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'push' AND state = 'sent' AND channel = 'fcm'") == 1
	})

	fcm.Answer(func(string) webtest.Reply { return webtest.FCMError(404, "UNREGISTERED") })
	postJSON(t, base, map[string]any{"op": "profile", "token": alice, "name": "Alice"})
	waitUntil(t, "the profile push", func() bool { return len(fcm.Messages()) == 2 })
	waitUntil(t, "the token removed", func() bool {
		return e.Count("SELECT COUNT(*) FROM sessions WHERE notify_token = 'fcm-token-of-bob'") == 0
	})
	if fcm.Messages()[1].Type != "profile_changed" {
		t.Errorf("second message %+v", fcm.Messages()[1])
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'push' AND state = 'failed' AND last_error LIKE '%UNREGISTERED%'"); n != 1 {
		t.Errorf("%d pushes failed with UNREGISTERED, want 1", n)
	}
	postJSON(t, base, map[string]any{"op": "profile", "token": alice, "name": "Alice B"})
	waitUntil(t, "the third notice fanned out", func() bool {
		return e.Count("SELECT COUNT(*) FROM events WHERE fanned_out_at IS NULL") == 0 && e.Count("SELECT COUNT(*) FROM events WHERE type = 'profile'") == 2
	})
	e.Server.Pusher().RunOnce(context.Background())
	if n := len(fcm.Messages()); n != 2 {
		t.Errorf("%d messages after the token was removed, want 2", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'push'"); n != 2 {
		t.Errorf("%d push jobs, want 2 (none for a device without a token)", n)
	}
	if fcm.Exchanges() != 1 {
		t.Errorf("%d OAuth exchanges, want 1", fcm.Exchanges())
	}
	metrics := string(e.Metrics().Body)
	for _, want := range []string{`roster_push_attempts_total{outcome="sent",provider="fcm"} 1`, `roster_push_attempts_total{outcome="failed",provider="fcm"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(e.Logs(), "fcm-token-of-bob") || strings.Contains(e.Logs(), "fake-access-token") {
		t.Error("a token reached the log")
	}
}

// pushPeople is a server pushing through the fake, with Bob (token set,
// Alice's number in his book) signed in; it returns Bob's access token.
func pushPeople(t *testing.T, fcm *webtest.FakeFCM, args ...string) (*webtest.Env, string) {
	e := webtest.NewPeople(t, append(fcm.Args(), args...)...)
	bob := e.SignIn(webtest.FRPhone, "bob-phone")
	e.JSON(map[string]any{"op": "setnotify", "token": bob, "notifytoken": "fcm-token-of-bob"}).ExpectOK(t)
	e.GetContacts(t, bob, map[string]any{"phones": "+" + webtest.USPhone})
	return e, bob
}

func runPushes(e *webtest.Env) int { return e.Server.Pusher().RunOnce(context.Background()) }

// A device whose app holds the event stream gets the stream only; once the
// stream is closed, it gets pushes.
func TestPushOnlineDeviceGetsNone(t *testing.T) {
	fcm := webtest.NewFakeFCM(t)
	e, bob := pushPeople(t, fcm, "--event-heartbeat", "100ms")
	base := e.Listen()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/events", nil)
	req.Header.Set("Authorization", "Bearer "+bob)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the stream's presence", func() bool { return e.Count("SELECT COUNT(*) FROM live_streams") == 1 })
	alice := e.SignIn(webtest.USPhone, "alice-phone")
	waitUntil(t, "the join fanned out to Bob", func() bool {
		return e.Count("SELECT COUNT(*) FROM event_deliveries d JOIN users u ON u.id = d.recipient_id WHERE u.phone = ?", "+"+webtest.FRPhone) == 1
	})
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'push'"); n != 0 {
		t.Errorf("%d pushes queued for a device with a live stream", n)
	}
	cancel()
	res.Body.Close()
	waitUntil(t, "the presence removed", func() bool { return e.Count("SELECT COUNT(*) FROM live_streams") == 0 })
	e.SetProfile(t, alice, map[string]any{"name": "Alice"})
	waitUntil(t, "the push", func() bool { return len(fcm.Messages()) == 1 })
}

// A stream's presence lapses one heartbeat after its last refresh (an
// instance that died keeps no device from its pushes).
func TestPushPresenceLapses(t *testing.T) {
	fcm := webtest.NewFakeFCM(t)
	e, bob := pushPeople(t, fcm)
	var sessionID int64
	e.Server.DB().Read.Raw("SELECT id FROM sessions WHERE revoked_at IS NULL AND notify_token <> ''").Scan(&sessionID)
	if err := e.Server.DB().Write.Exec("INSERT INTO live_streams (session_id, expires_at) VALUES (?, ?)",
		sessionID, e.Clock.Now().Add(25*time.Second).UnixMilli()).Error; err != nil {
		t.Fatal(err)
	}
	_ = bob
	alice := e.SignIn(webtest.USPhone, "alice-phone")
	e.FanOut()
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'push'"); n != 0 {
		t.Fatalf("%d pushes for a device online", n)
	}
	e.Clock.Advance(26 * time.Second)
	e.SetProfile(t, alice, map[string]any{"name": "Alice"})
	e.FanOut()
	if runPushes(e) != 1 || len(fcm.Messages()) != 1 {
		t.Errorf("no push after the presence lapsed")
	}
}

// Failures are retried on the fake clock: after Retry-After (at least a
// minute after a quota error), with backoff otherwise, up to a final
// failed state that keeps the provider's reason.
func TestPushRetries(t *testing.T) {
	fcm := webtest.NewFakeFCM(t)
	e, _ := pushPeople(t, fcm)
	replies := []webtest.Reply{
		func() webtest.Reply {
			r := webtest.FCMError(429, "QUOTA_EXCEEDED")
			r.Header = map[string]string{"Retry-After": "10"}
			return r
		}(),
		func() webtest.Reply {
			r := webtest.FCMError(503, "UNAVAILABLE")
			r.Header = map[string]string{"Retry-After": "30"}
			return r
		}(),
		{Status: 200, Body: `{"name":"projects/roster-test/messages/9"}`},
	}
	n := 0
	fcm.Answer(func(string) webtest.Reply { n++; return replies[min(n, len(replies))-1] })
	e.SignIn(webtest.USPhone, "alice-phone")
	e.FanOut()
	runPushes(e)
	e.Clock.Advance(59 * time.Second)
	if runPushes(e) != 0 {
		t.Error("retried within a minute of a quota error")
	}
	e.Clock.Advance(2 * time.Second)
	if runPushes(e) != 1 {
		t.Fatal("not retried a minute after the quota error")
	}
	e.Clock.Advance(29 * time.Second)
	if runPushes(e) != 0 {
		t.Error("retried before Retry-After")
	}
	e.Clock.Advance(2 * time.Second)
	runPushes(e)
	if c := e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'push' AND state = 'sent' AND attempts = 3"); c != 1 {
		t.Errorf("the push was not sent on its third attempt")
	}
	if c := e.Count("SELECT COUNT(*) FROM outbox_attempts WHERE status = 'retry' AND http_status IN (429, 503)"); c != 2 {
		t.Errorf("%d retry attempts recorded, want 2", c)
	}
	if len(fcm.Messages()) != 3 {
		t.Errorf("%d messages, want 3", len(fcm.Messages()))
	}

	// A provider that keeps failing: the job ends failed, with its reason.
	fcm.Answer(func(string) webtest.Reply { return webtest.FCMError(500, "INTERNAL") })
	e.SetProfile(t, e.SignIn(webtest.USPhone, "alice-phone"), map[string]any{"name": "Alice"})
	e.FanOut()
	for range 20 {
		runPushes(e)
		e.Clock.Advance(6 * time.Minute)
	}
	if c := e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'push' AND state = 'failed' AND last_error LIKE '%INTERNAL%'"); c != 1 {
		t.Errorf("the failing push is not failed with the provider's reason")
	}
}

// SENDER_ID_MISMATCH (a stock mesibo demo build's token of mesibo's own
// Firebase project): the token is disabled, logged once, never retried.
func TestPushSenderIDMismatchDisablesToken(t *testing.T) {
	fcm := webtest.NewFakeFCM(t)
	e, _ := pushPeople(t, fcm)
	fcm.Answer(func(string) webtest.Reply { return webtest.FCMError(403, "SENDER_ID_MISMATCH") })
	alice := e.SignIn(webtest.USPhone, "alice-phone")
	e.FanOut()
	runPushes(e)
	e.Clock.Advance(time.Hour)
	e.SetProfile(t, alice, map[string]any{"name": "Alice"})
	e.FanOut()
	runPushes(e)
	if len(fcm.Messages()) != 1 {
		t.Errorf("%d messages, want 1: a disabled token is never used again", len(fcm.Messages()))
	}
	if c := e.Count("SELECT COUNT(*) FROM sessions WHERE notify_token = 'fcm-token-of-bob' AND push_disabled LIKE '%SENDER_ID_MISMATCH%'"); c != 1 {
		t.Error("the token is not kept disabled")
	}
	if c := strings.Count(e.Logs(), "belongs to another sender"); c != 1 {
		t.Errorf("logged %d times, want once", c)
	}
}

// A token belongs to the last session that set it; logging out removes it.
func TestPushTokenOwnership(t *testing.T) {
	fcm := webtest.NewFakeFCM(t)
	e, bob := pushPeople(t, fcm)
	carol := e.SignIn("33612345679", "bob-phone-second-account")
	e.JSON(map[string]any{"op": "setnotify", "token": carol, "notifytoken": "fcm-token-of-bob"}).ExpectOK(t)
	if c := e.Count("SELECT COUNT(*) FROM sessions WHERE notify_token = 'fcm-token-of-bob'"); c != 1 {
		t.Errorf("%d sessions hold the token, want 1 (the last that set it)", c)
	}
	e.SignIn(webtest.USPhone, "alice-phone")
	e.FanOut()
	if c := e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'push'"); c != 0 {
		t.Errorf("%d pushes to a token another account took over", c)
	}
	e.JSON(map[string]any{"op": "logout", "token": carol}).ExpectOK(t)
	if c := e.Count("SELECT COUNT(*) FROM sessions WHERE notify_token <> '' OR fcm_id <> ''"); c != 0 {
		t.Errorf("%d tokens after the logout", c)
	}
	_ = bob
}

// A push job whose device lost its token before the send is dropped.
func TestPushDroppedWhenTokenGoneBeforeSend(t *testing.T) {
	fcm := webtest.NewFakeFCM(t)
	e, bob := pushPeople(t, fcm)
	e.SignIn(webtest.USPhone, "alice-phone")
	e.FanOut()
	e.JSON(map[string]any{"op": "logout", "token": bob}).ExpectOK(t)
	runPushes(e)
	if len(fcm.Messages()) != 0 {
		t.Error("a push went to a signed-out device")
	}
	if c := e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'push' AND state = 'failed' AND last_error = 'the device has no push token any more'"); c != 1 {
		t.Error("the job was not given up")
	}
}

// Tokens of sessions unused for 270 days are pruned.
func TestPushTokensPrunedAfter270Days(t *testing.T) {
	fcm := webtest.NewFakeFCM(t)
	e, _ := pushPeople(t, fcm, "--token-lifetime", "8760h")
	e.Clock.Advance(269 * 24 * time.Hour)
	e.Server.Prune(context.Background())
	if c := e.Count("SELECT COUNT(*) FROM sessions WHERE notify_token <> ''"); c != 1 {
		t.Fatal("a token was pruned too early")
	}
	e.Clock.Advance(2 * 24 * time.Hour)
	e.Server.Prune(context.Background())
	if c := e.Count("SELECT COUNT(*) FROM sessions WHERE notify_token <> ''"); c != 0 {
		t.Error("a token unused for 271 days was kept")
	}
}

// A provider named in --push without its credentials stops the start with
// a clear message.
func TestPushStartChecks(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--push", "fcm"}, "--push fcm needs $ROSTER_FCM_CREDENTIALS_FILE"},
		{[]string{"--push", "apns", "--apns-key-file", "k.p8"}, "--push apns needs $ROSTER_APNS_KEY_FILE (--apns-key-file), --apns-key-id, --apns-team-id and --apns-topic"},
		{[]string{"--push", "gcm"}, `unknown provider "gcm"`},
	} {
		_, err := web.ParseConfig("roster", append([]string{"--data-dir", dir}, tc.args...), func(string) string { return "" }, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	cfg, err := web.ParseConfig("roster", []string{"--data-dir", dir, "--push", "fcm", "--fcm-credentials-file", dir + "/missing.json"},
		func(string) string { return "" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := web.New(context.Background(), cfg, slog.New(slog.DiscardHandler), web.Options{}); err == nil || !strings.Contains(err.Error(), "--push fcm: the credentials file") {
		t.Errorf("start with a missing credentials file: %v", err)
	}
}

// An outcome is recorded once per claim: recording a batch again (a
// retried transaction whose first commit went through unanswered), or
// after the job was claimed again, changes nothing.
func TestPushOutcomeRecordedOncePerClaim(t *testing.T) {
	fcm := webtest.NewFakeFCM(t)
	e, _ := pushPeople(t, fcm)
	e.SignIn(webtest.USPhone, "alice-phone")
	e.FanOut()
	pushes := models.NewPushes(e.Server.DB(), e.Clock, e.Clock, time.Minute)
	ds, err := pushes.Claim(t.Context(), 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim: %v %d", err, len(ds))
	}
	sent := []models.PushOutcome{{Delivery: ds[0]}}
	for range 2 {
		if err := pushes.Record(t.Context(), sent); err != nil {
			t.Fatal(err)
		}
	}
	failed := []models.PushOutcome{{Delivery: ds[0], Err: "fcm: HTTP 500 INTERNAL"}}
	if err := pushes.Record(t.Context(), failed); err != nil {
		t.Fatal(err)
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id WHERE o.kind = 'push'"); n != 1 {
		t.Errorf("%d attempts recorded, want 1", n)
	}
	if n := e.Count("SELECT COUNT(*) FROM outbox WHERE kind = 'push' AND state = 'sent' AND last_error = ''"); n != 1 {
		t.Error("the job is not sent")
	}
}

package delivery

import (
	"net/http"
	"testing"
	"time"
)

// The Standard Webhooks specification's published example (the same vector
// its reference libraries test against).
func TestSignWebhookSpecVector(t *testing.T) {
	secret, err := ParseWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"test": 2432232314}`)
	got := SignWebhook(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
	const want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	if got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,bm9ub3RoaW5n "+want)
	now := time.Unix(1614265330, 0).Add(time.Minute)
	if err := VerifyWebhook(secret, h, body, now, 5*time.Minute); err != nil {
		t.Errorf("verify: %v", err)
	}
	if err := VerifyWebhook(secret, h, []byte(`{"test": 2432232315}`), now, 5*time.Minute); err == nil {
		t.Error("a changed body verified")
	}
	if err := VerifyWebhook(secret, h, body, now.Add(time.Hour), 5*time.Minute); err == nil {
		t.Error("an old timestamp verified")
	}
}

func TestParseWebhookSecret(t *testing.T) {
	if b, err := ParseWebhookSecret("plain-text-secret"); err != nil || string(b) != "plain-text-secret" {
		t.Errorf("raw secret: %q %v", b, err)
	}
	if _, err := ParseWebhookSecret("whsec_!!!"); err == nil {
		t.Error("a whsec_ secret with bad base64 was accepted")
	}
}

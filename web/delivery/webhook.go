package delivery

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"roster/models"
)

// Webhook delivers messages as a signed JSON POST to a URL of the operator's
// choosing (an SMS gateway, an in-house service). The signature follows the
// Standard Webhooks specification (https://www.standardwebhooks.com):
// headers webhook-id, webhook-timestamp and webhook-signature, where the
// signature is "v1," + base64(HMAC-SHA256(secret, id "." timestamp "." body)).
type Webhook struct {
	// Channel is the configured channel this receiver serves: "webhook"
	// (messages to send as text) or "voice" (codes to read out in a call).
	// Both post to the same URL; the payload's channel tells them apart.
	Channel string
	URL     string
	Secret  []byte // from ParseWebhookSecret
	Client  *http.Client
	Clock   models.Clock
}

// WebhookPayload is the JSON body the webhook receives.
type WebhookPayload struct {
	Type      string `json:"type"`       // "otp" for a one-time code
	To        string `json:"to"`         // E.164 number, or an email address
	Code      string `json:"code"`       // the bare code
	Message   string `json:"message"`    // the text to deliver, code included
	RequestID string `json:"request_id"` // stable across retries: receivers deduplicate on it
	TS        int64  `json:"ts"`         // unix seconds when the code was requested
	Channel   string `json:"channel"`    // "webhook", or "voice" for a code to read out in a call
}

// Name returns the channel: "webhook" unless set to "voice".
func (w *Webhook) Name() string {
	if w.Channel == "" {
		return "webhook"
	}
	return w.Channel
}

// ParseWebhookSecret reads a signing secret: "whsec_" followed by base64, as
// the Standard Webhooks specification writes them, or else the raw text.
func ParseWebhookSecret(s string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(s, "whsec_"); ok {
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, errors.New("a whsec_ secret must be followed by base64")
		}
		return b, nil
	}
	return []byte(s), nil
}

// SignWebhook returns the webhook-signature header value of a message.
func SignWebhook(secret []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Send posts the message. Its webhook-id and request_id are the message's
// idempotency key, the same on every retry, so a receiver can drop
// duplicates.
func (w *Webhook) Send(ctx context.Context, m Message) (Receipt, error) {
	id := m.IdempotencyKey
	typ := m.Kind
	if typ == "" {
		typ = models.OutboxKindOTP
	}
	body, err := json.Marshal(WebhookPayload{Type: typ, To: m.Recipient, Code: m.Code, Message: m.Body,
		RequestID: id, TS: m.CreatedAt.Unix(), Channel: w.Name()})
	if err != nil {
		return Receipt{}, &PermanentError{Err: err}
	}
	ts := w.Clock.Now().Unix()
	req, err := http.NewRequest(http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return Receipt{}, &PermanentError{Err: fmt.Errorf("webhook: bad URL: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Roster")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", SignWebhook(w.Secret, id, ts, body))
	status, reply, err := do(ctx, w.Client, w.Name(), req)
	rc := Receipt{HTTPStatus: status}
	if err != nil {
		return rc, err
	}
	if status >= 200 && status < 300 {
		return rc, nil
	}
	return rc, classify(&ProviderError{Channel: w.Name(), HTTPStatus: status,
		Msg: "the receiver refused the message: " + snippet(reply)})
}

// VerifyWebhook checks a received webhook's signature as a receiver would
// (tests use it; it also documents the scheme for receivers): any of the
// space-separated v1 signatures may match, and the timestamp must be within
// tolerance of now.
func VerifyWebhook(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsText, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if id == "" || err != nil || sigs == "" {
		return errors.New("missing webhook headers")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook timestamp out of tolerance")
	}
	want := SignWebhook(secret, id, ts, body)
	for _, sig := range strings.Fields(sigs) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return errors.New("no matching signature")
}

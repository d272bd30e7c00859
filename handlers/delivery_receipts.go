package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// Delivery receipts: the providers' callbacks telling what became of a
// message they accepted. Each is signed by its provider, and the signature
// is checked before anything in the request is read: a forged receipt could
// otherwise mark codes undelivered and make Roster send them again.

// ReceiptsConfig holds what the providers sign their callbacks with.
type ReceiptsConfig struct {
	// TwilioAuthToken signs Twilio's status callbacks ("" = not served).
	TwilioAuthToken string
	// TwilioURL is the public URL Twilio calls, which it signs: behind a
	// proxy the URL the request arrives at differs.
	TwilioURL string
	// WhatsAppAppSecret signs WhatsApp's webhook ("" = not served).
	WhatsAppAppSecret string
	// WhatsAppVerifyToken is what Meta's subscription handshake must
	// present.
	WhatsAppVerifyToken string
}

// ReceiptRecorder records a receipt on its attempt (models.Outbox).
type ReceiptRecorder interface {
	RecordReceipt(ctx context.Context, channel, providerRef, status, cause string) (bool, error)
}

// Receipts serves the providers' receipt callbacks.
type Receipts struct {
	cfg    ReceiptsConfig
	outbox ReceiptRecorder
}

// NewReceipts returns the receipt callbacks.
func NewReceipts(cfg ReceiptsConfig, outbox ReceiptRecorder) *Receipts {
	return &Receipts{cfg: cfg, outbox: outbox}
}

var (
	errBadSignature = fiber.NewError(fiber.StatusForbidden, "bad signature")
	errBadReceipt   = fiber.NewError(fiber.StatusBadRequest, "unreadable receipt")
)

// TwilioSignature is X-Twilio-Signature: base64 of the HMAC-SHA1, under the
// auth token, of the URL followed by every POST parameter's name and value,
// sorted by name.
func TwilioSignature(authToken, fullURL string, form url.Values) string {
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(fullURL))
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := slices.Clone(form[k])
		slices.Sort(vs)
		for _, v := range vs {
			m.Write([]byte(k))
			m.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Twilio takes a status callback (POST, form-encoded).
func (h *Receipts) Twilio(c *fiber.Ctx) error {
	form, err := url.ParseQuery(string(c.Body()))
	if !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) || err != nil {
		// Unreadable parameters cannot be checked against a signature.
		return errBadSignature
	}
	fullURL := h.cfg.TwilioURL
	if q := string(c.Request().URI().QueryString()); q != "" {
		fullURL += "?" + q
	}
	want := TwilioSignature(h.cfg.TwilioAuthToken, fullURL, form)
	if !hmac.Equal([]byte(c.Get("X-Twilio-Signature")), []byte(want)) {
		return errBadSignature
	}
	ref, status, cause, ok := ParseTwilioReceipt(form)
	if !ok {
		return errBadReceipt
	}
	if status != "" {
		if _, err := h.outbox.RecordReceipt(c.UserContext(), "twilio", ref, status, cause); err != nil {
			return err
		}
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// ParseTwilioReceipt reads a status callback's parameters: the message's
// sid, its status as recorded ("" for one Roster does not record, such as
// queued) and the error code of a failure; ok=false without a message sid.
func ParseTwilioReceipt(form url.Values) (ref, status, cause string, ok bool) {
	ref = form.Get("MessageSid")
	if ref == "" {
		ref = form.Get("SmsSid")
	}
	if ref == "" || len(ref) > 64 {
		return "", "", "", false
	}
	switch s := form.Get("MessageStatus"); s {
	case models.ReceiptSent, models.ReceiptDelivered, models.ReceiptRead, models.ReceiptUndelivered, models.ReceiptFailed:
		status = s
	}
	if code := form.Get("ErrorCode"); code != "" && code != "0" {
		if n, err := strconv.Atoi(code); err == nil {
			cause = "twilio error " + strconv.Itoa(n)
		}
	}
	return ref, status, cause, true
}

// WhatsAppVerify answers Meta's subscription handshake: GET with
// hub.mode=subscribe, the verify token set in the app's webhook settings,
// and a challenge to echo.
func (h *Receipts) WhatsAppVerify(c *fiber.Ctx) error {
	args := c.Context().QueryArgs()
	token := string(args.Peek("hub.verify_token"))
	if string(args.Peek("hub.mode")) != "subscribe" || h.cfg.WhatsAppVerifyToken == "" ||
		!hmac.Equal([]byte(token), []byte(h.cfg.WhatsAppVerifyToken)) {
		return errBadSignature
	}
	challenge := string(args.Peek("hub.challenge"))
	if len(challenge) > 256 || strings.ContainsFunc(challenge, func(r rune) bool { return r < '!' || r > '~' }) {
		return errBadReceipt
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.SendString(challenge)
}

// WhatsAppSignature is X-Hub-Signature-256: "sha256=" and the hex HMAC-SHA256
// of the raw body under the app secret.
func WhatsAppSignature(appSecret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// WhatsApp takes a webhook notification (POST, JSON): message statuses are
// recorded, everything else (incoming messages) is acknowledged and let go.
func (h *Receipts) WhatsApp(c *fiber.Ctx) error {
	want := WhatsAppSignature(h.cfg.WhatsAppAppSecret, c.Body())
	if !hmac.Equal([]byte(c.Get("X-Hub-Signature-256")), []byte(want)) {
		return errBadSignature
	}
	statuses, ok := ParseWhatsAppReceipts(c.Body())
	if !ok {
		return errBadReceipt
	}
	for _, s := range statuses {
		if _, err := h.outbox.RecordReceipt(c.UserContext(), "whatsapp", s.Ref, s.Status, s.Cause); err != nil {
			return err
		}
	}
	return c.SendStatus(fiber.StatusOK)
}

// WhatsAppStatus is one message status of a WhatsApp notification.
type WhatsAppStatus struct {
	Ref    string // the wamid Roster got when sending
	Status string // sent, delivered, read or failed
	Cause  string // "whatsapp error CODE: TITLE" of a failure
}

// whatsAppNotification is the part of a webhook notification Roster reads.
type whatsAppNotification struct {
	Entry []struct {
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				Statuses []struct {
					ID     string `json:"id"`
					Status string `json:"status"`
					Errors []struct {
						Code  int    `json:"code"`
						Title string `json:"title"`
					} `json:"errors"`
				} `json:"statuses"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// maxWhatsAppStatuses bounds the statuses read from one notification (Meta
// batches a few).
const maxWhatsAppStatuses = 1000

// ParseWhatsAppReceipts reads the message statuses of a webhook
// notification; ok=false when the body is not one.
func ParseWhatsAppReceipts(body []byte) (statuses []WhatsAppStatus, ok bool) {
	var n whatsAppNotification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, false
	}
	for _, e := range n.Entry {
		for _, ch := range e.Changes {
			if ch.Field != "messages" {
				continue
			}
			for _, s := range ch.Value.Statuses {
				if s.ID == "" || len(s.ID) > 128 || len(statuses) == maxWhatsAppStatuses {
					continue
				}
				st := WhatsAppStatus{Ref: s.ID}
				switch s.Status {
				case models.ReceiptSent, models.ReceiptDelivered, models.ReceiptRead, models.ReceiptFailed:
					st.Status = s.Status
				default:
					continue
				}
				if len(s.Errors) > 0 {
					st.Cause = "whatsapp error " + strconv.Itoa(s.Errors[0].Code) + ": " + s.Errors[0].Title
				}
				statuses = append(statuses, st)
			}
		}
	}
	return statuses, true
}

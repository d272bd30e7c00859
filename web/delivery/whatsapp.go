package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// DefaultWhatsAppBaseURL is Meta's Graph API with the version the requests
// are written for.
const DefaultWhatsAppBaseURL = "https://graph.facebook.com/v21.0"

// WhatsApp sends codes through the WhatsApp Business Cloud API as an
// authentication template: POST {base}/{phone-number-id}/messages with a
// bearer token. An authentication template has the code as its one body
// parameter and as the parameter of its copy-code (URL) button, so both get
// it.
type WhatsApp struct {
	BaseURL       string // with the version path, e.g. https://graph.facebook.com/v21.0
	PhoneNumberID string
	Token         string
	Template      string // the approved authentication template's name
	// Languages are the template's language codes (en_US, fr, pt_BR): a
	// code goes in the one of its message's language, else the first.
	Languages []string
	Client    *http.Client
}

// Name returns "whatsapp".
func (w *WhatsApp) Name() string { return "whatsapp" }

type whatsAppText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type whatsAppComponent struct {
	Type       string         `json:"type"`
	SubType    string         `json:"sub_type,omitempty"`
	Index      string         `json:"index,omitempty"`
	Parameters []whatsAppText `json:"parameters"`
}

type whatsAppRequest struct {
	MessagingProduct string `json:"messaging_product"`
	To               string `json:"to"`
	Type             string `json:"type"`
	Template         struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []whatsAppComponent `json:"components"`
	} `json:"template"`
}

// whatsAppReply is the Graph API's answer: the message ids on success, an
// error object otherwise.
type whatsAppReply struct {
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
	Error *struct {
		Message   string `json:"message"`
		Code      int    `json:"code"`
		Subcode   int    `json:"error_subcode"`
		FBTraceID string `json:"fbtrace_id"`
	} `json:"error"`
}

// whatsAppThrottled tells the Graph API error codes that mean "too many,
// later" whatever HTTP status they arrive with: retried with the backoff.
func whatsAppThrottled(code int) bool {
	switch code {
	case 4, // the app's call rate
		80007,  // the business account's rate limit
		130429, // the phone number's throughput
		131056: // too many messages to one recipient in a short time
		return true
	}
	return false
}

// templateLanguage is the template's language code for a message language
// ("fr" takes "fr" or "fr_FR"; none: the first).
func (w *WhatsApp) templateLanguage(lang string) string {
	for _, l := range w.Languages {
		if base, _, _ := strings.Cut(l, "_"); lang != "" && strings.EqualFold(base, lang) {
			return l
		}
	}
	if len(w.Languages) == 0 {
		return "en_US"
	}
	return w.Languages[0]
}

// whatsAppBody is the request body of a code sent to an E.164 number.
func (w *WhatsApp) whatsAppBody(to, code, lang string) ([]byte, error) {
	var r whatsAppRequest
	r.MessagingProduct = "whatsapp"
	r.To = to
	r.Type = "template"
	r.Template.Name = w.Template
	r.Template.Language.Code = w.templateLanguage(lang)
	param := []whatsAppText{{Type: "text", Text: code}}
	r.Template.Components = []whatsAppComponent{
		{Type: "body", Parameters: param},
		{Type: "button", SubType: "url", Index: "0", Parameters: param},
	}
	return json.Marshal(r)
}

// Send posts the template message.
func (w *WhatsApp) Send(ctx context.Context, m Message) (Receipt, error) {
	body, err := w.whatsAppBody(m.Recipient, m.Code, m.Lang)
	if err != nil {
		return Receipt{}, &PermanentError{Err: err}
	}
	endpoint := strings.TrimRight(w.BaseURL, "/") + "/" + url.PathEscape(w.PhoneNumberID) + "/messages"
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return Receipt{}, &PermanentError{Err: fmt.Errorf("whatsapp: bad base URL: %w", err)}
	}
	req.Header.Set("Authorization", "Bearer "+w.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Roster")
	status, reply, err := do(ctx, w.Client, w.Name(), req)
	if err != nil {
		return Receipt{HTTPStatus: status}, err
	}
	var r whatsAppReply
	var a providerAnswer
	if json.Unmarshal(reply, &r) == nil {
		if len(r.Messages) > 0 {
			a.ref = r.Messages[0].ID
		}
		if r.Error != nil && r.Error.Message != "" {
			a.msg = r.Error.Message
			if r.Error.Code != 0 {
				a.code = strconv.Itoa(r.Error.Code)
			}
			if r.Error.Subcode != 0 {
				a.msg += " (subcode " + strconv.Itoa(r.Error.Subcode) + ")"
			}
			a.throttled = whatsAppThrottled(r.Error.Code)
		}
	}
	return settle(w.Name(), status, reply, a)
}

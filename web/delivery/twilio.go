package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// DefaultTwilioBaseURL is Twilio's REST API.
const DefaultTwilioBaseURL = "https://api.twilio.com"

// Twilio sends SMS through Twilio's Programmable Messaging REST API:
// POST {base}/2010-04-01/Accounts/{AccountSID}/Messages.json, HTTP basic
// auth AccountSID:AuthToken, form fields To, Body and From or
// MessagingServiceSid.
type Twilio struct {
	BaseURL             string
	AccountSID          string
	AuthToken           string
	From                string // a Twilio number in E.164; or
	MessagingServiceSID string // a messaging service (wins over From)
	Client              *http.Client
	// StatusCallback is the URL Twilio posts delivery receipts to ("" =
	// none, or the messaging service's own).
	StatusCallback string
}

// Name returns "twilio".
func (t *Twilio) Name() string { return "twilio" }

// twilioReply is Twilio's answer: a message resource on success, an error
// object ({code, message, more_info, status}) otherwise.
type twilioReply struct {
	SID      string          `json:"sid"`
	Status   json.RawMessage `json:"status"` // a string on success, a number in errors
	Code     int             `json:"code"`
	Message  string          `json:"message"`
	MoreInfo string          `json:"more_info"`
}

// twilioPermanent tells the Twilio error codes that retrying cannot fix, even when
// they arrive with a status that would otherwise be retried.
func twilioPermanent(code int) bool {
	switch code {
	case 20003, // authentication failed
		21211, // invalid 'To' number
		21408, // permission to send to this region is not enabled
		21606, // the 'From' number cannot send SMS
		21608, // trial accounts send only to verified numbers
		21610, // the recipient unsubscribed (STOP)
		21612, // the 'To' number cannot be reached on this route
		21614: // 'To' is not a mobile number
		return true
	}
	return false
}

// Send posts the message to Twilio.
func (t *Twilio) Send(ctx context.Context, m Message) (Receipt, error) {
	form := url.Values{}
	form.Set("To", m.Recipient)
	form.Set("Body", m.Body)
	if t.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", t.MessagingServiceSID)
	} else {
		form.Set("From", t.From)
	}
	if t.StatusCallback != "" {
		form.Set("StatusCallback", t.StatusCallback)
	}
	endpoint := strings.TrimRight(t.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(t.AccountSID) + "/Messages.json"
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Receipt{}, &PermanentError{Err: fmt.Errorf("twilio: bad base URL: %w", err)}
	}
	req.SetBasicAuth(t.AccountSID, t.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Roster")
	status, body, err := do(ctx, t.Client, t.Name(), req)
	if err != nil {
		return Receipt{HTTPStatus: status}, err
	}
	var r twilioReply
	var a providerAnswer
	if json.Unmarshal(body, &r) == nil {
		if strings.HasPrefix(r.SID, "SM") || strings.HasPrefix(r.SID, "MM") {
			a.ref = r.SID
		}
		if r.Message != "" {
			a.msg = r.Message
			if r.Code != 0 {
				a.code = strconv.Itoa(r.Code)
			}
			if r.MoreInfo != "" {
				a.msg += " (" + r.MoreInfo + ")"
			}
			a.permanent = twilioPermanent(r.Code)
		}
	}
	return settle(t.Name(), status, body, a)
}

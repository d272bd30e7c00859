package handlers

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"roster/models"
)

func recordedStatus(s string) bool {
	switch s {
	case models.ReceiptSent, models.ReceiptDelivered, models.ReceiptRead, models.ReceiptUndelivered, models.ReceiptFailed:
		return true
	}
	return false
}

// Any status callback's parameters are read without failing, into a status
// Roster records or none.
func FuzzParseTwilioReceipt(f *testing.F) {
	f.Add("MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003")
	f.Add("SmsSid=SM1&SmsStatus=sent&MessageStatus=delivered&ErrorCode=0")
	f.Add("MessageSid=&MessageStatus=%ZZ&ErrorCode=99999999999999999999")
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		ref, status, cause, ok := ParseTwilioReceipt(form)
		if !ok {
			return
		}
		if ref == "" || len(ref) > 64 || (status != "" && !recordedStatus(status)) ||
			(cause != "" && !strings.HasPrefix(cause, "twilio error ")) {
			t.Fatalf("%q: %q %q %q", raw, ref, status, cause)
		}
	})
}

// Any body is read without failing; the statuses read are bounded and
// recorded ones.
func FuzzParseWhatsAppReceipts(f *testing.F) {
	f.Add([]byte(`{"entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.1","status":"failed","errors":[{"code":131026,"title":"Message undeliverable"}]}]}}]}]}`))
	f.Add([]byte(`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"wamid.2"}]}}]}]}`))
	f.Add([]byte(`{"entry":null}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		statuses, ok := ParseWhatsAppReceipts(body)
		if !ok && statuses != nil {
			t.Fatal("statuses from an unreadable body")
		}
		if len(statuses) > maxWhatsAppStatuses {
			t.Fatalf("%d statuses", len(statuses))
		}
		for _, s := range statuses {
			if s.Ref == "" || len(s.Ref) > 128 || !recordedStatus(s.Status) || s.Status == models.ReceiptUndelivered {
				t.Fatalf("status %+v", s)
			}
			if s.Cause != "" && !utf8.ValidString(s.Cause) {
				t.Fatalf("cause %q", s.Cause)
			}
		}
	})
}

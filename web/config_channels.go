package web

import (
	"errors"
	"flag"
	"fmt"
	"regexp"
	"time"

	"roster/models"
	"roster/web/delivery"
)

// EnvWhatsAppToken holds the WhatsApp Business Cloud API's access token
// (a system user's token; environment only).
const EnvWhatsAppToken = "ROSTER_WHATSAPP_TOKEN"

// WhatsAppConfig configures the whatsapp channel; its token is read from
// $ROSTER_WHATSAPP_TOKEN when the server starts.
type WhatsAppConfig struct {
	BaseURL          string
	PhoneNumberID    string
	Template         string
	TemplateLanguage string
}

// channelFlags registers the settings of the channels added to the first
// ones (whatsapp, voice) and of the fallback between channels.
func channelFlags(fs *flag.FlagSet, d *DeliveryConfig) {
	fs.DurationVar(&d.FallbackAfter, "otp-fallback-after", 2*time.Minute, "a code not verified this long: the next request for the number goes by the next channel of --otp-channel that can reach it (0 = only after a failed delivery)")
	fs.StringVar(&d.AndroidAppHash, "android-app-hash", "", "the Android app's 11-character hash for the SMS Retriever API: put on a line of its own at the end of SMS texts (before the WebOTP line)")
	fs.StringVar(&d.WebOTPHost, "webotp-host", "", "host of the web app that reads codes with the WebOTP API: SMS texts end with the line \"@HOST #CODE\"")
	fs.BoolVar(&d.TwilioStatusCallback, "twilio-status-callback", false, "ask Twilio for delivery receipts at --base-url"+twilioReceiptsPath+" (else set that URL on the messaging service)")
	w := &d.WhatsApp
	fs.StringVar(&w.BaseURL, "whatsapp-base-url", delivery.DefaultWhatsAppBaseURL, "WhatsApp Business Cloud API base URL, with its version path")
	fs.StringVar(&w.PhoneNumberID, "whatsapp-phone-number-id", "", "id of the WhatsApp business phone number that sends codes (the access token is read from $"+EnvWhatsAppToken+")")
	fs.StringVar(&w.Template, "whatsapp-template", "", "name of the approved authentication template that carries the code")
	fs.StringVar(&w.TemplateLanguage, "whatsapp-template-language", "en_US", "language codes of that template, comma-separated (en_US,fr,pt_BR): a code goes in its message's language if listed, else the first")
}

// checkFallback checks --otp-fallback-after.
func (d DeliveryConfig) checkFallback() error {
	if d.FallbackAfter < 0 {
		return errors.New("--otp-fallback-after must not be negative")
	}
	return nil
}

// androidAppHash is the form of an SMS Retriever app hash: 11 characters
// of base64.
var androidAppHash = regexp.MustCompile(`^[A-Za-z0-9+/]{11}$`)

// hostName is a DNS name as WebOTP's line takes it: no scheme, port or path.
var hostName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// checkAutofill checks --android-app-hash and --webotp-host.
func (d DeliveryConfig) checkAutofill() error {
	var errs []error
	if d.AndroidAppHash != "" && !androidAppHash.MatchString(d.AndroidAppHash) {
		errs = append(errs, fmt.Errorf("--android-app-hash %q is not an 11-character app hash (letters, digits, + and /)", d.AndroidAppHash))
	}
	if d.WebOTPHost != "" && (len(d.WebOTPHost) > 253 || !hostName.MatchString(d.WebOTPHost)) {
		errs = append(errs, fmt.Errorf("--webotp-host %q is not a lower-case host name (no scheme, port or path)", d.WebOTPHost))
	}
	return errors.Join(errs...)
}

// check reports what the whatsapp channel is missing.
func (w WhatsAppConfig) check() error {
	var errs []error
	if w.PhoneNumberID == "" || w.Template == "" {
		errs = append(errs, errors.New("the whatsapp channel needs --whatsapp-phone-number-id and --whatsapp-template"))
	}
	if len(models.SplitList(w.TemplateLanguage)) == 0 {
		errs = append(errs, errors.New("--whatsapp-template-language must not be empty"))
	}
	errs = append(errs, checkHTTPURL("--whatsapp-base-url", w.BaseURL))
	return errors.Join(errs...)
}

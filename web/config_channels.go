package web

import (
	"errors"
	"flag"
	"time"

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
	w := &d.WhatsApp
	fs.StringVar(&w.BaseURL, "whatsapp-base-url", delivery.DefaultWhatsAppBaseURL, "WhatsApp Business Cloud API base URL, with its version path")
	fs.StringVar(&w.PhoneNumberID, "whatsapp-phone-number-id", "", "id of the WhatsApp business phone number that sends codes (the access token is read from $"+EnvWhatsAppToken+")")
	fs.StringVar(&w.Template, "whatsapp-template", "", "name of the approved authentication template that carries the code")
	fs.StringVar(&w.TemplateLanguage, "whatsapp-template-language", "en_US", "language code of that template")
}

// checkFallback checks --otp-fallback-after.
func (d DeliveryConfig) checkFallback() error {
	if d.FallbackAfter < 0 {
		return errors.New("--otp-fallback-after must not be negative")
	}
	return nil
}

// check reports what the whatsapp channel is missing.
func (w WhatsAppConfig) check() error {
	var errs []error
	if w.PhoneNumberID == "" || w.Template == "" {
		errs = append(errs, errors.New("the whatsapp channel needs --whatsapp-phone-number-id and --whatsapp-template"))
	}
	if w.TemplateLanguage == "" {
		errs = append(errs, errors.New("--whatsapp-template-language must not be empty"))
	}
	errs = append(errs, checkHTTPURL("--whatsapp-base-url", w.BaseURL))
	return errors.Join(errs...)
}

package web

import (
	"errors"
	"flag"

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

func whatsAppFlags(fs *flag.FlagSet, w *WhatsAppConfig) {
	fs.StringVar(&w.BaseURL, "whatsapp-base-url", delivery.DefaultWhatsAppBaseURL, "WhatsApp Business Cloud API base URL, with its version path")
	fs.StringVar(&w.PhoneNumberID, "whatsapp-phone-number-id", "", "id of the WhatsApp business phone number that sends codes (the access token is read from $"+EnvWhatsAppToken+")")
	fs.StringVar(&w.Template, "whatsapp-template", "", "name of the approved authentication template that carries the code")
	fs.StringVar(&w.TemplateLanguage, "whatsapp-template-language", "en_US", "language code of that template")
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

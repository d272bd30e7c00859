package web

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"roster/handlers"
	"roster/models"
)

// Environment variables of the WhatsApp webhook (environment only).
const (
	// EnvWhatsAppAppSecret is the Meta app's secret, which signs the
	// webhook's notifications.
	EnvWhatsAppAppSecret = "ROSTER_WHATSAPP_APP_SECRET"
	// EnvWhatsAppVerifyToken is the verify token typed into the app's
	// webhook settings, which Meta's subscription handshake presents.
	EnvWhatsAppVerifyToken = "ROSTER_WHATSAPP_VERIFY_TOKEN"
)

// Paths of the receipt callbacks, under --base-url.
const (
	twilioReceiptsPath   = "/receipts/twilio"
	whatsAppReceiptsPath = "/receipts/whatsapp"
)

// newReceipts builds the receipt callbacks of the configured channels: Twilio's
// with the twilio channel, WhatsApp's when its app secret is set.
func newReceipts(cfg Config, getenv func(string) string, outbox *models.Outbox) (*handlers.Receipts, error) {
	rc := handlers.ReceiptsConfig{
		WhatsAppAppSecret:   getenv(EnvWhatsAppAppSecret),
		WhatsAppVerifyToken: getenv(EnvWhatsAppVerifyToken),
	}
	if cfg.Delivery.has(ChannelTwilio) {
		rc.TwilioAuthToken = getenv(EnvTwilioAuthToken)
		rc.TwilioURL = cfg.BaseURL + twilioReceiptsPath
	}
	if (rc.WhatsAppAppSecret == "") != (rc.WhatsAppVerifyToken == "") {
		return nil, fmt.Errorf("WhatsApp receipts need both $%s and $%s", EnvWhatsAppAppSecret, EnvWhatsAppVerifyToken)
	}
	if rc.WhatsAppAppSecret != "" && !cfg.Delivery.has(ChannelWhatsApp) {
		return nil, errors.New("$" + EnvWhatsAppAppSecret + " is set but --otp-channel has no whatsapp")
	}
	return handlers.NewReceipts(rc, outbox), nil
}

// receiptRoutes mounts the providers' receipt callbacks; their failures are
// plain statuses (403 for a bad signature).
func (s *Server) receiptRoutes(app *fiber.App) {
	if s.cfg.Delivery.has(ChannelTwilio) {
		app.Post(twilioReceiptsPath, s.plainStatus(s.withDeadline(s.receipts.Twilio)))
	}
	if s.cfg.Delivery.has(ChannelWhatsApp) {
		app.Get(whatsAppReceiptsPath, s.plainStatus(s.receipts.WhatsAppVerify))
		app.Post(whatsAppReceiptsPath, s.plainStatus(s.withDeadline(s.receipts.WhatsApp)))
	}
}

package delivery

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/textproto"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
)

// SMTP TLS modes.
const (
	SMTPStartTLS = "starttls" // plain connection upgraded with STARTTLS (port 587); required
	SMTPTLS      = "tls"      // implicit TLS from the first byte (port 465)
	SMTPNoTLS    = "none"     // no encryption: only for a relay on the same host or network
)

// SMTP sends messages by email through a mail server (go-mail: STARTTLS or
// implicit TLS, SMTP AUTH).
type SMTP struct {
	Host     string
	Port     int
	TLSMode  string // SMTPStartTLS, SMTPTLS or SMTPNoTLS
	Username string // empty: no authentication
	Password string
	From     string // envelope and header sender
	Subject  string
	HELO     string      // name sent in EHLO; empty: go-mail's default
	TLS      *tls.Config // nil: verify the server's certificate against the system roots
}

// Name returns "smtp".
func (s *SMTP) Name() string { return "smtp" }

func (s *SMTP) client(timeout time.Duration) (*mail.Client, error) {
	opts := []mail.Option{mail.WithPort(s.Port), mail.WithTimeout(timeout)}
	switch s.TLSMode {
	case SMTPTLS:
		opts = append(opts, mail.WithSSL())
	case SMTPNoTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if s.TLS != nil {
		opts = append(opts, mail.WithTLSConfig(s.TLS))
	}
	if s.HELO != "" {
		opts = append(opts, mail.WithHELO(s.HELO))
	}
	if s.Username != "" {
		auth := mail.SMTPAuthAutoDiscover
		if s.TLSMode == SMTPNoTLS {
			// The operator chose an unencrypted relay; PLAIN is what such relays offer.
			auth = mail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(s.Username), mail.WithPassword(s.Password))
	}
	return mail.NewClient(s.Host, opts...)
}

// Send mails the message to its recipient.
func (s *SMTP) Send(ctx context.Context, m Message) (Receipt, error) {
	msg := mail.NewMsg()
	if err := msg.From(s.From); err != nil {
		return Receipt{}, &PermanentError{Err: fmt.Errorf("smtp: the sender address %q is not valid", s.From)}
	}
	if err := msg.To(m.Recipient); err != nil {
		return Receipt{}, &PermanentError{Err: fmt.Errorf("smtp: the recipient address is not valid")}
	}
	msg.Subject(s.Subject)
	msg.SetDate()
	// The same Message-ID on every attempt (mail systems drop a repeated
	// one); the domain is the sender's.
	domain := "roster.invalid"
	if _, d, ok := strings.Cut(s.From, "@"); ok {
		domain = strings.Trim(d, "<> ")
	}
	msg.SetMessageIDWithValue(m.IdempotencyKey + "@" + domain)
	msg.SetBodyString(mail.TypeTextPlain, m.Body)
	timeout := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Second)
	}
	c, err := s.client(timeout)
	if err != nil {
		return Receipt{}, &PermanentError{Err: fmt.Errorf("smtp: %w", err)}
	}
	var rc Receipt
	if ids := msg.GetGenHeader(mail.HeaderMessageID); len(ids) > 0 {
		rc.ProviderRef = strings.Trim(ids[0], "<>")
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return rc, classifySMTP(err)
	}
	return rc, nil
}

// classifySMTP: 5xx replies are permanent (a rejected address, bad
// credentials); 4xx replies and connection failures are retried.
func classifySMTP(err error) error {
	pe := &ProviderError{Channel: "smtp", Msg: err.Error()}
	code := 0
	var te *textproto.Error
	var se *mail.SendError
	switch {
	case errors.As(err, &te):
		code = te.Code
	case errors.As(err, &se):
		code = se.ErrorCode()
	}
	if code >= 500 {
		return &PermanentError{Err: pe}
	}
	return pe
}

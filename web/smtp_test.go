package web_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"roster/web"
	"roster/web/webtest"
)

func smtpEnv(t *testing.T, mail *webtest.FakeSMTP, tlsMode string, clientTLS *tls.Config, extra ...string) *webtest.Env {
	t.Helper()
	args := append([]string{"--otp-channel", "smtp", "--smtp-host", "127.0.0.1", "--smtp-port", itoa(mail.Port),
		"--smtp-tls", tlsMode, "--smtp-username", "roster", "--smtp-from", "codes@chatty.example", "--app-name", "Chatty",
		"--smtp-helo", "roster.test"}, extra...)
	return webtest.New(t, webtest.WithArgs(args...), webtest.WithOptions(func(o *web.Options) {
		o.Getenv = func(k string) string {
			if k == "ROSTER_SMTP_PASSWORD" {
				return "mail-password"
			}
			return ""
		}
		o.Worker = testWorker
		o.SMTPTLS = clientTLS
	}))
}

func TestEmailSignInThroughSMTP(t *testing.T) {
	mail := webtest.NewFakeSMTP(t)
	mail.Set(func(f *webtest.FakeSMTP) { f.User, f.Password = "roster", "mail-password" })
	e := smtpEnv(t, mail, "none", nil, "--smtp-template", "Your code: {code} ({minutes} min)")
	e.JSON(webtest.LoginParams(" alice@Example.ORG ")).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())

	ms := mail.Mails()
	if len(ms) != 1 {
		t.Fatalf("%d mails", len(ms))
	}
	m := ms[0]
	if m.Helo != "roster.test" || m.Auth != "roster:mail-password" || m.From != "codes@chatty.example" ||
		len(m.To) != 1 || m.To[0] != "alice@example.org" {
		t.Errorf("envelope %+v", m)
	}
	for _, h := range []string{"From: <codes@chatty.example>\r\n", "To: <alice@example.org>\r\n", "Subject: Your Chatty code\r\n",
		"Content-Type: text/plain; charset=UTF-8\r\n", "Message-ID: <", "Date: "} {
		if !strings.Contains(m.Data, h) {
			t.Errorf("message lacks %q:\n%s", h, m.Data)
		}
	}
	code := codeRE.FindString(m.Data[strings.Index(m.Data, "\r\n\r\n"):])
	if !strings.Contains(m.Data, "Your code: "+code+" (5 min)") {
		t.Fatalf("body:\n%s", m.Data)
	}
	if row := lastOutbox(t, e); row.State != "sent" || row.Channel != "smtp" || strings.Contains(row.Body, code) {
		t.Errorf("outbox %+v", row)
	}
	if as := attempts(t, e); len(as) != 1 || as[0].Status != "sent" || as[0].ProviderRef == "" {
		t.Errorf("attempts %+v", as)
	}

	// The email is the identity: the reply's phone carries it, cc is "0".
	r := e.Verify("alice@example.org", code)
	r.ExpectOK(t)
	if r.String("phone") != "alice@example.org" || r.String("cc") != "0" || len(r.String("token")) < 17 {
		t.Errorf("reply %s", r.Body)
	}
	if n := e.Count("SELECT COUNT(*) FROM users WHERE phone = 'alice@example.org' AND country_code = 0"); n != 1 {
		t.Error("the user was not stored under the normalized address")
	}
	// A phone number cannot be reached without an SMS channel.
	e.JSON(webtest.LoginParams(webtest.USPhone)).ExpectFail(t, "BADPHONE")
	// Not an address.
	for _, bad := range []string{"alice@", "@example.org", "Alice <alice@example.org>", "alice@localhost", "a b@example.org"} {
		e.JSON(webtest.LoginParams(bad)).ExpectFail(t, "BADPHONE")
	}
}

func TestSMTPRefusedRecipientIsPermanent(t *testing.T) {
	mail := webtest.NewFakeSMTP(t)
	mail.Set(func(f *webtest.FakeSMTP) {
		f.User, f.Password, f.RcptReply = "roster", "mail-password", "550 5.1.1 no such mailbox"
	})
	e := smtpEnv(t, mail, "none", nil)
	e.JSON(webtest.LoginParams("nobody@example.org")).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	row := lastOutbox(t, e)
	if row.State != "failed" || !strings.Contains(row.LastError, "smtp:") || !strings.Contains(row.LastError, "550") ||
		!strings.Contains(row.LastError, "no such mailbox") {
		t.Errorf("outbox %+v", row)
	}
}

func TestSMTPTemporaryFailureIsRetried(t *testing.T) {
	mail := webtest.NewFakeSMTP(t)
	mail.Set(func(f *webtest.FakeSMTP) {
		f.User, f.Password, f.RcptReply = "roster", "mail-password", "451 4.3.0 try later"
	})
	e := smtpEnv(t, mail, "none", nil)
	e.JSON(webtest.LoginParams("bob@example.org")).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	if row := lastOutbox(t, e); row.State != "pending" || !strings.Contains(row.LastError, "451") {
		t.Fatalf("outbox %+v", row)
	}
	mail.Set(func(f *webtest.FakeSMTP) { f.RcptReply = "" })
	e.Clock.Advance(10 * time.Second)
	e.Server.Worker().RunOnce(context.Background())
	if row := lastOutbox(t, e); row.State != "sent" {
		t.Fatalf("outbox %+v", row)
	}
}

func TestSMTPWrongPasswordIsPermanent(t *testing.T) {
	mail := webtest.NewFakeSMTP(t)
	mail.Set(func(f *webtest.FakeSMTP) { f.User, f.Password = "roster", "another-password" })
	e := smtpEnv(t, mail, "none", nil)
	e.JSON(webtest.LoginParams("bob@example.org")).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	row := lastOutbox(t, e)
	if row.State != "failed" || !strings.Contains(row.LastError, "535") || strings.Contains(row.LastError, "mail-password") {
		t.Errorf("outbox %+v", row)
	}
}

func TestSMTPStartTLS(t *testing.T) {
	serverTLS, clientTLS := selfSignedTLS(t)
	mail := webtest.NewFakeSMTP(t)
	mail.Set(func(f *webtest.FakeSMTP) { f.User, f.Password, f.TLS = "roster", "mail-password", serverTLS })
	e := smtpEnv(t, mail, "starttls", clientTLS)
	e.JSON(webtest.LoginParams("carol@example.org")).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	ms := mail.Mails()
	if len(ms) != 1 || !ms[0].TLS || ms[0].Auth != "roster:mail-password" {
		t.Fatalf("mails %+v; outbox %+v", ms, lastOutbox(t, e))
	}
}

func TestSMTPStartTLSRequired(t *testing.T) {
	mail := webtest.NewFakeSMTP(t) // offers no STARTTLS
	mail.Set(func(f *webtest.FakeSMTP) { f.User, f.Password = "roster", "mail-password" })
	e := smtpEnv(t, mail, "starttls", nil)
	e.JSON(webtest.LoginParams("dave@example.org")).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	if len(mail.Mails()) != 0 {
		t.Fatal("a code was mailed over an unencrypted connection")
	}
	if row := lastOutbox(t, e); row.State == "sent" || row.LastError == "" {
		t.Errorf("outbox %+v", row)
	}
}

// selfSignedTLS returns a server certificate for 127.0.0.1 and a client
// configuration that trusts it.
func selfSignedTLS(t *testing.T) (*tls.Config, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

func TestSMTPImplicitTLS(t *testing.T) {
	serverTLS, clientTLS := selfSignedTLS(t)
	mail := webtest.NewFakeSMTP(t)
	mail.Set(func(f *webtest.FakeSMTP) {
		f.User, f.Password, f.TLS, f.ImplicitTLS = "roster", "mail-password", serverTLS, true
	})
	e := smtpEnv(t, mail, "tls", clientTLS)
	e.JSON(webtest.LoginParams("erin@example.org")).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	ms := mail.Mails()
	if len(ms) != 1 || !ms[0].TLS || ms[0].To[0] != "erin@example.org" {
		t.Fatalf("mails %+v; outbox %+v", ms, lastOutbox(t, e))
	}
}

// A mail server that accepts the connection and never greets: the attempt
// ends at the send timeout and is retried.
func TestSMTPSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	mail := &webtest.FakeSMTP{Port: ln.Addr().(*net.TCPAddr).Port}
	e := smtpEnv(t, mail, "none", nil)
	e.JSON(webtest.LoginParams("frank@example.org")).ExpectOK(t)
	e.Server.Worker().RunOnce(context.Background())
	row := lastOutbox(t, e)
	if row.State != "pending" || !strings.Contains(row.LastError, "smtp:") {
		t.Errorf("outbox %+v", row)
	}
}

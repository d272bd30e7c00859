package handlers

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// login is both steps of sign-in: without a code it sends one; with a code
// (`otp`, or `code` from older clients) it verifies it and issues a token.
func (a *API) login(c *fiber.Ctx, r *Request) (Reply, error) {
	if err := requireAppID(r); err != nil {
		return nil, err
	}
	raw := r.Get("phone", "phonel") // "phonel" is the spelling of the source document's example
	if raw == "" {
		return nil, apiErr(CodeMissingPara, "The phone number (phone) is missing.")
	}
	phone, err := a.signInPhone(raw, r.Get("cc"))
	if err != nil {
		return nil, err
	}
	cl := clientInfo(c, r)
	code := r.Get("otp", "code")
	if code == "" {
		// The language of the message: the app's choice, else the phone's.
		cl.Languages = r.Get("lang")
		if cl.Languages == "" {
			cl.Languages = c.Get(fiber.HeaderAcceptLanguage)
		}
		return Reply{}, a.signIn.RequestCode(c.UserContext(), phone, cl)
	}
	if a.country != nil {
		cl.Country = a.country(c) // stored on the session the sign-in makes
	}
	res, err := a.signIn.VerifyCode(c.UserContext(), phone, code, r.Get("name"), cl)
	if err != nil {
		return nil, err
	}
	p := &models.Principal{User: res.User, SessionID: res.Session.ID}
	c.Locals(localPrincipal, p)
	reply := profileFields(&res.User)
	reply["token"] = res.Token
	reply["cc"] = res.User.CC()
	reply["uid"] = res.User.ID
	if res.DeletionCancelled {
		reply["deletion_cancelled"] = true // the account's pending deletion ended with this sign-in
	}
	if res.User.MesiboUID != "" {
		reply["uid"] = res.User.MesiboUID // mesibo mode: the uid the messaging SDK knows
	}
	return reply, nil
}

// signInPhone parses the number to sign in. Codes go only to numbers in
// assigned ranges; test numbers need only be possible (fictional ranges such
// as +1 555 are what people use for tests).
func (a *API) signInPhone(raw, cc string) (models.Phone, error) {
	p, err := models.ParsePhone(raw, cc, "")
	if err == nil && !a.signIn.IsTestNumber(p.E164) {
		err = p.CheckValid()
	}
	if err != nil && a.signIn.AcceptsEmail() && strings.Contains(raw, "@") {
		// With an email channel, `phone` may carry an email address instead.
		if e, eerr := models.ParseEmail(raw); eerr == nil {
			return e, nil
		}
		return models.Phone{}, apiErr(CodeBadPhone, "The email address is not valid. Check it and try again.")
	}
	if err != nil {
		msg := "The phone number is not valid: " + err.Error() + ". Enter it with its country code."
		if errors.Is(err, models.ErrPhoneEmpty) {
			msg = "The phone number is missing."
		}
		return models.Phone{}, apiErr(CodeBadPhone, msg)
	}
	return p, nil
}

// logout revokes the presented token. It always succeeds, even for an
// unknown token: the client is signing out either way.
func (a *API) logout(c *fiber.Ctx, r *Request) (Reply, error) {
	_, err := a.sessions.RevokeToken(c.UserContext(), tokenOf(c, r), models.RevokeLogout, clientInfo(c, r))
	return Reply{}, err
}

// requireAppID refuses a sign-in step (login, changephone) without the
// app's id, before anything else of the request is read.
func requireAppID(r *Request) error {
	if r.Get("appid") == "" {
		return apiErr(CodeMissingAppID, "The app id (appid) is missing.")
	}
	return nil
}

package handlers

import (
	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// changePhone moves the caller's account to another number in two steps,
// as login signs in: without a code it sends one to the new `phone` (every
// rule of a sign-in's code request applies); with `otp` or `code` it
// verifies it and changes the number. `others=1` also ends the caller's
// other sessions. Both steps take `appid` as login's do, checked in the
// same order: a request login would refuse is refused alike.
func (a *API) changePhone(c *fiber.Ctx, r *Request, p *models.Principal) (Reply, error) {
	if err := a.signIn.PhoneChangeServed(); err != nil {
		return nil, err // mesibo mode: BADOP, whatever the parameters
	}
	if err := requireAppID(r); err != nil {
		return nil, err
	}
	raw := r.Get("phone", "phonel")
	if raw == "" {
		return nil, apiErr(CodeMissingPara, "The new phone number (phone) is missing.")
	}
	phone, err := a.signInPhone(raw, r.Get("cc"))
	if err != nil {
		return nil, err
	}
	cl := clientInfo(c, r)
	code := r.Get("otp", "code")
	if code == "" {
		return Reply{}, a.signIn.RequestPhoneChangeCode(c.UserContext(), phone, cl)
	}
	change, err := a.signIn.ChangePhone(c.UserContext(), p, phone, code, r.Flag("others"),
		r.Get("announce") == "" || r.Flag("announce"), cl) // announce: on unless 0
	if err != nil {
		return nil, err
	}
	reply := profileFields(&change.User)
	reply["cc"] = change.User.CC()
	reply["oldphone"] = (&models.User{Phone: change.Old}).Digits()
	reply["ended"] = change.Ended
	return reply, nil
}

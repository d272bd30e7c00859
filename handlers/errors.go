package handlers

import (
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"roster/models"
)

// Protocol error codes. The first group is known to the demo apps; the rest
// are Roster's own, always sent with an errmsg.
const (
	CodeAuthFail     = "AUTHFAIL"
	CodeBadOp        = "BADOP"
	CodeNoOp         = "NOOP"
	CodeMissingAppID = "MISSINGAPPID"
	CodeBadCode      = "BADCODE"
	CodeBadUser      = "BADUSER"
	CodeMissingFile  = "MISSINGFILE"
	CodeBadImage     = "BADIMAGE"
	CodeMissingPara  = "MISSINGPARA"
	CodeNotMember    = "NOTMEMBER" // a group the caller is not in, or that does not exist
	CodeBadGroup     = "BADGROUP"  // a group change the caller's role does not allow

	CodeBadPhone   = "BADPHONE"
	CodeBadRequest = "BADREQUEST"
	CodeRateLimit  = "RATELIMIT"
	CodeOTPExpired = "EXPIRED" // the sign-in code expired or was tried too often
	CodeLocked     = "LOCKED"
	CodeBlocked    = "BLOCKED"
	CodeTooLarge   = "TOOLARGE"
	CodeInternal   = "INTERNAL"
	CodeBadAppID   = "BADAPPID"
	CodeBusy       = "BUSY"

	CodeNumberTaken = "NUMBERTAKEN"
)

// busyRetry is the wait suggested with BUSY: long enough for a queue of
// writes to drain, short enough that a person does not notice a retry.
const busyRetry = time.Second

// APIError is a protocol failure: it becomes {"result":"FAIL","error":Code,"errmsg":Msg}.
type APIError struct {
	Code       string
	Msg        string
	RetryAfter time.Duration
}

func (e *APIError) Error() string { return e.Code + ": " + e.Msg }

func apiErr(code, msg string) *APIError { return &APIError{Code: code, Msg: msg} }

// Busy is the answer to a request the server has no time for now: come
// back after retry (at least busyRetry).
func Busy(retry time.Duration) *APIError {
	return &APIError{Code: CodeBusy, Msg: "The server is busy. Please try again in a moment.", RetryAfter: max(retry, busyRetry)}
}

// refusalCode is the protocol's error code of a sign-in refusal ("" for a
// reason the protocol has no code for: answered as INTERNAL).
func refusalCode(r models.Reason) string {
	switch r {
	case models.ReasonBadCode:
		return CodeBadCode
	case models.ReasonExpired:
		return CodeOTPExpired
	case models.ReasonLocked:
		return CodeLocked
	case models.ReasonRateLimited:
		return CodeRateLimit
	case models.ReasonBlocked:
		return CodeBlocked
	case models.ReasonNotDeliverable:
		return CodeBadPhone
	case models.ReasonBadApp:
		return CodeBadAppID
	case models.ReasonTooLarge:
		return CodeTooLarge
	case models.ReasonNumberTaken:
		return CodeNumberTaken
	case models.ReasonSameNumber:
		return CodeBadRequest
	case models.ReasonNotWithIssuer:
		return CodeBadOp
	}
	return ""
}

// ProtocolError translates any error a handler returned into the protocol's
// terms. internal is true for errors the client must not see the text of:
// those are answered with a generic message and must be logged.
func ProtocolError(err error) (e *APIError, internal bool) {
	var (
		ae      *APIError
		refused *models.RefusedError
		bad     *BadRequestError
		fe      *fiber.Error
		issuer  *models.IssuerError
	)
	switch {
	// First the refusal sent most under attack: ErrUnauthenticated is
	// always returned bare, so its place in the order changes no answer.
	case errors.Is(err, models.ErrUnauthenticated):
		return apiErr(CodeAuthFail, "Your session has ended. Please sign in again."), false
	case errors.As(err, &ae):
		return ae, false
	case errors.As(err, &refused):
		code := refusalCode(refused.Reason)
		if code == "" {
			break
		}
		return &APIError{Code: code, Msg: refused.Message, RetryAfter: refused.RetryAfter}, false
	case errors.As(err, &issuer):
		return apiErr(CodeBadUser, issuer.Message), false
	case models.IsBusy(err):
		return Busy(busyRetry), false
	case errors.As(err, &bad):
		return apiErr(CodeBadRequest, bad.Msg), false
	case errors.As(err, &fe):
		switch fe.Code {
		case http.StatusUnauthorized:
			return apiErr(CodeAuthFail, "Your session has ended. Please sign in again."), false
		case http.StatusRequestEntityTooLarge:
			return apiErr(CodeTooLarge, "The request is too large."), false
		case http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusMethodNotAllowed, http.StatusNotFound:
			return apiErr(CodeBadRequest, "The request could not be read."), false
		case http.StatusRequestTimeout:
			return apiErr(CodeBadRequest, "The request took too long to arrive."), false
		}
	}
	return apiErr(CodeInternal, "Something went wrong on the server. Please try again."), true
}

// retryAfterSeconds rounds up, so a client that waits that long is let in.
func retryAfterSeconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}

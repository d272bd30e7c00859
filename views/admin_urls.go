package views

import (
	"net/url"
	"strconv"
	"strings"
)

// The dashboard's addresses are written once, here: web/admin.go registers
// these patterns, the handlers redirect to them and the templates link to
// them, all through the same constants and builders.

// AdminRoot is where the dashboard is mounted.
const AdminRoot = "/admin"

// Route patterns of the dashboard, relative to AdminRoot (Fiber syntax:
// :id is a user id, :sid a session id).
const (
	PathOverview          = "/"
	PathLogin             = "/login"
	PathLogout            = "/logout"
	PathUsers             = "/users"
	PathUsersCSV          = "/users.csv"
	PathUsersBulk         = "/users/bulk"
	PathUser              = "/users/:id"
	PathUserRevokeSession = "/users/:id/sessions/:sid/revoke"
	PathUserRevokeAll     = "/users/:id/revoke-all"
	PathUserBlock         = "/users/:id/block"
	PathUserUnblock       = "/users/:id/unblock"
	PathUserDelete        = "/users/:id/delete"
	PathUserResend        = "/users/:id/resend"
	PathUserModerate      = "/users/:id/moderate"
	PathUserUnlock        = "/users/:id/unlock"
	PathUserProfile       = "/users/:id/profile"
	PathUserMatched       = "/users/:id/matched"
	PathUserHave          = "/users/:id/have"
	PathCodes             = "/codes"
	PathCodesResend       = "/codes/resend"
	PathCodesUnlock       = "/codes/unlock"
	PathOutbox            = "/outbox"
	PathOutboxMessage     = "/outbox/:id"
	PathPushes            = "/pushes"
	PathAudit             = "/audit"
	PathAuditCSV          = "/audit.csv"
	PathSettings          = "/settings"
	PathAdmins            = "/admins"
	PathAdmin             = "/admins/:id"
	PathAdminRole         = "/admins/:id/role"
	PathAdminDisable      = "/admins/:id/disable"
	PathAdminEnable       = "/admins/:id/enable"
	PathAdminReset        = "/admins/:id/reset"
	PathAdminEndSession   = "/admins/:id/sessions/:sid/end"
	PathAccount           = "/account"
	PathAccountPassword   = "/account/password"
	// Two-factor sign-in: the sign-in's second step, enrolment, and the
	// owners' rule for everyone.
	PathLoginCode         = "/login/code"
	PathAccount2FASetup   = "/account/2fa/setup"
	PathAccount2FAConfirm = "/account/2fa/confirm"
	PathAccount2FADisable = "/account/2fa/disable"
	PathAdmins2FA         = "/admins/2fa"
	PathAdmin2FARemove    = "/admins/:id/2fa/remove"

	PathGroups       = "/groups"
	PathGroup        = "/groups/:id"
	PathGroupDelete  = "/groups/:id/delete"
	PathGroupRename  = "/groups/:id/rename"
	PathGroupMembers = "/groups/:id/members"
	PathGroupRole    = "/groups/:id/role"

	PathFraud        = "/fraud"
	PathFraudRelease = "/fraud/release"
	PathFraudSending = "/fraud/sending"
)

// PathUserCancelDeletion cancels the deletion a user asked for in its
// grace period (--deletion-grace).
const PathUserCancelDeletion = "/users/:id/cancel-deletion"

// AdminURL is the address of a dashboard route: its pattern with the
// parameters (:id, :sid) filled in order.
func AdminURL(pattern string, ids ...int64) string {
	parts := strings.Split(pattern, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") && len(ids) > 0 {
			parts[i], ids = strconv.FormatInt(ids[0], 10), ids[1:]
		}
	}
	return AdminRoot + strings.Join(parts, "/")
}

// UserURL is a user's page.
func UserURL(id int64) string { return AdminURL(PathUser, id) }

// OutboxMessageURL is an outbox message's page: its delivery attempts.
func OutboxMessageURL(id int64) string { return AdminURL(PathOutboxMessage, id) }

// GroupURL is a group's page.
func GroupURL(id int64) string { return AdminURL(PathGroup, id) }

// ListURL is a list page with its filter in the query string.
func ListURL(pattern string, query url.Values) string {
	u := AdminURL(pattern)
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

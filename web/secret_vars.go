package web

// secretVar is one secret Roster reads from the environment, or from the
// file that its NAME_FILE variable names (secret_files.go).
type secretVar struct {
	env string
	// key is LoadSecret's name of a secret Roster generates into
	// DATA-DIR/secrets/ when the environment has none; "" for secrets it
	// never generates (credentials of other services, passwords, tokens).
	key string
	// protects says what a generated key protects, for `roster keys`:
	// what breaks when it changes over existing data.
	protects string
}

// secretVars lists every secret Roster reads from the environment (never
// from flags, which show in process lists).
func secretVars() []secretVar {
	return []secretVar{
		{"ROSTER_OTP_KEY", "otp", "Keys the hashes of stored one-time codes and seals the administrators' two-factor secrets; a new key fails the codes already sent and those secrets."},
		{"ROSTER_CONTACTS_KEY", "contacts", "Keys the hashes of phone numbers in stored address books; a new key matches no stored contact again."},
		{"ROSTER_COOKIE_HASH_KEY", "cookie-auth", "Signs the dashboard's session cookies; a new key ends every dashboard session."},
		{"ROSTER_COOKIE_BLOCK_KEY", "cookie-enc", "Encrypts the dashboard's session cookies; a new key ends every dashboard session."},
		{"ROSTER_ADMIN_PASSWORD", "", ""},
		{"ROSTER_METRICS_TOKEN", "", ""},
		{EnvTwilioAuthToken, "", ""},
		{EnvWebhookSecret, "", ""},
		{EnvWhatsAppToken, "", ""},
		{EnvWhatsAppAppSecret, "", ""},
		{EnvWhatsAppVerifyToken, "", ""},
		{EnvSMTPPassword, "", ""},
		{EnvMesiboAppToken, "", ""},
		{EnvAWSAccessKeyID, "", ""},
		{EnvAWSSecretAccessKey, "", ""},
		{EnvAWSSessionToken, "", ""},
	}
}

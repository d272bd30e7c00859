package web

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nyaruka/phonenumbers"

	"roster/models"
	"roster/web/clientip"
)

// Config is Roster's whole configuration. Every field is a flag with a
// ROSTER_* environment fallback (flag name upper-cased, dashes as
// underscores); flags win over the environment.
type Config struct {
	Addr    string
	DataDir string
	// DatabaseURL is empty for SQLite in the data directory, or a
	// postgres:// URL for several instances sharing one PostgreSQL.
	DatabaseURL string
	// DatabaseConns bounds the PostgreSQL pool of this instance.
	DatabaseConns int
	// SQLiteMemory is what each SQLite connection may keep in memory.
	SQLiteMemory models.SQLiteMemory
	// NewDatabase allows creating an empty database although generated
	// secrets show that one existed (it was lost or moved).
	NewDatabase bool
	BaseURL     string
	AppName     string
	LogFormat   string
	LogLevel    string

	TestNumbersRaw string
	TestNumbers    map[string]string // E.164 -> code, parsed from TestNumbersRaw
	DemoCode       string

	OTP            models.OTPPolicy
	OTPChannel     string
	TokenLifetime  time.Duration
	RecycleAfter   time.Duration
	DeletionGrace  time.Duration
	SessionTouch   time.Duration
	Retention      time.Duration
	AuditRetention time.Duration

	TrustedProxies []string
	ProxyHeader    string
	// CountryHeader is a trusted proxy's header with the client's country
	// (CF-IPCountry); GeoIPDB a country database (MaxMind or DB-IP mmdb).
	CountryHeader string
	GeoIPDB       string

	BodyLimitMB int
	// MaxConnections caps open client connections (0 on the command line:
	// sized from the file-descriptor limit); MaxConnectionsPerIP caps them
	// per client network, trusted proxies exempt (0: no cap).
	MaxConnections      int
	MaxConnectionsPerIP int
	ReadTimeout         time.Duration
	WriteTimeout        time.Duration
	IdleTimeout         time.Duration
	RequestTimeout      time.Duration
	ShutdownTimeout     time.Duration

	ShareText  string
	InviteText string

	MetricsAddr string // own listener for /metrics ("" = none)

	Delivery DeliveryConfig // delivery channels and token issuer: config_delivery.go

	Fraud FraudConfig // the fraud guard against SMS pumping: config_fraud.go

	AdminRegion string // region of national-format numbers typed into the dashboard

	People PeopleConfig // contacts, photos, notices

	Files FilesConfig // where uploaded files are stored: config_files.go

	Push PushConfig // push notifications: config_push.go
	Load LoadConfig // admission, memory limit, access log: config_load.go

	// Flags are every flag's effective value and source (default, flag,
	// environment), for the dashboard's settings page.
	Flags []FlagSetting
}

// EnvPrefix starts every environment variable of Roster.
const EnvPrefix = "ROSTER_"

// EnvName is the environment variable of a flag.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ParseConfig reads the configuration from flags (args, without the program
// name) and the environment (getenv). It returns flag.ErrHelp after writing
// the usage to out when -h/--help is given.
func ParseConfig(name string, args []string, getenv func(string) string, out io.Writer) (Config, error) {
	var cfg Config
	var trusted string
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	pol := models.DefaultOTPPolicy()
	mem := models.DefaultSQLiteMemory()

	fs.StringVar(&cfg.Addr, "addr", ":8080", "address to listen on, host:port")
	fs.StringVar(&cfg.DataDir, "data-dir", "./data", "directory for roster.db, uploaded files and generated secrets")
	fs.StringVar(&cfg.DatabaseURL, "database-url", "", "empty: SQLite in DATA-DIR/roster.db; postgres://USER:PASSWORD@HOST:PORT/DB: PostgreSQL 15+, shared by several instances (secrets then come from the environment only)")
	fs.IntVar(&cfg.DatabaseConns, "database-conns", 16, "PostgreSQL connections this instance may open (the server's max_connections is shared by every instance)")
	fs.IntVar(&cfg.SQLiteMemory.MmapMiB, "sqlite-mmap-mib", mem.MmapMiB, "MiB of the SQLite file read through a shared memory map (0: none, read the usual way; a map's pages count in RSS as the OS cache's)")
	fs.IntVar(&cfg.SQLiteMemory.CacheMiB, "sqlite-cache-mib", mem.CacheMiB, "MiB of SQLite page cache per connection (the writer and each reader)")
	fs.BoolVar(&cfg.NewDatabase, "new-database", false, "create a new, empty roster.db although DATA-DIR/secrets shows that a database existed (after its loss; without this flag the start stops)")
	fs.StringVar(&cfg.BaseURL, "base-url", "", "public URL of this server, used in links sent to apps (default: http://localhost:PORT)")
	fs.StringVar(&cfg.AppName, "app-name", "Roster", "app name used in messages sent to people")
	fs.StringVar(&cfg.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "log level: debug, info, warn or error")

	fs.StringVar(&cfg.TestNumbersRaw, "test-numbers", "", "comma-separated number:code pairs (codes of 8 to 12 digits) that sign in with a fixed code, never sent; wrong codes count toward the lock (app review, CI)")
	fs.StringVar(&cfg.DemoCode, "demo-code", "", "DEMO ONLY: one fixed code of 8 to 12 digits accepted for every number, nothing sent (empty = off)")

	fs.DurationVar(&pol.TTL, "otp-ttl", pol.TTL, "how long a one-time code is valid")
	fs.IntVar(&pol.MaxAttempts, "otp-max-attempts", pol.MaxAttempts, "wrong tries allowed per code")
	fs.IntVar(&pol.LockAfter, "otp-lock-after", pol.LockAfter, "consecutive wrong codes (across resends) that lock a number")
	fs.DurationVar(&pol.LockFor, "otp-lock-duration", pol.LockFor, "how long a locked number stays locked")
	fs.DurationVar(&pol.ResendCooldown, "otp-resend-cooldown", pol.ResendCooldown, "minimum time between two codes for one number")
	fs.IntVar(&pol.PhonePerHour, "otp-phone-hourly", pol.PhonePerHour, "codes per number per hour")
	fs.IntVar(&pol.PhonePerDay, "otp-phone-daily", pol.PhonePerDay, "codes per number per day")
	fs.IntVar(&pol.IPPerHour, "otp-ip-hourly", pol.IPPerHour, "codes per client IP per hour (0 = no limit)")
	fs.IntVar(&pol.IPPerDay, "otp-ip-daily", pol.IPPerDay, "codes per client IP per day (0 = no limit)")
	fs.StringVar(&cfg.OTPChannel, "otp-channel", "console", "how codes are delivered, comma-separated in order of preference: console (writes them to the log; development only), twilio, whatsapp, voice, webhook, smtp")
	fs.DurationVar(&cfg.TokenLifetime, "token-lifetime", 365*24*time.Hour, "lifetime of an access token")
	fs.DurationVar(&cfg.RecycleAfter, "recycle-after", 180*24*time.Hour, "a number proven by code whose account was not seen for this long gets a fresh account; the old one is kept, detached from the number (0: never)")
	fs.DurationVar(&cfg.DeletionGrace, "deletion-grace", 0, "how long an account its user deletes is kept (signed out, found by no address book) before it is deleted; signing in again within it cancels the deletion (0: deleted at once)")
	fs.DurationVar(&cfg.Retention, "retention", 30*24*time.Hour, "how long codes and sent messages are kept for the dashboard's history (at least 24h: quotas look back a day)")
	fs.DurationVar(&cfg.AuditRetention, "audit-retention", models.DefaultAuditRetention, "how long audit log entries are kept (at least 720h: younger entries cannot be deleted)")
	fs.DurationVar(&cfg.SessionTouch, "session-touch-interval", time.Minute, "how often a session's last-used time is written at most")

	fs.StringVar(&trusted, "trusted-proxies", "", "comma-separated IPs or CIDRs of reverse proxies whose client-IP header is believed (empty = none)")
	fs.StringVar(&cfg.ProxyHeader, "proxy-header", "X-Forwarded-For", "header carrying the client IP, read only from trusted proxies")
	fs.StringVar(&cfg.CountryHeader, "client-country-header", "", "header carrying the client's country code (such as CF-IPCountry), read only from trusted proxies; shown on sessions (empty = none)")
	fs.StringVar(&cfg.GeoIPDB, "geoip-db", "", "a country database (MaxMind GeoLite2-Country or DB-IP country, .mmdb) giving the country of a sign-in's address, when no country header says it (empty = none)")

	fs.IntVar(&cfg.MaxConnections, "max-connections", 0, "most client connections open at once; more wait to be accepted (0 = 90% of the file-descriptor limit, leaving room for the database and outgoing calls)")
	fs.IntVar(&cfg.MaxConnectionsPerIP, "max-connections-per-ip", 128, "most connections from one client IP (IPv6: one /64); trusted proxies are exempt (0 = no limit)")
	fs.IntVar(&cfg.BodyLimitMB, "body-limit-mb", 16, "largest accepted request body, in MiB (photo uploads, large contact syncs)")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", 30*time.Second, "time allowed to read a request")
	fs.DurationVar(&cfg.WriteTimeout, "write-timeout", 30*time.Second, "time allowed to write a response")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", 2*time.Minute, "how long an idle keep-alive connection stays open")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", 5*time.Second, "how long a protocol request may wait (for the database, for the photo decode budget); past it the app is told BUSY with retry_after")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long shutdown waits for in-flight requests")

	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "address of a separate listener for Prometheus metrics at /metrics, e.g. 127.0.0.1:9090 (empty = none; ROSTER_METRICS_TOKEN serves them on --addr behind a bearer token instead)")
	fs.StringVar(&cfg.ShareText, "share-text", "", "text apps offer when inviting people (default mentions the app name)")
	fs.StringVar(&cfg.InviteText, "invite-text", "", "invite text sent to apps (default mentions the app name)")

	deliveryFlags(fs, &cfg.Delivery)
	fraudFlags(fs, &cfg.Fraud)
	registerPeopleFlags(fs, &cfg.People)
	registerFilesFlags(fs, &cfg.Files)
	pushFlags(fs, &cfg.Push)
	registerLoadFlags(fs, &cfg.Load)
	fs.StringVar(&cfg.AdminRegion, "admin-region", "US", "dashboard: region (ISO code) of phone numbers typed in national format")

	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: %s [flags]\n\nEvery flag can also be set with the environment variable shown; flags win.\n"+
			"Secrets never come from flags: ROSTER_OTP_KEY and ROSTER_CONTACTS_KEY are read from the environment, else generated\nonce into DATA-DIR/secrets/ (mode 0600; back it up with the database).\n"+
			"Dashboard: ROSTER_COOKIE_HASH_KEY, ROSTER_COOKIE_BLOCK_KEY (else generated likewise); ROSTER_ADMIN_NAME names the\n"+
			"first owner (default admin) and ROSTER_ADMIN_PASSWORD sets its password (else one is generated into\n"+
			"DATA-DIR/owner-password.txt, mode 0600).\n"+
			"Every secret variable NAME can instead be NAME_FILE, the path of a file holding it (Docker and Kubernetes secrets).\n"+
			"`roster admin` manages admins; `roster keys` prints a fresh set of the generated secrets for the environment\n"+
			"(instances sharing a database need the same ones).\n\n", name)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" {
				def = fmt.Sprintf(" (default %q)", f.DefValue)
			}
			fmt.Fprintf(out, "  --%s  [$%s]\n      %s%s\n", f.Name, EnvName(f.Name), f.Usage, def)
		})
	}

	var envErrs []error
	fromEnv := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(EnvName(f.Name)); v != "" {
			fromEnv[f.Name] = true
			if err := fs.Set(f.Name, v); err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s: %w", EnvName(f.Name), err))
			}
		}
	})
	if err := errors.Join(envErrs...); err != nil {
		return cfg, err
	}
	sources := trackSources(fs, fromEnv)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	cfg.Flags = sources()
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	cfg.OTP = pol
	cfg.TrustedProxies = models.SplitList(trusted)
	return cfg, cfg.finish()
}

// finish checks the values and fills derived ones.
func (cfg *Config) finish() error {
	var errs []error
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format must be text or json, not %q", cfg.LogFormat))
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level must be debug, info, warn or error, not %q", cfg.LogLevel))
	}
	errs = append(errs, cfg.finishDelivery())
	if u := cfg.DatabaseURL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		errs = append(errs, fmt.Errorf("--database-url must be a postgres:// URL (or empty for SQLite), not %q", redactURL(u)))
	}
	if cfg.SQLiteMemory.MmapMiB < 0 || cfg.SQLiteMemory.CacheMiB < 1 {
		errs = append(errs, errors.New("--sqlite-mmap-mib must be 0 or more and --sqlite-cache-mib at least 1"))
	}
	if cfg.DatabaseConns < 2 {
		errs = append(errs, fmt.Errorf("--database-conns must be at least 2 (one listens for the other instances)"))
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		errs = append(errs, fmt.Errorf("--addr %q: %w", cfg.Addr, err))
	}
	if cfg.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-addr %q: %w", cfg.MetricsAddr, err))
		}
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = defaultBaseURL(cfg.Addr)
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("--base-url %q is not an http(s) URL", cfg.BaseURL))
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	p := cfg.OTP
	if p.TTL <= 0 || p.MaxAttempts <= 0 || p.LockAfter <= 0 || p.LockFor <= 0 || p.ResendCooldown < 0 ||
		p.PhonePerHour <= 0 || p.PhonePerDay <= 0 || p.IPPerHour < 0 || p.IPPerDay < 0 {
		errs = append(errs, errors.New("the --otp-* values must be positive"))
	}
	if cfg.Retention < 24*time.Hour {
		errs = append(errs, errors.New("--retention must be at least 24h: the daily quotas read a day of codes"))
	}
	if cfg.AuditRetention < models.MinAuditRetention {
		errs = append(errs, errors.New("--audit-retention must be at least 720h: the audit log keeps 30 days at least"))
	}
	if cfg.RecycleAfter < 0 {
		errs = append(errs, errors.New("--recycle-after must not be negative"))
	}
	if cfg.DeletionGrace < 0 {
		errs = append(errs, errors.New("--deletion-grace must not be negative"))
	}
	if cfg.TokenLifetime <= 0 || cfg.SessionTouch < 0 {
		errs = append(errs, errors.New("--token-lifetime must be positive"))
	}
	if cfg.MaxConnections < 0 || cfg.MaxConnectionsPerIP < 0 {
		errs = append(errs, errors.New("--max-connections and --max-connections-per-ip must not be negative"))
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = defaultMaxConnections()
	}
	if cfg.BodyLimitMB <= 0 || cfg.BodyLimitMB > 1024 {
		errs = append(errs, errors.New("--body-limit-mb must be between 1 and 1024"))
	}
	if _, err := clientip.New(cfg.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("--trusted-proxies: %w", err))
	}
	if cfg.CountryHeader != "" && len(cfg.TrustedProxies) == 0 {
		errs = append(errs, errors.New("--client-country-header is read only from trusted proxies: set --trusted-proxies too"))
	}
	cfg.AdminRegion = strings.ToUpper(strings.TrimSpace(cfg.AdminRegion))
	if phonenumbers.GetCountryCodeForRegion(cfg.AdminRegion) == 0 {
		errs = append(errs, fmt.Errorf("--admin-region %q is not a known region code (such as US, GB, FR)", cfg.AdminRegion))
	}
	tn, err := parseTestNumbers(cfg.TestNumbersRaw)
	if err != nil {
		errs = append(errs, err)
	}
	cfg.TestNumbers = tn
	if cfg.DemoCode != "" && !isDigits(cfg.DemoCode, minFixedCode, maxFixedCode) {
		errs = append(errs, fmt.Errorf("--demo-code must be %d to %d digits", minFixedCode, maxFixedCode))
	}
	errs = append(errs, cfg.People.check()...)
	errs = append(errs, cfg.Files.check()...)
	errs = append(errs, cfg.Push.check()...)
	errs = append(errs, cfg.Load.check()...)
	errs = append(errs, cfg.Fraud.check()...)
	if cfg.ShareText == "" {
		cfg.ShareText = fmt.Sprintf("Let's chat on %s! Get it at %s", cfg.AppName, cfg.BaseURL)
	}
	if cfg.InviteText == "" {
		cfg.InviteText = fmt.Sprintf("Hey, I use %s to chat. Join me: %s", cfg.AppName, cfg.BaseURL)
	}
	return errors.Join(errs...)
}

// Fixed codes (test numbers, demo-code mode) never change, so they are
// longer than issued ones: with the per-phone lock, 8 digits take years of
// guessing where 6 would take months.
const (
	minFixedCode = 8
	maxFixedCode = 12
)

// parseTestNumbers reads "number:code,number:code". Numbers may be written in
// any international format; they need only be possible numbers.
func parseTestNumbers(raw string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range models.SplitList(raw) {
		num, code, ok := strings.Cut(item, ":")
		code = strings.TrimSpace(code)
		if !ok || !isDigits(code, minFixedCode, maxFixedCode) {
			// The item holds the code: name the number only.
			return nil, fmt.Errorf("--test-numbers: %q is not number:code with a %d to %d digit code", strings.TrimSpace(num), minFixedCode, maxFixedCode)
		}
		p, err := models.ParsePhone(num, "", "")
		if err != nil {
			return nil, fmt.Errorf("--test-numbers: %q: %w", num, err)
		}
		out[p.E164] = code
	}
	return out, nil
}

func isDigits(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// defaultMaxConnections is 90% of the file-descriptor limit (Go raises the
// soft limit to the hard one at start), less a reserve for the database,
// its WAL, uploads being written and outgoing calls to providers.
func defaultMaxConnections() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur <= 128 {
		return 64
	}
	return int(min(rl.Cur-descriptorReserve, 1<<20) * 9 / 10)
}

func defaultBaseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://localhost:8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// databaseName names the database for logs and the settings page, without
// the password.
func (cfg Config) databaseName() string {
	if cfg.DatabaseURL == "" {
		return "SQLite " + filepath.Join(cfg.DataDir, "roster.db")
	}
	return redactURL(cfg.DatabaseURL)
}

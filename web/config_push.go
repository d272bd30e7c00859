package web

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"roster/models"
	"roster/web/push"
)

// PushConfig configures push notifications to devices whose app is not
// holding the event stream open. The credentials files are read at start.
type PushConfig struct {
	ProvidersRaw       string   // --push
	Providers          []string // parsed: push.FCMName, push.APNsName
	FCMCredentialsFile string
	FCMBaseURL         string
	APNsKeyFile        string
	APNsKeyID          string
	APNsTeamID         string
	APNsTopic          string
	APNsBaseURL        string // empty: Apple's production or sandbox host per device
	Concurrency        int    // pushes in flight at once, all providers together
	RatePerSecond      int    // pushes a second per provider (per instance)
	Timeout            time.Duration
}

func pushFlags(fs *flag.FlagSet, p *PushConfig) {
	fs.StringVar(&p.ProvidersRaw, "push", "", "push notifications to devices whose app is closed: fcm, apns, or fcm,apns (empty = off)")
	fs.StringVar(&p.FCMCredentialsFile, "fcm-credentials-file", "", "--push fcm: the Firebase service account's JSON key file (its token_uri is where access tokens are asked for)")
	fs.StringVar(&p.FCMBaseURL, "fcm-base-url", push.DefaultFCMBaseURL, "FCM HTTP v1 API base URL")
	fs.StringVar(&p.APNsKeyFile, "apns-key-file", "", "--push apns: the .p8 signing key file from Apple's developer site")
	fs.StringVar(&p.APNsKeyID, "apns-key-id", "", "--push apns: the id of the .p8 key")
	fs.StringVar(&p.APNsTeamID, "apns-team-id", "", "--push apns: the Apple developer team id")
	fs.StringVar(&p.APNsTopic, "apns-topic", "", "--push apns: the iOS app's bundle id")
	fs.StringVar(&p.APNsBaseURL, "apns-base-url", "", "APNs base URL for every device (empty = Apple's production host, or its sandbox host for devices that set prod=0)")
	fs.IntVar(&p.Concurrency, "push-concurrency", 64, "pushes in flight at once on this instance")
	fs.IntVar(&p.RatePerSecond, "push-rate", 2000, "most pushes a second per provider on this instance")
	fs.DurationVar(&p.Timeout, "push-timeout", 15*time.Second, "limit of one push request")
}

// check parses --push and checks that each provider named has its
// settings (the files are read at start).
func (p *PushConfig) check() []error {
	var errs []error
	p.Providers = nil
	for _, name := range models.SplitList(p.ProvidersRaw) {
		switch name {
		case push.FCMName:
			if p.FCMCredentialsFile == "" {
				errs = append(errs, errors.New("--push fcm needs $ROSTER_FCM_CREDENTIALS_FILE (--fcm-credentials-file): the service account's JSON key from the Firebase console"))
			}
			errs = append(errs, checkHTTPURL("--fcm-base-url", p.FCMBaseURL))
		case push.APNsName:
			if p.APNsKeyFile == "" || p.APNsKeyID == "" || p.APNsTeamID == "" || p.APNsTopic == "" {
				errs = append(errs, errors.New("--push apns needs $ROSTER_APNS_KEY_FILE (--apns-key-file), --apns-key-id, --apns-team-id and --apns-topic"))
			}
			if p.APNsBaseURL != "" {
				errs = append(errs, checkHTTPURL("--apns-base-url", p.APNsBaseURL))
			}
		default:
			errs = append(errs, fmt.Errorf("--push: unknown provider %q (available: fcm, apns)", name))
			continue
		}
		if p.enabled(name) {
			errs = append(errs, fmt.Errorf("--push: %q is listed twice", name))
		}
		p.Providers = append(p.Providers, name)
	}
	if p.Concurrency < 1 || p.RatePerSecond < 1 || p.Timeout <= 0 {
		errs = append(errs, errors.New("--push-concurrency, --push-rate and --push-timeout must be positive"))
	}
	return errs
}

func (p PushConfig) enabled(name string) bool {
	for _, n := range p.Providers {
		if n == name {
			return true
		}
	}
	return false
}

// pushProviders reads the credentials of the providers named in --push; a
// file missing or unreadable stops the start.
func pushProviders(cfg PushConfig, log *slog.Logger, clock models.Clock, client *http.Client) ([]push.Provider, error) {
	var out []push.Provider
	var errs []error
	if client == nil {
		client = push.NewHTTPClient(cfg.Timeout)
	}
	if cfg.enabled(push.FCMName) {
		data, err := os.ReadFile(cfg.FCMCredentialsFile)
		var creds *push.FCMCredentials
		if err == nil {
			creds, err = push.ParseFCMCredentials(data)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--push fcm: the credentials file %s: %w", cfg.FCMCredentialsFile, err))
		} else {
			out = append(out, push.NewFCM(creds, cfg.FCMBaseURL, client, clock.Now))
		}
	}
	if cfg.enabled(push.APNsName) {
		data, err := os.ReadFile(cfg.APNsKeyFile)
		if err == nil {
			key, perr := push.ParseAPNsKey(data)
			err = perr
			if err == nil {
				out = append(out, push.NewAPNs(push.APNsConfig{Key: key, KeyID: cfg.APNsKeyID, TeamID: cfg.APNsTeamID,
					Topic: cfg.APNsTopic, BaseURL: cfg.APNsBaseURL, Client: client, Now: clock.Now, Log: log}))
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--push apns: the key file %s: %w", cfg.APNsKeyFile, err))
		}
	}
	return out, errors.Join(errs...)
}

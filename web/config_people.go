package web

import (
	"errors"
	"flag"
	"time"

	"roster/models"
	"roster/models/eventhub"
)

// PeopleConfig configures contact sync, profile photos and notices.
type PeopleConfig struct {
	Contacts          models.ContactsConfig
	PhotoMaxMB        int
	PhotoMaxMP        int
	PhotoDecodeMB     int
	EventRetention    time.Duration
	EventHeartbeat    time.Duration
	EventPoll         time.Duration // PostgreSQL: deliveries looked for without a notification
	FanoutChunk       int
	StreamsPerSession int
	StreamsPerUser    int
	UploadsPerDay     int
	Groups            models.GroupsConfig
}

func registerPeopleFlags(fs *flag.FlagSet, p *PeopleConfig) {
	c := models.DefaultContactsConfig()
	ph := models.DefaultPhotoLimits()
	ev := models.DefaultEventsConfig()
	fs.IntVar(&p.Contacts.MaxPerRequest, "contacts-max-per-request", c.MaxPerRequest, "most numbers accepted in one getcontacts/delcontacts request (more: TOOLARGE)")
	fs.IntVar(&p.Contacts.Allowance, "contacts-allowance", c.Allowance, "never-seen numbers a user may look up at once (known numbers are free; over it: RATELIMIT)")
	fs.Float64Var(&p.Contacts.RefillPerDay, "contacts-refill-per-day", c.RefillPerDay, "never-seen numbers a user's allowance regains per day")
	fs.IntVar(&p.Contacts.WritesPerDay, "contacts-writes-per-day", c.WritesPerDay, "address-book rows a user's uploads may write or delete a day (a reset costs the book it clears and the list it stores; over it: RATELIMIT)")
	fs.IntVar(&p.Contacts.ParseCacheSize, "contacts-parse-cache", c.ParseCacheSize, "parsed numbers kept in memory to speed up repeated syncs (0 = off)")
	fs.IntVar(&p.PhotoMaxMB, "photo-max-mb", int(ph.MaxBytes>>20), "largest accepted image file, in MiB")
	fs.IntVar(&p.PhotoMaxMP, "photo-max-megapixels", ph.MaxPixels/1_000_000, "largest accepted image, in megapixels (checked before decoding)")
	fs.IntVar(&p.PhotoDecodeMB, "photo-decode-budget-mb", int(ph.DecodeBudget>>20), "memory all image decodes in flight may take together, in MiB (decoded size: width x height x bytes per pixel); uploads wait for it")
	fs.DurationVar(&p.EventRetention, "event-retention", ev.Retention, "how long notices are kept for streams resuming with Last-Event-ID")
	fs.DurationVar(&p.EventHeartbeat, "event-heartbeat", 25*time.Second, "interval of event-stream heartbeats (the session is re-checked at each)")
	fs.DurationVar(&p.EventPoll, "event-poll", 2*time.Second, "on PostgreSQL, how often an instance also looks for notices that no notification announced (a pooler that breaks LISTEN, a reconnect)")
	fs.IntVar(&p.StreamsPerSession, "event-streams-per-session", eventhub.DefaultStreamsPerSession, "live event streams one token may hold open (a new one closes the oldest)")
	fs.IntVar(&p.StreamsPerUser, "event-streams-per-user", eventhub.DefaultStreamsPerUser, "live event streams one user may hold open over all devices (a new one closes the oldest)")
	fs.IntVar(&p.UploadsPerDay, "uploads-per-day", 100, "files (photos included) one user may upload per day (0 = no limit; over it: RATELIMIT)")
	gr := models.DefaultGroupsConfig()
	fs.IntVar(&p.Groups.MaxMembers, "group-max-members", gr.MaxMembers, "members one group may have, its owner included (more: TOOLARGE)")
	fs.IntVar(&p.Groups.MaxPerUser, "groups-per-user", gr.MaxPerUser, "groups one user may be a member of (someone in as many is left out of a group they are added to)")
	fs.IntVar(&p.FanoutChunk, "fanout-chunk", ev.Chunk, "recipients written per fan-out transaction (smaller: shorter holds on the database writer)")
}

func (p PeopleConfig) check() []error {
	var errs []error
	c := p.Contacts
	if c.MaxPerRequest <= 0 || c.Allowance <= 0 || c.RefillPerDay < 0 || c.ParseCacheSize < 0 || c.WritesPerDay <= 0 {
		errs = append(errs, errors.New("the --contacts-* values must be positive"))
	}
	if p.PhotoMaxMB <= 0 || p.PhotoMaxMP <= 0 || p.PhotoDecodeMB <= 0 {
		errs = append(errs, errors.New("--photo-max-mb, --photo-max-megapixels and --photo-decode-budget-mb must be positive"))
	}
	if p.EventRetention < time.Minute || p.EventHeartbeat < 10*time.Millisecond || p.EventPoll < 10*time.Millisecond || p.FanoutChunk <= 0 {
		errs = append(errs, errors.New("--event-retention (>= 1m), --event-heartbeat, --event-poll (>= 10ms) and --fanout-chunk must be positive"))
	}
	if p.Groups.MaxMembers < 2 || p.Groups.MaxPerUser <= 0 {
		errs = append(errs, errors.New("--group-max-members must be at least 2 and --groups-per-user positive"))
	}
	if p.StreamsPerSession <= 0 || p.StreamsPerUser < p.StreamsPerSession {
		errs = append(errs, errors.New("--event-streams-per-session must be positive and --event-streams-per-user at least as large"))
	}
	return errs
}

// PhotoLimits are the photo limits of this configuration.
func (p PeopleConfig) PhotoLimits() models.PhotoLimits {
	l := models.DefaultPhotoLimits()
	l.MaxBytes = int64(p.PhotoMaxMB) << 20
	l.MaxPixels = p.PhotoMaxMP * 1_000_000
	l.DecodeBudget = int64(p.PhotoDecodeMB) << 20
	return l
}

// groupsConfig is the groups' configuration: the limits, and in mesibo
// mode groups made at mesibo too.
func groupsConfig(cfg Config, mesibo bool) models.GroupsConfig {
	g := cfg.People.Groups
	g.Mesibo = mesibo
	return g
}

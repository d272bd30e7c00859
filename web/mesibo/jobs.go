package mesibo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"roster/models"
	"roster/web/delivery"
)

// The outbox channel of mesibo jobs: deletions and notices that the models
// queue in their own transactions, sent with the worker's retries.

// Contact notices are sent like the old PHP backend's (protocol.md): type 1,
// transient (flag 4), kept for delivery for one hour, forced.
const (
	noticeType   = 1
	noticeFlags  = 4
	noticeExpiry = 3600
)

// JobSender is the outbox channel "mesibo": it deletes users at mesibo
// (userdel: account deletion, and token revocation, see models.MesiboJob)
// and sends contact notices as messages from a sender user it creates at
// mesibo before the first notice, with the outbox's retries and attempt
// records.
type JobSender struct {
	client   *Client
	from     string // the sender's address at mesibo
	fromName string
	groups   GroupIDs

	mu     sync.Mutex
	ensure bool // the sender exists at mesibo (as far as Roster knows)
}

// GroupIDs stores the ids mesibo gives Roster's groups (models.MesiboGroups).
type GroupIDs interface {
	MesiboGID(ctx context.Context, gid int64) (string, error)
	SetMesiboGID(ctx context.Context, gid int64, mesiboGID string) error
}

// NewJobSender returns the mesibo channel; from is the notices' sender
// address, created at mesibo (useradd without a token) on first use;
// groups keeps the ids of groups made at mesibo.
func NewJobSender(c *Client, from, fromName string, groups GroupIDs) *JobSender {
	return &JobSender{client: c, from: from, fromName: fromName, groups: groups}
}

// Name returns the outbox channel of mesibo jobs.
func (*JobSender) Name() string { return models.MesiboChannel }

// Send runs one job.
func (s *JobSender) Send(ctx context.Context, m delivery.Message) (delivery.Receipt, error) {
	var job models.MesiboJob
	if err := json.Unmarshal([]byte(m.Body), &job); err != nil {
		return delivery.Receipt{}, &delivery.PermanentError{Err: errors.New("mesibo: the job is unreadable")}
	}
	var err error
	switch job.Op {
	case models.MesiboJobUserDel, "deltoken", "deluser": // the last two: jobs an older version queued
		if job.UID == "" {
			return delivery.Receipt{}, &delivery.PermanentError{Err: errors.New("mesibo userdel: the job has no uid")}
		}
		err = s.client.DeleteUser(ctx, job.UID)
	case models.MesiboJobMessage:
		if err = s.ensureSender(ctx); err == nil {
			_, err = s.client.Send(ctx, Message{From: s.from, To: job.Address, Type: noticeType,
				ExpirySeconds: noticeExpiry, Flags: noticeFlags, Forced: true, Body: job.Msg})
			var me *Error
			if errors.As(err, &me) && me.Kind == Rejected {
				// The sender may be gone at mesibo: create it again before
				// the retry rather than dropping every notice.
				s.mu.Lock()
				s.ensure = false
				s.mu.Unlock()
				return delivery.Receipt{HTTPStatus: me.HTTPStatus}, err
			}
		}
	case models.MesiboJobGroupAdd, models.MesiboJobGroupSet, models.MesiboJobGroupEditMembers, models.MesiboJobGroupDel:
		err = s.sendGroupJob(ctx, job)
	default:
		return delivery.Receipt{}, &delivery.PermanentError{Err: fmt.Errorf("mesibo: unknown job %q", job.Op)}
	}
	return receipt(err)
}

// errNoMesiboGroup: a group job whose group's groupadd has not yet run (it
// is retried with the outbox's backoff).
var errNoMesiboGroup = errors.New("mesibo: the group is not made at mesibo yet")

// sendGroupJob makes or changes a group at mesibo. groupadd stores the gid
// mesibo answers; the other jobs wait for it.
func (s *JobSender) sendGroupJob(ctx context.Context, job models.MesiboJob) error {
	if job.Op == models.MesiboJobGroupAdd {
		mgid, err := s.client.AddGroup(ctx, job.Name)
		if err != nil {
			return err
		}
		return s.groups.SetMesiboGID(ctx, job.GID, mgid)
	}
	mgid, err := s.groups.MesiboGID(ctx, job.GID)
	if errors.Is(err, models.ErrNotFound) {
		return &delivery.PermanentError{Err: errors.New("mesibo: the group is gone")}
	}
	if err != nil {
		return err
	}
	if mgid == "" {
		return errNoMesiboGroup
	}
	switch job.Op {
	case models.MesiboJobGroupSet:
		return s.client.SetGroup(ctx, mgid, job.Name)
	case models.MesiboJobGroupEditMembers:
		return s.client.EditGroupMembers(ctx, mgid, job.Members, job.Delete)
	}
	return s.client.DeleteGroup(ctx, mgid)
}

// receipt maps a call's outcome to the outbox's: transient failures are
// retried with backoff (a 429 after its Retry-After), configuration
// failures are held for the operator, refusals are final.
func receipt(err error) (delivery.Receipt, error) {
	var me *Error
	if !errors.As(err, &me) {
		return delivery.Receipt{HTTPStatus: http.StatusOK}, err
	}
	rc := delivery.Receipt{HTTPStatus: me.HTTPStatus}
	switch me.Kind {
	case Config:
		return rc, &delivery.RetryLaterError{Err: err, Hold: true}
	case Rejected:
		return rc, &delivery.PermanentError{Err: err}
	}
	if me.RetryAfter > 0 {
		return rc, &delivery.RetryLaterError{Err: err, After: me.RetryAfter}
	}
	return rc, err
}

// ensureSender creates the notices' sender at mesibo once ("from MUST be a
// valid user"). A refusal of the configured address is a configuration
// failure.
func (s *JobSender) ensureSender(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ensure {
		return nil
	}
	_, err := s.client.EnsureUser(ctx, s.from, s.fromName)
	var me *Error
	if errors.As(err, &me) && me.Kind == Rejected {
		me.Kind = Config
		s.client.Health.fail(me.Op, me)
	}
	if err == nil {
		s.ensure = true
	}
	return err
}

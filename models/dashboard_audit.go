package models

import (
	"context"
	"slices"

	"gorm.io/gorm"
)

// AuditFilter selects audit entries.
type AuditFilter struct {
	Phone  string // E.164
	Actor  string // "admin:alice", "api", "system", or "admin" for every admin
	Type   string
	From   int64 // ms, inclusive; 0 = no bound
	To     int64 // ms, exclusive; 0 = no bound
	Before int64 // keyset: entries with id < Before
	Limit  int
}

// Audit returns entries newest first, one keyset page; next is the cursor
// of the next page (0 on the last).
func (d *Dashboard) Audit(ctx context.Context, f AuditFilter) (entries []AuditEntry, next int64, err error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := d.auditQuery(ctx, f)
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	if err := q.Order("id DESC").Limit(limit + 1).Find(&entries).Error; err != nil {
		return nil, 0, err
	}
	if len(entries) > limit {
		entries = entries[:limit]
		next = entries[limit-1].ID
	}
	return entries, next, nil
}

// CountAudit counts the entries of the filter (its cursor ignored).
func (d *Dashboard) CountAudit(ctx context.Context, f AuditFilter) (int64, error) {
	var n int64
	err := d.auditQuery(ctx, f).Count(&n).Error
	return n, err
}

// EachAudit calls fn for every matching entry, newest first, in batches
// (the CSV export).
func (d *Dashboard) EachAudit(ctx context.Context, f AuditFilter, fn func(AuditEntry) error) error {
	before := int64(0)
	for {
		q := d.auditQuery(ctx, f)
		if before > 0 {
			q = q.Where("id < ?", before)
		}
		var batch []AuditEntry
		if err := q.Order("id DESC").Limit(1000).Find(&batch).Error; err != nil {
			return err
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(batch) < 1000 {
			return nil
		}
		before = batch[len(batch)-1].ID
	}
}

func (d *Dashboard) auditQuery(ctx context.Context, f AuditFilter) *gorm.DB {
	q := d.db.Read.WithContext(ctx).Model(&AuditEntry{})
	if f.Phone != "" {
		q = q.Where("phone = ?", f.Phone)
	}
	switch {
	case f.Actor == "admin":
		q = q.Where("actor >= 'admin:' AND actor < 'admin;'")
	case f.Actor != "":
		q = q.Where("actor = ?", f.Actor)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.From > 0 {
		q = q.Where("at >= ?", f.From)
	}
	if f.To > 0 {
		q = q.Where("at < ?", f.To)
	}
	return q
}

// AuditTypes lists the event types for the audit filter: every type an
// audit entry is written with (TestEveryAuditTypeIsFilterable checks the
// list against the Event constants of this package). It is a fixed list:
// SELECT DISTINCT over the log would read the whole type index (a million
// entries and more) on every page.
func (d *Dashboard) AuditTypes(ctx context.Context) ([]string, error) {
	return auditTypes(), nil
}

func auditTypes() []string {
	ts := []string{
		EventCodeRequested, EventCodeRateLimited, EventCodeSent, EventCodeSendFailed, EventCodeVerified, EventCodeFailed,
		EventPhoneLocked, EventUserCreated, EventTokenIssued, EventTokenRevoked,
		EventSessionEnded, EventAccountDeleted, EventAccountDeletionPending, EventAccountDeletionCancelled, EventAccountExported, EventAccountExportLink, EventPhoneChanged, EventNumberRecycled, EventGroupChanged,
		EventMesiboFailed, EventMesiboRevoked, EventMesiboRevokeFailed, EventSMSRefused,
		EventCodeFallback,
		EventAdminLogin, EventAdminLoginFailed, EventAdminLogout, EventAdminCreated, EventAdminPasswordSet,
		EventAdminRevokeToken, EventAdminRevokeAll, EventAdminBlock, EventAdminUnblock, EventAdminDeleteUser,
		EventAdminResendCode, EventAdminPasswordFail, EventAdminSessionsRevoked,
		EventAdminModerate, EventAdminEditProfile, EventAdminExportUsers, EventAdminExportAudit, EventAdminUnlock, EventAdminCreateUser,
		EventAdminRoleChanged, EventAdminDisabled, EventAdminEnabled, EventAdminSessionEnded, EventAdminPasswordChanged,
		EventAdminCreateGroup, EventAdminRenameGroup, EventAdminGroupMembers, EventAdminGroupRoles, EventAdminDeleteGroup,
		EventCodeHeld, EventAdminFraudRelease, EventAdminFraudSending,
		EventAdmin2FAEnrolled, EventAdmin2FADisabled, EventAdminRecoveryCodeUsed, EventAdmin2FAPolicy,
	}
	slices.Sort(ts)
	return ts
}

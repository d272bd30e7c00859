package models

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// mesibo mode: Roster's groups are made and changed at mesibo too, through
// the outbox's mesibo jobs (sent by web/mesibo's job sender with the
// outbox's retries), queued in the transaction of the change. The group's
// id at mesibo comes back from groupadd and is stored on the group; the
// jobs after it wait for it.

// MesiboGroups reads and stores the ids mesibo gave Roster's groups.
type MesiboGroups struct{ db *DB }

// NewMesiboGroups returns the store of mesibo group ids.
func NewMesiboGroups(db *DB) *MesiboGroups { return &MesiboGroups{db: db} }

// MesiboGID returns the group's id at mesibo ("" while groupadd has not
// run), deleted groups included.
func (m *MesiboGroups) MesiboGID(ctx context.Context, gid int64) (string, error) {
	var g Group
	err := m.db.Read.WithContext(ctx).Select("mesibo_gid").Where("id = ?", gid).Take(&g).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", ErrNotFound
	}
	return g.MesiboGID, err
}

// SetMesiboGID stores the group's id at mesibo.
func (m *MesiboGroups) SetMesiboGID(ctx context.Context, gid int64, mesiboGID string) error {
	return m.db.WriteTx(ctx, func(tx *Tx) error {
		return tx.Model(&Group{}).Where("id = ?", gid).Update("mesibo_gid", mesiboGID).Error
	})
}

// queueMesiboGroupJob writes a group job into the outbox in the change's
// transaction.
func queueMesiboGroupJob(tx *gorm.DB, job MesiboJob, now int64) error {
	body, err := json.Marshal(job)
	if err != nil {
		return err
	}
	return tx.Create(&OutboxMessage{Channel: MesiboChannel, Kind: OutboxKindMesiboGroup, Recipient: "group " + strconv.FormatInt(job.GID, 10),
		Body: string(body), State: OutboxPending, CreatedAt: now, NextAttemptAt: now}).Error
}

// mesiboAddresses are the numbers as mesibo's addresses (digits, as the
// users were created at mesibo).
func mesiboAddresses(phones []string) []string {
	out := make([]string, len(phones))
	for i, p := range phones {
		out[i] = strings.TrimPrefix(p, "+")
	}
	return out
}

// queueMesiboGroupEdit queues what the edit changed at mesibo: the group
// when it is new (groupadd), its name (groupset), the members added and
// those removed (groupeditmembers); a deleted group is one groupdel.
// Roles and photos are Roster's alone.
func queueMesiboGroupEdit(tx *gorm.DB, ed *groupEdit, deleted bool, now int64) error {
	gid := ed.grp.ID
	if deleted {
		return queueMesiboGroupJob(tx, MesiboJob{Op: MesiboJobGroupDel, GID: gid}, now)
	}
	switch {
	case ed.created:
		if err := queueMesiboGroupJob(tx, MesiboJob{Op: MesiboJobGroupAdd, GID: gid, Name: ed.grp.Name}, now); err != nil {
			return err
		}
	case ed.renamed:
		if err := queueMesiboGroupJob(tx, MesiboJob{Op: MesiboJobGroupSet, GID: gid, Name: ed.grp.Name}, now); err != nil {
			return err
		}
	}
	if len(ed.added) > 0 {
		phones := make([]string, len(ed.added))
		for i, m := range ed.added {
			phones[i] = m.Phone
		}
		if err := queueMesiboGroupJob(tx, MesiboJob{Op: MesiboJobGroupEditMembers, GID: gid, Members: mesiboAddresses(phones)}, now); err != nil {
			return err
		}
	}
	if len(ed.removed) > 0 {
		phones := make([]string, 0, len(ed.removed))
		for _, id := range ed.removed {
			phones = append(phones, ed.members[id].Phone)
		}
		return queueMesiboGroupJob(tx, MesiboJob{Op: MesiboJobGroupEditMembers, GID: gid, Members: mesiboAddresses(phones), Delete: true}, now)
	}
	return nil
}

package models

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	"gorm.io/gorm"
)

// An export is served from a short-lived link rather than in the op's
// reply: a browser opens it (the user saves the file), so it carries no
// access token; that is why it is random, kept only as its hash, valid for
// ExportLinkTTL and served once. The document is gathered when the link is
// opened, so it is as fresh as the download.

// ExportLinkTTL is how long an export link may be opened.
const ExportLinkTTL = 15 * time.Minute

// EventAccountExportLink is the audit entry of an export link handed out
// (`exportaccount`); its download is EventAccountExported.
const EventAccountExportLink = "account_export_link"

// ExportLink is a link handed out: its token (in the URL, never stored)
// and when it stops working (unix milliseconds).
type ExportLink struct {
	Token     string
	ExpiresAt int64
}

// accountExport is a row of account_exports: a link handed out.
type accountExport struct {
	TokenHash []byte
	UserID    int64
	CreatedAt int64 `gorm:"autoCreateTime:false"`
	ExpiresAt int64
}

func (accountExport) TableName() string { return "account_exports" }

// NewExportLink hands out a link to the caller's export, replacing any
// older link of theirs (at most one works at a time).
func (a *Accounts) NewExportLink(ctx context.Context, p *Principal, cl ClientInfo) (ExportLink, error) {
	now := toMillis(a.clock.Now())
	token := NewToken()
	link := ExportLink{Token: token, ExpiresAt: now + ExportLinkTTL.Milliseconds()}
	uid := p.User.ID
	err := a.db.WriteTx(ctx, func(tx *Tx) error {
		if err := lockUser(tx.DB, uid); err != nil {
			if errors.Is(err, ErrNotFound) {
				return ErrUnauthenticated // deleted meanwhile
			}
			return err
		}
		if err := tx.Exec("DELETE FROM account_exports WHERE user_id = ?", uid).Error; err != nil {
			return err
		}
		row := accountExport{TokenHash: HashToken(token), UserID: uid, CreatedAt: now, ExpiresAt: link.ExpiresAt}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return audit(tx.DB, apiEntry(now, EventAccountExportLink, p.User.Phone, &uid, cl, "valid for "+ExportLinkTTL.String()+", once"))
	})
	return link, err
}

// OpenExportLink spends the link of this token and returns its user's
// export; ErrNotFound for a token that is unknown, used, expired or
// malformed (the four answer alike). Of two downloads at once only one
// deletes the row and gets the document.
func (a *Accounts) OpenExportLink(ctx context.Context, token string, cl ClientInfo) (*AccountExport, error) {
	if len(token) != 64 {
		return nil, ErrNotFound
	}
	if _, err := hex.DecodeString(token); err != nil {
		return nil, ErrNotFound
	}
	now := toMillis(a.clock.Now())
	uid, err := WriteTx(ctx, a.db, func(tx *Tx) (int64, error) {
		var row struct{ UserID int64 }
		err := tx.Raw("SELECT user_id FROM account_exports WHERE token_hash = ? AND expires_at > ?", HashToken(token), now).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return 0, ErrNotFound
		}
		if err != nil {
			return 0, err
		}
		res := tx.Exec("DELETE FROM account_exports WHERE token_hash = ?", HashToken(token))
		if res.Error != nil {
			return 0, res.Error
		}
		if res.RowsAffected == 0 {
			return 0, ErrNotFound // spent by another download meanwhile
		}
		return row.UserID, nil
	})
	if err != nil {
		return nil, err
	}
	return a.Export(ctx, uid, cl)
}

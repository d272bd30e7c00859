package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// Session is one device's sign-in: it owns one access token, kept only as a hash.
type Session struct {
	ID           int64
	UserID       int64
	TokenHash    []byte
	Device       string
	DeviceType   string
	AppID        string
	IP           string
	UserAgent    string
	NotifyToken  string
	FcmID        string
	NotifyProd   bool
	CreatedAt    int64 `gorm:"autoCreateTime:false"`
	LastUsedAt   int64
	ExpiresAt    int64
	RevokedAt    *int64
	RevokeReason string
	// mesibo mode: the user's mesibo uid, kept so that revoking this
	// session also invalidates its token at mesibo.
	MesiboUID string
	// Push notifications (push.go): when the app set its token, why the
	// token is no longer used (empty: it is), the last push's outcome.
	PushSetAt    int64
	PushDisabled string
	PushResult   string
	PushResultAt int64
	// Country is where the session signed in from, if known (ClientInfo).
	Country string
}

// Revoke reasons recorded on sessions and in the audit log.
const (
	RevokeLogout   = "logout"
	RevokeReplaced = "replaced by a new sign-in on the same device"
	RevokeReissued = "the token issuer handed out the same token again"
)

// ErrUnauthenticated is returned for a missing, unknown, expired or revoked
// token, and for the token of a blocked user. Callers cannot tell which: the
// client's answer is the same (sign in again).
var ErrUnauthenticated = errors.New("unauthenticated")

// HashToken is how tokens are stored and looked up: SHA-256 of the token as
// presented (so tokens issued by mesibo work the same as Roster's own).
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// NewToken returns 256 random bits, hex-encoded (64 characters): the apps'
// access tokens, and the keys `roster keys` and `roster copy` print (past
// the 32 characters a secret from the environment needs, and safe
// unquoted in an environment file).
func NewToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
	return hex.EncodeToString(b[:])
}

// Sessions authenticates tokens and revokes them.
type Sessions struct {
	db    *DB
	clock Clock
	// touchEvery coalesces "last used" updates: a session's row is written at
	// most once per interval, not on every request.
	touchEvery time.Duration
	// onRevoked is told, after commit, of sessions revoked through RevokeToken,
	// the admin revocations, blocks and deletions
	// (live event streams close at once).
	onRevoked func(sessionIDs ...int64)

	authMu sync.Mutex               // held while preparing auth
	auth   atomic.Pointer[sql.Stmt] // authQuery, prepared at first use

	unknown *unknownTokens // nil unless RememberUnknownTokens
}

// RememberUnknownTokens makes the token check remember tokens no session
// has, and refuse them again without a database lookup (unknownTokens).
// Call it while wiring, before serving, and only when Roster issues the
// tokens itself.
func (s *Sessions) RememberUnknownTokens() { s.unknown = &unknownTokens{} }

// OnRevoked sets the function told of revoked sessions after their
// revocation is committed. Call it while wiring, before serving.
func (s *Sessions) OnRevoked(f func(sessionIDs ...int64)) { s.onRevoked = f }

// Live reports whether a session is still valid (not revoked, not expired).
func (s *Sessions) Live(ctx context.Context, sessionID int64) (bool, error) {
	var n int64
	err := s.db.Read.WithContext(ctx).Model(&Session{}).
		Where("id = ? AND revoked_at IS NULL AND expires_at > ?", sessionID, toMillis(s.clock.Now())).Count(&n).Error
	return n > 0, err
}

// NewSessions returns the session store.
func NewSessions(db *DB, clock Clock, touchEvery time.Duration) *Sessions {
	return &Sessions{db: db, clock: clock, touchEvery: touchEvery}
}

// Principal is an authenticated caller: the session (device) the token
// belongs to, and its user.
type Principal struct {
	SessionID int64
	User      User
}

// Authenticate returns the session and user of a token, or ErrUnauthenticated.
func (s *Sessions) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if token == "" || len(token) > 512 {
		return nil, ErrUnauthenticated
	}
	now := s.clock.Now()
	h := HashToken(token)
	if s.unknown.has(h) {
		return nil, ErrUnauthenticated
	}
	sess, u, err := s.lookup(ctx, h)
	if errors.Is(err, sql.ErrNoRows) {
		s.unknown.add(h)
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	if sess.RevokedAt != nil || sess.ExpiresAt <= toMillis(now) || u.BlockedAt(now) {
		return nil, ErrUnauthenticated
	}
	// The "last used" time is worth a short wait for the writer, not the
	// request: the token check is a read, and it answers whether or not the
	// time could be written (the writer busy, or the database refusing
	// writes: a full disk). A later request writes it. Readiness
	// (DB.CheckWritable) is what reports a database that cannot write.
	tctx, cancel := context.WithTimeout(ctx, touchWait)
	_ = s.touch(tctx, &sess, now)
	cancel()
	return &Principal{SessionID: sess.ID, User: u}, nil
}

// authQuery reads a token's session and its user in one statement: of the
// session, only what the token check needs (the rest is the devices page's).
// It runs on database/sql directly, so its placeholder is $1 (both
// dialects read it; PostgreSQL does not read ?).
const authQuery = `SELECT s.id, s.user_id, s.last_used_at, s.expires_at, s.revoked_at,
	u.id, u.phone, u.country_code, u.name, u.status, u.photo, u.thumbnail, u.discoverable, u.announce,
	u.blocked_until, u.created_at, u.profile_at, u.last_seen_at
	FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`

// tokenSession is what the token check reads of a session.
type tokenSession struct {
	ID, UserID            int64
	LastUsedAt, ExpiresAt int64
	RevokedAt             *int64
}

// lookup runs authQuery. Every authenticated request and every unknown
// token comes here, so it is a statement of database/sql prepared once per
// reader connection, scanned into the fields directly: through GORM, the
// scan and the SQL text GORM renders with its values for its logger were a
// sixth of an unknown token's CPU. sql.ErrNoRows: no such token.
//
// On SQLite the query runs without ctx's deadline: with a cancellable
// context the driver starts a goroutine per query to watch it, a fifth of
// an unknown token's cost, for a lookup of microseconds. (The wait for a
// reader connection has no deadline either then; readers are held for
// milliseconds.) On PostgreSQL it keeps the deadline (statementContext).
func (s *Sessions) lookup(ctx context.Context, tokenHash []byte) (tokenSession, User, error) {
	var sess tokenSession
	var u User
	stmt, err := s.authStmt(ctx)
	if err != nil {
		return sess, u, err
	}
	err = stmt.QueryRowContext(s.db.statementContext(ctx), tokenHash).Scan(&sess.ID, &sess.UserID,
		&sess.LastUsedAt, &sess.ExpiresAt, &sess.RevokedAt,
		&u.ID, &u.Phone, &u.CountryCode, &u.Name, &u.Status, &u.Photo, &u.Thumbnail, &u.Discoverable,
		&u.Announce, &u.BlockedUntil, &u.CreatedAt, &u.ProfileAt, &u.LastSeenAt)
	return sess, u, err
}

// authStmt prepares authQuery on the read pool the first time it is needed
// (database/sql then prepares it on each connection as it uses it).
func (s *Sessions) authStmt(ctx context.Context) (*sql.Stmt, error) {
	if st := s.auth.Load(); st != nil {
		return st, nil
	}
	s.authMu.Lock()
	defer s.authMu.Unlock()
	if st := s.auth.Load(); st != nil {
		return st, nil
	}
	pool, err := s.db.Read.DB()
	if err != nil {
		return nil, err
	}
	st, err := pool.PrepareContext(ctx, authQuery)
	if err != nil {
		return nil, err
	}
	s.auth.Store(st)
	return st, nil
}

// touchWait is how long a token check waits for the writer to record use.
const touchWait = 100 * time.Millisecond

// touch records use of the session when the stored time is older than
// touchEvery. The conditions are in the UPDATEs so concurrent requests write
// once. The user's row is written before the session's: the order of every
// transaction that locks both (a block, a deletion, a sign-in lock the user
// and then write sessions), so on PostgreSQL, where transactions run side
// by side, a touch never deadlocks with them. The session's condition goes
// into the user's statement too; two touches at once on PostgreSQL may both
// write the user's time (the same value), only one the session's.
func (s *Sessions) touch(ctx context.Context, sess *tokenSession, now time.Time) error {
	nowMs := toMillis(now)
	if nowMs-sess.LastUsedAt < s.touchEvery.Milliseconds() {
		return nil
	}
	before := nowMs - s.touchEvery.Milliseconds()
	touched, err := WriteTx(ctx, s.db, func(tx *Tx) (bool, error) {
		res := tx.Exec(`UPDATE users SET last_seen_at = ? WHERE id = ?
			AND EXISTS (SELECT 1 FROM sessions WHERE id = ? AND last_used_at < ?)`, nowMs, sess.UserID, sess.ID, before)
		if res.Error != nil || res.RowsAffected == 0 {
			return false, res.Error
		}
		res = tx.Model(&Session{}).Where("id = ? AND last_used_at < ?", sess.ID, before).Update("last_used_at", nowMs)
		return res.RowsAffected == 1, res.Error
	})
	if touched {
		sess.LastUsedAt = nowMs
	}
	return err
}

// RevokeToken revokes the session of this token, if it is live. It reports
// whether a session was revoked.
func (s *Sessions) RevokeToken(ctx context.Context, token, reason string, cl ClientInfo) (bool, error) {
	if token == "" || len(token) > 512 {
		return false, nil
	}
	now := toMillis(s.clock.Now())
	return WriteTx(ctx, s.db, func(tx *Tx) (bool, error) {
		var sess Session
		err := tx.Where("token_hash = ? AND revoked_at IS NULL", HashToken(token)).Take(&sess).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		// Another revocation may have come first since the read (two
		// logouts of one token on two instances): only one audits it and
		// queues its deletion at mesibo.
		if ok, err := revokeSession(tx.DB, &sess, now, reason); err != nil || !ok {
			return false, err
		}
		var phone string
		if err := tx.Model(&User{}).Where("id = ?", sess.UserID).Pluck("phone", &phone).Error; err != nil {
			return false, err
		}
		tx.OnCommit(func() { s.NotifyRevoked(sess.ID) })
		return true, audit(tx.DB, apiEntry(now, EventTokenRevoked, phone, &sess.UserID, cl, reason))
	})
}

// NotifyRevoked tells the OnRevoked function of sessions revoked by a
// committed transaction (live event streams of those sessions close).
func (s *Sessions) NotifyRevoked(ids ...int64) {
	if s.onRevoked != nil && len(ids) > 0 {
		s.onRevoked(ids...)
	}
}

// revokeSession revokes a session read as live, if it still is: the
// condition is in the UPDATE, so of two revocations at once (on PostgreSQL
// the second waits for the first's row lock, then finds it revoked) only
// one reports it, and the hooks (mesibo's deletion) run once.
func revokeSession(tx *gorm.DB, sess *Session, now int64, reason string) (bool, error) {
	res := tx.Model(&Session{}).Where("id = ? AND revoked_at IS NULL", sess.ID).
		// A signed-out device gets no more pushes: its token goes with the session.
		Updates(map[string]any{"revoked_at": now, "revoke_reason": reason, "notify_token": "", "fcm_id": ""})
	if res.Error != nil || res.RowsAffected == 0 {
		return false, res.Error
	}
	sess.RevokedAt = &now
	sess.RevokeReason = reason
	return true, queueMesiboTokenDelete(tx, sess, now)
}

// PushSettings is what `setnotify` stores for a device.
type PushSettings struct {
	NotifyToken string
	FcmID       string
	Prod        bool
	DeviceType  string
}

// SetPush stores the device's push token on its session.
func (s *Sessions) SetPush(ctx context.Context, sessionID int64, p PushSettings) error {
	// Client text: made storable, as a bad byte would fail the update on PostgreSQL.
	updates := map[string]any{"notify_token": truncate(p.NotifyToken, 4096), "fcm_id": truncate(p.FcmID, 4096), "notify_prod": p.Prod}
	if p.DeviceType != "" {
		updates["device_type"] = truncate(p.DeviceType, 64)
	}
	// A new token is used again even where an older one was disabled, and
	// push_set_at tells APNs' "unregistered since" apart from a token set
	// again after it.
	updates["push_disabled"] = ""
	updates["push_set_at"] = toMillis(s.clock.Now())
	return s.db.WriteTx(ctx, func(tx *Tx) error {
		// A token belongs to the last session that set it: the same phone
		// signed in to another account takes it over, and the other
		// account's notices stop going to it.
		// Two sessions setting one token at once on PostgreSQL: the lock
		// makes the second wait, then clear the first's.
		keys := []string{updates["fcm_id"].(string), updates["notify_token"].(string)}
		slices.Sort(keys) // keyed locks in one order
		for _, k := range slices.Compact(keys) {
			if k == "" {
				continue
			}
			if err := lockKey(tx.DB, lockPushToken, k); err != nil {
				return err
			}
		}
		for _, col := range []string{"fcm_id", "notify_token"} {
			v := updates[col].(string)
			if v == "" {
				continue
			}
			if err := tx.Model(&Session{}).Where(col+" = ? AND id <> ?", v, sessionID).Update(col, "").Error; err != nil {
				return err
			}
		}
		return tx.Model(&Session{}).Where("id = ?", sessionID).Updates(updates).Error
	})
}

// createSession issues a token for a user's device inside the sign-in
// transaction: Roster's own, or the issuer's when issued is set. A device
// keeps one session: signing in again on the same device revokes the
// previous one, whose id is returned in replaced. The caller holds the
// user's row lock (completeSignInWith), or made the user in tx.
func createSession(tx *gorm.DB, user *User, cl ClientInfo, now time.Time, ttl time.Duration, issued *issuedSession) (sess *Session, token string, replaced []int64, err error) {
	nowMs := toMillis(now)
	if issued != nil {
		token = issued.token
		// An issuer may hand out a token it gave before: the older session
		// row with it is retired (its hash scrambled, so the new row can take
		// the hash) without queuing a deletion at the issuer, which would
		// kill the token being handed out.
		if err := tx.Model(&Session{}).Where("token_hash = ?", HashToken(token)).
			Updates(map[string]any{"token_hash": HashToken("superseded:" + token + ":" + strconv.FormatInt(nowMs, 10)),
				"revoked_at": nowMs, "revoke_reason": RevokeReissued}).Error; err != nil {
			return nil, "", nil, err
		}
	}
	if cl.Device != "" {
		var old []Session
		if err := tx.Where("user_id = ? AND device = ? AND revoked_at IS NULL", user.ID, cl.Device).Find(&old).Error; err != nil {
			return nil, "", nil, err
		}
		for i := range old {
			if ok, err := revokeSession(tx, &old[i], nowMs, RevokeReplaced); err != nil || !ok {
				if err != nil {
					return nil, "", nil, err
				}
				continue // revoked meanwhile (a logout of that token)
			}
			if err := audit(tx, apiEntry(nowMs, EventTokenRevoked, user.Phone, &user.ID, cl, RevokeReplaced)); err != nil {
				return nil, "", nil, err
			}
			replaced = append(replaced, old[i].ID)
		}
	}
	if issued == nil {
		token = NewToken()
	}
	sess = &Session{
		UserID: user.ID, TokenHash: HashToken(token),
		Device: truncate(cl.Device, 256), DeviceType: truncate(cl.DeviceType, 64), AppID: truncate(cl.AppID, 256),
		IP: cl.IP, UserAgent: truncate(cl.UserAgent, 512), Country: CleanCountry(cl.Country),
		CreatedAt: nowMs, LastUsedAt: nowMs, ExpiresAt: toMillis(now.Add(ttl)),
	}
	if issued != nil {
		sess.MesiboUID = issued.uid
	}
	if err := tx.Create(sess).Error; err != nil {
		return nil, "", nil, err
	}
	return sess, token, replaced, nil
}

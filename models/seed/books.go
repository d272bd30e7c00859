package seed

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"slices"
	"strings"

	"roster/models"
)

// writeBooks gives address books to users 2..Books+1 (user 1 is the popular
// user), with each owner's sync history: the upload of the book, then the
// small incremental syncs an app makes as its address book changes. The
// first Popular books also hold Joiner and user 1.
func (w *seedWorld) writeBooks(ctx context.Context, conn *sql.Conn, hasher *models.PhoneHasher, userHashes, otherHashes [][]byte, prog *seedProgress, st *Stats) error {
	cfg := w.cfg
	joiner := hasher.Hash(Joiner)
	const booksPerTx = 200
	for lo := 0; lo < cfg.Books; lo += booksPerTx {
		err := seedTx(ctx, conn, func(tx *sql.Tx) error {
			ins, err := newMultiInsert(ctx, tx, "INSERT OR IGNORE INTO address_book (owner_id, contact_hash) VALUES ", "(?,?)", 2, 500)
			if err != nil {
				return err
			}
			syncs, err := newMultiInsert(ctx, tx, `INSERT INTO contact_syncs (user_id, at, kind, reset, received, valid,
				new_numbers, matched, duration_us) VALUES `, "(?,?,?,?,?,?,?,?,?)", 9, 100)
			if err != nil {
				return err
			}
			for b := lo; b < min(lo+booksPerTx, cfg.Books); b++ {
				owner := b + 2
				// The book's generator is the same as before the sync
				// history existed, so benchmarks keep their figures.
				rng := rand.New(rand.NewPCG(cfg.RandSeed, uint64(owner)))
				size := cfg.BookMin + rng.IntN(cfg.BookMax-cfg.BookMin+1)
				book := make([][]byte, 0, size+2)
				users := 0
				for range size {
					if rng.Float64() < cfg.UserShare {
						book = append(book, userHashes[rng.IntN(len(userHashes))])
						users++
					} else {
						book = append(book, otherHashes[rng.IntN(len(otherHashes))])
					}
				}
				if b < cfg.Popular {
					book = append(book, joiner, userHashes[0])
					users++
				}
				slices.SortFunc(book, func(x, y []byte) int { return strings.Compare(string(x), string(y)) })
				for _, h := range book {
					if err := ins.add(ctx, owner, h); err != nil {
						return err
					}
				}
				n, err := w.syncHistory(ctx, rand.New(rand.NewPCG(cfg.RandSeed, uint64(owner)<<20|13)), owner, len(book), users, syncs)
				if err != nil {
					return err
				}
				st.Syncs += n
			}
			prog.add(min(booksPerTx, cfg.Books-lo))
			if err := syncs.flush(ctx); err != nil {
				return err
			}
			return ins.flush(ctx)
		})
		if err != nil {
			return err
		}
	}
	prog.finish()
	return nil
}

// syncHistory writes an owner's syncs: the upload (when they joined, or a
// reinstall this month uploading the book again with reset), then up to
// eight incremental syncs of a few numbers until they were last seen.
func (w *seedWorld) syncHistory(ctx context.Context, rng *rand.Rand, owner, size, users int, ins *multiInsert) (int64, error) {
	created, seen := w.created[owner-1], w.seen[owner-1]
	upload, reset := created, 0
	if created < w.window {
		upload, reset = between(rng, w.window, max(w.window, seen)), 1
	}
	if seen == 0 || upload > w.now {
		upload = min(created, w.now)
	}
	matched := users * 96 / 100 // a few matched users are not discoverable
	err := ins.add(ctx, owner, upload, "upload", reset, size+rng.IntN(size/20+1), size, size, matched, 4_000+size*20+rng.IntN(8_000))
	if err != nil {
		return 0, err
	}
	n := int64(1)
	if seen <= upload {
		return n, nil
	}
	for range rng.IntN(9) {
		at := between(rng, upload, seen)
		got := rng.IntN(4)
		if err := ins.add(ctx, owner, at, "incremental", 0, got, got, got, rng.IntN(got+1), 300+rng.IntN(2_500)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

package models

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"gorm.io/gorm"
)

// The writer: SQLite has one writer at a time, so every write transaction
// goes through one goroutine that owns the write connection. Transactions
// that arrive while one is running wait in arrival order; when it is done the
// writer takes all that are waiting (up to maxWriteBatch) and commits them
// together: each runs inside a savepoint of one SQLite transaction, so a
// failing one is undone alone, and the others share one commit. Under load
// that is one WAL append for pages that separate commits would each write
// again (the tails of the audit log, the sync records, the sessions), and
// one BEGIN and COMMIT for many. Alone, a transaction commits at once: no
// batching delay is ever waited for.

// maxWriteBatch bounds how many transactions share one commit, so the first
// of a batch does not wait long for the others before its commit.
const maxWriteBatch = 32

// errClosed answers writes asked for after Close.
var errClosed = errors.New("the database is closed")

// A write job's state: it is taken by the writer or abandoned by its caller
// (whose deadline passed while it waited), never both.
const (
	jobWaiting int32 = iota
	jobTaken
	jobAbandoned
)

type writeJob struct {
	ctx   context.Context
	fn    func(tx *Tx) error
	state atomic.Int32
	done  chan error // buffered: the writer never waits for the caller
}

// Tx is one write transaction: its statements go through the embedded
// *gorm.DB, and OnCommit keeps what must happen only once they are stored.
type Tx struct {
	*gorm.DB
	onCommit []func()
}

// OnCommit runs f after the transaction is committed, in the caller of
// WriteTx, once; never when it is undone (an error, a savepoint rolled back
// in SQLite's shared commit, a COMMIT that failed, a commit into a file
// deleted under the server), nor for a run that PostgreSQL started again:
// only the hooks of the run that committed are kept. Effects outside the
// database (a wake-up, a notice to another process) go here, so that none
// announces a change that was not stored.
func (t *Tx) OnCommit(f func()) {
	t.onCommit = append(t.onCommit, f)
}

// WriteTx runs fn in a write transaction and returns fn's result once the
// transaction is committed (the zero T and the error otherwise), then runs
// the hooks fn registered with tx.OnCommit. Every write goes through it.
// fn may run more than once (PostgreSQL runs a transaction that lost a
// race again): its answer is its return value, never a variable it assigns
// outside, so that a run that was undone leaves nothing behind.
//
// On SQLite fn runs on the writer, after the write transactions that asked
// before it, possibly inside a savepoint of a commit shared with them.
// Waiting ends with ctx (its deadline is the request's): the error is then
// ctx's, and nothing was run. Once started, fn's statements are not
// interrupted by ctx: an interrupted statement makes SQLite roll back the
// whole transaction, which fn may share with others. On PostgreSQL there is
// no writer goroutine: fn runs in a transaction of its own at once
// (writePostgres).
func WriteTx[T any](ctx context.Context, d *DB, fn func(tx *Tx) (T, error)) (T, error) {
	var result T
	var committed *Tx
	run := func(tx *Tx) error {
		v, err := fn(tx)
		result, committed = v, tx // each run replaces what an undone one left
		return err
	}
	var err error
	if d.dialect == dialectPostgres {
		err = d.writePostgres(ctx, run)
	} else {
		err = d.writeSQLite(ctx, run)
	}
	if err != nil {
		var zero T
		return zero, err
	}
	for _, f := range committed.onCommit {
		f()
	}
	return result, nil
}

// WriteTx is WriteTx[T] for a write that answers nothing but its error.
func (d *DB) WriteTx(ctx context.Context, fn func(tx *Tx) error) error {
	_, err := WriteTx(ctx, d, func(tx *Tx) (struct{}, error) { return struct{}{}, fn(tx) })
	return err
}

// writeSQLite hands fn to the writer and waits for its outcome.
func (d *DB) writeSQLite(ctx context.Context, fn func(tx *Tx) error) error {
	job := &writeJob{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case d.writes <- job:
	case <-ctx.Done():
		return ctx.Err()
	case <-d.closed:
		return errClosed
	}
	select {
	case err := <-job.done:
		return err
	case <-ctx.Done():
		if job.state.CompareAndSwap(jobWaiting, jobAbandoned) {
			return ctx.Err()
		}
		return <-job.done // already running: its outcome is the answer
	}
}

// runWriter takes write jobs until Close.
func (d *DB) runWriter() {
	batch := make([]*writeJob, 0, maxWriteBatch)
	for {
		select {
		case job := <-d.writes:
			batch = append(batch[:0], job)
		case <-d.closed:
			return
		}
	collect:
		for len(batch) < maxWriteBatch {
			select {
			case job := <-d.writes:
				batch = append(batch, job)
			default:
				break collect
			}
		}
		d.runBatch(batch)
	}
}

// runBatch runs the jobs still wanted in one transaction and answers each.
// The transaction begins before the jobs are taken: while the connection is
// busy elsewhere (ANALYZE, a tool), their callers can still give up.
func (d *DB) runBatch(batch []*writeJob) {
	tx := d.Write.Begin()
	jobs := batch[:0]
	for _, j := range batch {
		if j.state.CompareAndSwap(jobWaiting, jobTaken) {
			jobs = append(jobs, j)
		}
	}
	errs := make([]error, len(jobs))
	answer := func() {
		for i, j := range jobs {
			j.done <- errs[i]
		}
	}
	if tx.Error != nil {
		for i := range errs {
			errs[i] = tx.Error
		}
		answer()
		return
	}
	if len(jobs) == 0 {
		tx.Rollback()
		return
	}
	shared := len(jobs) > 1
	for i, j := range jobs {
		if errs[i] = j.ctx.Err(); errs[i] != nil {
			continue // its deadline passed while the jobs before it ran
		}
		var usable bool
		usable, errs[i] = runJob(tx, j, shared)
		if !usable {
			// The savepoint could not be rolled back to: SQLite ended the
			// transaction itself (a full disk, an I/O error). Nothing of
			// this batch is stored; every job is told why.
			tx.Rollback()
			for k := range errs {
				if k != i {
					errs[k] = fmt.Errorf("the write transaction was ended by an error of another write: %w", errs[i])
				}
			}
			answer()
			return
		}
	}
	if !shared && errs[0] != nil {
		tx.Rollback()
		answer()
		return
	}
	err := tx.Commit().Error
	if err == nil {
		// One stat a commit: a file deleted or replaced under the server
		// took this commit with it, and its callers must not be told OK.
		err = d.file.lost()
	}
	if err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	answer()
}

// runJob runs one job's fn inside the transaction; when the transaction is
// shared, inside a savepoint rolled back if fn fails. usable is false when
// the savepoint could not be rolled back to (SQLite ended the transaction).
func runJob(tx *gorm.DB, j *writeJob, shared bool) (usable bool, err error) {
	if shared {
		if err := tx.Exec("SAVEPOINT write_job").Error; err != nil {
			return false, err
		}
	}
	err = callJob(&Tx{DB: tx.WithContext(context.WithoutCancel(j.ctx))}, j.fn)
	if !shared {
		return true, err
	}
	if err != nil {
		if rerr := tx.Exec("ROLLBACK TO write_job").Error; rerr != nil {
			return false, err
		}
	}
	if rerr := tx.Exec("RELEASE write_job").Error; rerr != nil {
		return false, errors.Join(err, rerr)
	}
	return true, err
}

// callJob calls fn, turning a panic into an error: the writer goroutine
// must outlive a bug in one transaction.
func callJob(tx *Tx, fn func(tx *Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write transaction panicked: %v", r)
		}
	}()
	return fn(tx)
}

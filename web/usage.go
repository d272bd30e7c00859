package web

import "errors"

// ErrUsage marks a command line that a subcommand cannot run as given (an
// unknown flag or action, a missing or extra argument, a bad flag value):
// roster exits 2 for it, and 1 when the work itself fails.
var ErrUsage = errors.New("usage error")

// MarkUsage marks err as ErrUsage, keeping its message.
func MarkUsage(err error) error { return usageMarked{err} }

type usageMarked struct{ err error }

func (u usageMarked) Error() string   { return u.err.Error() }
func (u usageMarked) Unwrap() []error { return []error{u.err, ErrUsage} }

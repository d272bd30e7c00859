package dbcopy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The second half of roster copy: every copied row read back from both
// databases, in key order, and compared.

// verify reads every row of the table from both sides, in key order, and
// compares them column by column (contact_json included: the destination's
// trigger must have rendered the same bytes).
func (t *copyTable) verify(ctx context.Context, src, dst *sql.DB, progress func(Progress)) error {
	start := time.Now()
	srcCols, dstCols, srcKeys := make([]string, len(t.columns)), make([]string, len(t.columns)), make([]string, len(t.key))
	for i, c := range t.columns {
		srcCols[i], dstCols[i] = quoteSQLite(c), pgx.Identifier{c}.Sanitize()
	}
	for i, k := range t.key {
		srcKeys[i] = quoteSQLite(k)
	}
	a, err := src.QueryContext(ctx, "SELECT "+strings.Join(srcCols, ", ")+" FROM "+quoteSQLite(t.name)+" ORDER BY "+strings.Join(srcKeys, ", "))
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := dst.QueryContext(ctx, "SELECT "+strings.Join(dstCols, ", ")+" FROM "+pgx.Identifier{t.name}.Sanitize()+" ORDER BY "+t.pgKeyOrder(false))
	if err != nil {
		return err
	}
	defer b.Close()
	var n int64
	for {
		moreA, moreB := a.Next(), b.Next()
		if !moreA || !moreB {
			if moreA || moreB {
				return fmt.Errorf("the copy has %s rows than the source after %d equal rows", map[bool]string{true: "fewer", false: "more"}[moreA], n)
			}
			break
		}
		ra, err := scanRow(a, len(t.columns))
		if err != nil {
			return err
		}
		rb, err := scanRow(b, len(t.columns))
		if err != nil {
			return err
		}
		for i := range ra {
			va, err := toPostgres(ra[i], t.types[i])
			if err != nil {
				return err
			}
			if copyText(va) != copyText(rb[i]) {
				return fmt.Errorf("row %d (key %v) differs in column %s", n+1, t.keyOf(rb), t.columns[i])
			}
		}
		n++
		if progress != nil && n%copyBatch == 0 {
			progress(Progress{Stage: "verify", Table: t.name, Done: n, TableElapsed: time.Since(start)})
		}
	}
	if err := errors.Join(a.Err(), b.Err()); err != nil {
		return err
	}
	if progress != nil {
		progress(Progress{Stage: "verify", Table: t.name, Done: n, Total: n, TableElapsed: time.Since(start)})
	}
	return nil
}

func scanRow(rows *sql.Rows, n int) ([]any, error) {
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	return vals, rows.Scan(ptrs...)
}

// copyText is a value as comparable text: bytes in hex, NULL apart from
// any text.
func copyText(v any) string {
	switch x := v.(type) {
	case nil:
		return "\x00NULL"
	case []byte:
		return fmt.Sprintf("bytes:%x", x)
	case string:
		return "text:" + x
	default:
		return fmt.Sprintf("%T:%v", x, x)
	}
}

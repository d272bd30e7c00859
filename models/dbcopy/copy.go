// Package dbcopy makes copies of a deployment's database: roster backup's
// consistent copy of a SQLite file, and roster copy's move of a SQLite
// database into PostgreSQL with its verification.
package dbcopy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"roster/models"
)

// Copying a SQLite deployment into an empty PostgreSQL database (roster
// copy). Every table is copied in the order its foreign keys need, in
// batches walked by primary key, each batch one COPY in its own
// transaction: an interrupted copy resumes after the last key the
// destination holds. Identity sequences are moved past the copied ids, and
// every row is then read back from both sides and compared. The tables
// that PostgreSQL's triggers and migrations fill themselves (the name-search
// grams and their tables) are not copied; contact_json is recomputed by the
// trigger and compared like any column.

// copySkipped are the tables a migration or a trigger fills on the
// destination.
func copySkipped() []string {
	return []string{"schema_migrations", "name_gram_positions", "name_fold_map", "user_name_grams", "write_probe"}
}

// copyBatch is the rows one COPY carries.
const copyBatch = 5000

// Progress is told of each batch copied or compared.
type Progress struct {
	Stage        string // "copy" or "verify"
	Table        string
	Done, Total  int64
	TableElapsed time.Duration
}

// copyMarker is the destination's table naming the source of a copy under
// way, so a rerun resumes only the same copy; it is dropped once the copy
// is verified.
const copyMarker = "roster_copy_in_progress"

// ToPostgres copies the SQLite database src (stopped, or a backup) into
// the PostgreSQL database dst, which must be empty (migrated, no rows) or
// hold an unfinished copy of the same source. sourceName identifies the
// source (its absolute path) for that check.
func ToPostgres(ctx context.Context, src, dst *models.DB, sourceName string, progress func(Progress)) error {
	if src.Postgres() || !dst.Postgres() {
		return errors.New("copy goes from a SQLite database to a PostgreSQL one")
	}
	srcSQL, err := src.Read.DB()
	if err != nil {
		return err
	}
	dstSQL, err := dst.BulkLoadPool()
	if err != nil {
		return err
	}
	tables, err := copyTables(ctx, srcSQL, dstSQL)
	if err != nil {
		return err
	}
	if err := claimDestination(ctx, dstSQL, tables, sourceName); err != nil {
		return err
	}
	for _, t := range tables {
		if err := t.copy(ctx, srcSQL, dstSQL, progress); err != nil {
			return fmt.Errorf("copy %s: %w", t.name, err)
		}
	}
	// Statistics for the planner now, not when autovacuum gets to the
	// tables: without them the first hour of the new deployment runs
	// contact syncs on plans for empty tables (a delta sync took 140 ms
	// instead of 5).
	names := []string{pgx.Identifier{"user_name_grams"}.Sanitize()} // filled by the trigger
	for _, t := range tables {
		names = append(names, pgx.Identifier{t.name}.Sanitize())
	}
	if _, err := dstSQL.ExecContext(ctx, "ANALYZE "+strings.Join(names, ", ")); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	for _, t := range tables {
		if err := t.verify(ctx, srcSQL, dstSQL, progress); err != nil {
			return fmt.Errorf("verify %s: %w", t.name, err)
		}
	}
	_, err = dstSQL.ExecContext(ctx, "DROP TABLE "+copyMarker)
	return err
}

// copyTable is one table: its columns as the destination has them (without
// generated ones) and its primary key.
type copyTable struct {
	name    string
	columns []string
	types   []string // PostgreSQL data_type of each column
	key     []string
	refs    []string // tables its foreign keys point to
}

// copyTables lists the source's tables in foreign-key order, with the
// destination's columns.
func copyTables(ctx context.Context, src, dst *sql.DB) ([]*copyTable, error) {
	names, err := models.QueryStrings(ctx, src, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var tables []*copyTable
	for _, name := range names {
		if slices.Contains(copySkipped(), name) {
			continue
		}
		t := &copyTable{name: name}
		rows, err := dst.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position`, name)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c, typ string
			if err := rows.Scan(&c, &typ); err != nil {
				rows.Close()
				return nil, err
			}
			t.columns, t.types = append(t.columns, c), append(t.types, typ)
		}
		// A read that fails part-way ends the loop like the last row does:
		// without this check the table would be copied with the columns
		// read so far and the others left empty.
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("the destination's columns of %s: %w", name, err)
		}
		if len(t.columns) == 0 {
			return nil, fmt.Errorf("the destination has no table %s: is it migrated by this version of Roster?", name)
		}
		if t.key, err = models.QueryStrings(ctx, src, `SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`, name); err != nil {
			return nil, err
		}
		if len(t.key) == 0 {
			return nil, fmt.Errorf("table %s has no primary key to copy it by", name)
		}
		if t.refs, err = models.QueryStrings(ctx, src, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, name); err != nil {
			return nil, err
		}
		tables = append(tables, t)
	}
	return foreignKeyOrder(tables)
}

// foreignKeyOrder puts every table after the tables it references.
func foreignKeyOrder(tables []*copyTable) ([]*copyTable, error) {
	var out []*copyTable
	placed := map[string]bool{}
	for len(out) < len(tables) {
		progress := false
		for _, t := range tables {
			if placed[t.name] {
				continue
			}
			ready := true
			for _, r := range t.refs {
				if r != t.name && !placed[r] {
					ready = false
				}
			}
			if ready {
				out, placed[t.name], progress = append(out, t), true, true
			}
		}
		if !progress {
			return nil, errors.New("the tables' foreign keys form a cycle")
		}
	}
	return out, nil
}

// claimDestination checks that the destination is empty, or holds an
// unfinished copy of the same source, and marks it as a copy of source.
func claimDestination(ctx context.Context, dst *sql.DB, tables []*copyTable, source string) error {
	var marked sql.NullString
	err := dst.QueryRowContext(ctx, "SELECT to_regclass($1)::text", copyMarker).Scan(&marked)
	if err != nil {
		return err
	}
	if marked.Valid {
		var from string
		if err := dst.QueryRowContext(ctx, "SELECT source FROM "+copyMarker).Scan(&from); err != nil {
			return err
		}
		if from != source {
			return fmt.Errorf("the destination holds an unfinished copy of %s, not of %s", from, source)
		}
		return nil // resume
	}
	for _, t := range tables {
		var any bool
		if err := dst.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM "+pgx.Identifier{t.name}.Sanitize()+")").Scan(&any); err != nil {
			return err
		}
		if any {
			return fmt.Errorf("the destination is not empty (table %s has rows): copy into a new, empty database", t.name)
		}
	}
	if _, err := dst.ExecContext(ctx, "CREATE TABLE "+copyMarker+" (source TEXT NOT NULL, started_at BIGINT NOT NULL)"); err != nil {
		return err
	}
	_, err = dst.ExecContext(ctx, "INSERT INTO "+copyMarker+" (source, started_at) VALUES ($1, $2)", source, time.Now().UnixMilli())
	return err
}

// copy copies the rows the destination does not hold yet, batch by batch.
func (t *copyTable) copy(ctx context.Context, src, dst *sql.DB, progress func(Progress)) error {
	start := time.Now()
	var total int64
	if err := src.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteSQLite(t.name)).Scan(&total); err != nil {
		return err
	}
	last, err := t.lastCopiedKey(ctx, dst)
	if err != nil {
		return err
	}
	var done int64
	if last != nil {
		if err := dst.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+pgx.Identifier{t.name}.Sanitize()).Scan(&done); err != nil {
			return err
		}
	}
	for {
		batch, err := t.readBatch(ctx, src, last)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		if err := t.writeBatch(ctx, dst, batch); err != nil {
			return err
		}
		done += int64(len(batch))
		last = t.keyOf(batch[len(batch)-1])
		if progress != nil {
			progress(Progress{Stage: "copy", Table: t.name, Done: done, Total: total, TableElapsed: time.Since(start)})
		}
	}
	return t.moveIdentity(ctx, dst)
}

// lastCopiedKey is the largest key the destination holds (nil: none).
func (t *copyTable) lastCopiedKey(ctx context.Context, dst *sql.DB) ([]any, error) {
	keys := make([]string, len(t.key))
	for i, k := range t.key {
		keys[i] = pgx.Identifier{k}.Sanitize()
	}
	row := dst.QueryRowContext(ctx, "SELECT "+strings.Join(keys, ", ")+" FROM "+pgx.Identifier{t.name}.Sanitize()+
		" ORDER BY "+t.pgKeyOrder(true)+" LIMIT 1")
	key := make([]any, len(t.key))
	ptrs := make([]any, len(t.key))
	for i := range key {
		ptrs[i] = &key[i]
	}
	if err := row.Scan(ptrs...); errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return key, nil
}

// readBatch reads the next rows after the key last, in key order, converted
// to the destination's column types.
func (t *copyTable) readBatch(ctx context.Context, src *sql.DB, last []any) ([][]any, error) {
	cols := make([]string, len(t.columns))
	for i, c := range t.columns {
		cols[i] = quoteSQLite(c)
	}
	keys := make([]string, len(t.key))
	marks := make([]string, len(t.key))
	for i, k := range t.key {
		keys[i], marks[i] = quoteSQLite(k), "?"
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + quoteSQLite(t.name)
	args := []any{}
	if last != nil {
		q += " WHERE (" + strings.Join(keys, ", ") + ") > (" + strings.Join(marks, ", ") + ")"
		args = append(args, last...)
	}
	q += " ORDER BY " + strings.Join(keys, ", ") + fmt.Sprintf(" LIMIT %d", copyBatch)
	rows, err := src.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var batch [][]any
	for rows.Next() {
		vals := make([]any, len(t.columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			if vals[i], err = toPostgres(v, t.types[i]); err != nil {
				return nil, fmt.Errorf("column %s: %w", t.columns[i], err)
			}
		}
		batch = append(batch, vals)
	}
	return batch, rows.Err()
}

// toPostgres converts a value read from SQLite to the destination column's
// type (SQLite keeps flags as integers and may return text as bytes).
func toPostgres(v any, pgType string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch pgType {
	case "boolean":
		n, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("%T where a 0/1 flag was expected", v)
		}
		return n != 0, nil
	case "text":
		if b, ok := v.([]byte); ok {
			return string(b), nil
		}
	case "bytea":
		if s, ok := v.(string); ok {
			return []byte(s), nil
		}
	case "double precision":
		if n, ok := v.(int64); ok {
			return float64(n), nil
		}
	}
	return v, nil
}

// writeBatch writes rows with one COPY in a transaction of its own.
func (t *copyTable) writeBatch(ctx context.Context, dst *sql.DB, batch [][]any) error {
	return models.OnPgxConn(ctx, dst, func(pc *pgx.Conn) error {
		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, pgx.CopyFromRows(batch)); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}

// keyOf is the key of a row read by readBatch.
func (t *copyTable) keyOf(row []any) []any {
	key := make([]any, len(t.key))
	for i, k := range t.key {
		key[i] = row[slices.Index(t.columns, k)]
	}
	return key
}

// pgKeyOrder is the key's ORDER BY on the destination, in SQLite's order:
// text compared byte by byte (COLLATE "C"), whatever the database's locale.
func (t *copyTable) pgKeyOrder(desc bool) string {
	parts := make([]string, len(t.key))
	for i, k := range t.key {
		parts[i] = pgx.Identifier{k}.Sanitize()
		if t.types[slices.Index(t.columns, k)] == "text" {
			parts[i] += ` COLLATE "C"`
		}
		if desc {
			parts[i] += " DESC"
		}
	}
	return strings.Join(parts, ", ")
}

// moveIdentity sets an identity column's sequence past the copied ids, so
// that the next row PostgreSQL numbers does not collide.
func (t *copyTable) moveIdentity(ctx context.Context, dst *sql.DB) error {
	var seq sql.NullString
	if !slices.Contains(t.columns, "id") {
		return nil
	}
	if err := dst.QueryRowContext(ctx, "SELECT pg_get_serial_sequence($1, 'id')", t.name).Scan(&seq); err != nil || !seq.Valid {
		return err
	}
	_, err := dst.ExecContext(ctx, "SELECT setval($1, (SELECT COALESCE(MAX(id), 0) + 1 FROM "+pgx.Identifier{t.name}.Sanitize()+"), false)", seq.String)
	return err
}

// quoteSQLite quotes an identifier for SQLite.
func quoteSQLite(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

package dbcopy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"roster/models/pgtest"
)

// cutConn fails its reads once the shared budget of bytes is spent (a
// negative budget is unlimited): a connection that drops in the middle of a
// result.
type cutConn struct {
	net.Conn
	budget *atomic.Int64
}

func (c cutConn) Read(p []byte) (int, error) {
	left := c.budget.Load()
	if left < 0 {
		return c.Conn.Read(p)
	}
	if left == 0 {
		return 0, errors.New("connection cut by the test")
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := c.Conn.Read(p)
	c.budget.Add(-int64(n))
	return n, err
}

// A destination whose answer breaks off while its columns are listed stops
// the copy, instead of copying the table with the columns read so far.
func TestCopyTablesColumnListCut(t *testing.T) {
	ctx := context.Background()
	src, err := sql.Open("sqlite3", filepath.Join(t.TempDir(), "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	if _, err := src.Exec(`CREATE TABLE wide (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}

	cfg, err := pgx.ParseConfig(pgtest.Fresh(t))
	if err != nil {
		t.Fatal(err)
	}
	var budget atomic.Int64
	budget.Store(-1)
	dialer := &net.Dialer{}
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		return cutConn{Conn: c, budget: &budget}, err
	}
	dst := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { dst.Close() })
	dst.SetMaxOpenConns(1)
	// Columns enough that their list is several reads long.
	cols := make([]string, 300)
	for i := range cols {
		cols[i] = fmt.Sprintf("a_column_with_a_long_name_%03d text", i)
	}
	if _, err := dst.Exec("CREATE TABLE wide (id bigint PRIMARY KEY, " + strings.Join(cols, ", ") + ")"); err != nil {
		t.Fatal(err)
	}

	tables, err := copyTables(ctx, src, dst)
	if err != nil || len(tables) != 1 || len(tables[0].columns) != 301 {
		t.Fatalf("whole connection: %v, %v", tables, err)
	}
	budget.Store(4000)
	if tables, err := copyTables(ctx, src, dst); err == nil {
		t.Fatalf("the cut list was taken for the table's columns: %d of 301", len(tables[0].columns))
	}
}

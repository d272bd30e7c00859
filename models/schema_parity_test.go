package models

import (
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"
)

// column is one column as both databases describe it, reduced to what must
// agree: a type class and whether NULL is allowed.
type column struct {
	class   string // integer, text, blob, real
	notNull bool
}

// sqliteClass is the class of a declared SQLite type, by SQLite's own
// affinity rules (INT anywhere: integer; CHAR, CLOB, TEXT: text; BLOB: blob).
func sqliteClass(declared string) string {
	d := strings.ToUpper(declared)
	switch {
	case strings.Contains(d, "INT"):
		return "integer"
	case strings.Contains(d, "CHAR"), strings.Contains(d, "CLOB"), strings.Contains(d, "TEXT"):
		return "text"
	case strings.Contains(d, "BLOB"):
		return "blob"
	default:
		return "real"
	}
}

// postgresClass is the class of a PostgreSQL type. BOOLEAN is an integer:
// SQLite stores the Go models' bools as 0 and 1.
func postgresClass(dataType string) string {
	switch dataType {
	case "bigint", "integer", "smallint", "boolean":
		return "integer"
	case "text", "character varying":
		return "text"
	case "bytea":
		return "blob"
	case "double precision", "real":
		return "real"
	}
	return "unknown: " + dataType
}

func sqliteSchema(t *testing.T, g *gorm.DB) (map[string]map[string]column, []string) {
	t.Helper()
	var tables []string
	if err := g.Raw(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	schema := map[string]map[string]column{}
	for _, table := range tables {
		var cols []struct {
			Name    string
			Type    string
			NotNull bool
			PK      int
		}
		// table_xinfo, not table_info: it lists generated columns too.
		if err := g.Raw(`SELECT name, type, "notnull" AS not_null, pk FROM pragma_table_xinfo(?)`, table).Scan(&cols).Error; err != nil {
			t.Fatal(err)
		}
		schema[table] = map[string]column{}
		for _, c := range cols {
			// A primary key column never holds NULL (INTEGER PRIMARY KEY is
			// the rowid), though SQLite reports it nullable.
			schema[table][c.Name] = column{class: sqliteClass(c.Type), notNull: c.NotNull || c.PK > 0}
		}
	}
	var indexes []string
	if err := g.Raw(`SELECT name FROM sqlite_schema WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'`).Scan(&indexes).Error; err != nil {
		t.Fatal(err)
	}
	return schema, indexes
}

func postgresSchema(t *testing.T, g *gorm.DB) (map[string]map[string]column, []string) {
	t.Helper()
	var cols []struct {
		TableName  string
		ColumnName string
		DataType   string
		IsNullable string
	}
	if err := g.Raw(`SELECT c.table_name, c.column_name, c.data_type, c.is_nullable
		FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'`).Scan(&cols).Error; err != nil {
		t.Fatal(err)
	}
	schema := map[string]map[string]column{}
	for _, c := range cols {
		if schema[c.TableName] == nil {
			schema[c.TableName] = map[string]column{}
		}
		schema[c.TableName][c.ColumnName] = column{class: postgresClass(c.DataType), notNull: c.IsNullable == "NO"}
	}
	var indexes []string
	if err := g.Raw(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()`).Scan(&indexes).Error; err != nil {
		t.Fatal(err)
	}
	return schema, indexes
}

// Every table and column of one database is in the other, with the same
// type class and nullability, and every index SQLite names exists on
// PostgreSQL (which adds its own for primary keys and UNIQUE).
func TestPostgresSchemaMatchesSQLite(t *testing.T) {
	t.Parallel()
	lite, liteIndexes := sqliteSchema(t, testDB(t).Read)
	pg, pgIndexes := postgresSchema(t, testPostgres(t))
	if len(lite) < 10 {
		t.Fatalf("read only %d SQLite tables", len(lite))
	}
	for table, cols := range lite {
		if pg[table] == nil {
			t.Errorf("table %s is missing on PostgreSQL", table)
			continue
		}
		for name, want := range cols {
			got, ok := pg[table][name]
			switch {
			case !ok:
				t.Errorf("column %s.%s is missing on PostgreSQL", table, name)
			case got != want:
				t.Errorf("column %s.%s: SQLite %s, PostgreSQL %s", table, name, describe(want), describe(got))
			}
		}
	}
	for table, cols := range pg {
		for name := range cols {
			if _, ok := lite[table][name]; !ok {
				t.Errorf("PostgreSQL has %s.%s, SQLite does not", table, name)
			}
		}
	}
	for _, name := range liteIndexes {
		if !slices.Contains(pgIndexes, name) {
			t.Errorf("index %s is missing on PostgreSQL", name)
		}
	}
}

func describe(c column) string {
	if c.notNull {
		return c.class + " NOT NULL"
	}
	return c.class + " NULL"
}

package models

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditEntriesGoThroughTheConstructor fails on any AuditEntry literal
// with fields outside auditEntry, in every Go file of the module: an entry
// built elsewhere would skip the truncation of client text.
func TestAuditEntriesGoThroughTheConstructor(t *testing.T) {
	fset := token.NewFileSet()
	var found []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "auditEntry" && f.Name.Name == "models" {
				continue
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				lit, ok := n.(*ast.CompositeLit)
				if !ok {
					return true
				}
				if len(lit.Elts) > 0 && isAuditEntryType(lit.Type) {
					found = append(found, fset.Position(lit.Pos()).String())
				}
				// []AuditEntry{{...}}: the elements' type is left out
				if arr, ok := lit.Type.(*ast.ArrayType); ok && isAuditEntryType(arr.Elt) {
					for _, el := range lit.Elts {
						if inner, ok := el.(*ast.CompositeLit); ok && inner.Type == nil && len(inner.Elts) > 0 {
							found = append(found, fset.Position(inner.Pos()).String())
						}
					}
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) > 0 {
		t.Fatalf("AuditEntry literals outside auditEntry (build entries with auditEntry, apiEntry or adminEntry):\n%s", strings.Join(found, "\n"))
	}
}

// isAuditEntryType reports whether a literal's type is AuditEntry or
// models.AuditEntry.
func isAuditEntryType(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "AuditEntry"
	case *ast.SelectorExpr:
		return e.Sel.Name == "AuditEntry"
	}
	return false
}

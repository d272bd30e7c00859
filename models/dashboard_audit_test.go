package models

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestEveryAuditTypeIsFilterable reads every Event constant this package
// declares and checks the audit filter offers it: a type an entry is
// written with and that the filter lacks cannot be looked for. The change
// feed's kinds (events.go) are notices to contacts, never audit entries.
func TestEveryAuditTypeIsFilterable(t *testing.T) {
	feedKinds := []string{EventJoined, EventProfile, EventGroup, EventGroupAdded} // notices, not audit entries
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]string{} // value -> constant name
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Event") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Contains(feedKinds, v) {
						declared[v] = name.Name
					}
				}
			}
		}
	}
	if len(declared) < 30 {
		t.Fatalf("found %d Event constants: the parse missed them", len(declared))
	}
	offered := auditTypes()
	for v, name := range declared {
		if !slices.Contains(offered, v) {
			t.Errorf("%s (%q) is missing from auditTypes: the audit filter cannot select it", name, v)
		}
	}
	for _, v := range offered {
		if _, ok := declared[v]; !ok {
			t.Errorf("auditTypes offers %q, which no Event constant declares", v)
		}
	}
}

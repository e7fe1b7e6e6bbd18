package arqc

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// The production package holds no key: a Key literal with bytes in a
// non-test file of emv/arqc fails (the public test keys live beside the
// software cards, emv/cardsim/perso).
func TestNoKeysInProduction(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if cl, ok := n.(*ast.CompositeLit); ok && len(cl.Elts) == 16 {
				t.Errorf("%s: a 16-byte literal (a key?) in production code", fset.Position(cl.Pos()))
			}
			return true
		})
	}
}

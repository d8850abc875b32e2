// Package codesize holds a test that keeps the module's hand-written
// functions short enough to read in one sitting.
package codesize

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The limits for a hand-written function outside tests: lines from its
// signature to its closing brace, and cyclomatic complexity (1, plus one
// per if, for, range, non-default case and && or ||). The kernel
// generator's emitters (kernels/internal/asm/_gen) may run to genLines;
// the model importers (parsers of untrusted files, fuzzed) are held to
// the tighter importLines and importCyclo.
const (
	maxLines    = 100
	maxCyclo    = 30
	genLines    = 200
	genPrefix   = "kernels/internal/asm/_gen/"
	importLines = 80
	importCyclo = 25
)

// importers are the importers' files and folders.
var importers = []string{"onnx/", "tflite/", "model/assemble.go"}

func TestFunctionSize(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || (strings.HasPrefix(d.Name(), ".") && p != root)) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution|parser.ParseComments)
		if err != nil {
			return err
		}
		if ast.IsGenerated(f) {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			lines := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
			cc := cyclomatic(fd)
			limit, cyclo := maxLines, maxCyclo
			if strings.HasPrefix(rel, genPrefix) {
				limit = genLines
			}
			for _, p := range importers {
				if strings.HasPrefix(rel, p) {
					limit, cyclo = importLines, importCyclo
				}
			}
			if lines > limit || cc > cyclo {
				found = append(found, fmt.Sprintf("%s %s: %d lines, complexity %d (limits %d and %d): split it", rel, funcName(fd), lines, cc, limit, cyclo))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(found)
	for _, f := range found {
		t.Error(f)
	}
}

// funcName returns a function's name, a method's Type.Name.
func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	if st, ok := t.(*ast.StarExpr); ok {
		t = st.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}

// cyclomatic returns 1 plus the number of decision points in fn.
func cyclomatic(fn ast.Node) int {
	c := 1
	ast.Inspect(fn, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt:
			c++
		case *ast.CaseClause:
			if x.List != nil {
				c++
			}
		case *ast.CommClause:
			if x.Comm != nil {
				c++
			}
		case *ast.BinaryExpr:
			if x.Op == token.LAND || x.Op == token.LOR {
				c++
			}
		}
		return true
	})
	return c
}

package omegaconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/membudget"
)

// FuzzResolve feeds arbitrary YAML through Parse and Resolve. Neither may
// panic, hang or grow without bound; every value left unresolved must be
// reported, and every reported one must be in the tree.
func FuzzResolve(f *testing.F) {
	for _, pattern := range []string{"testdata/*.yaml", "../configmig/testdata/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	for _, doc := range resolveDocs {
		f.Add([]byte(doc))
	}
	for _, c := range badYAML {
		f.Add([]byte(c.src))
	}
	for _, s := range trickyScalars {
		f.Add([]byte("v: " + s + "\n"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer membudget.Check(t, len(data))()
		raw, err := Parse(data)
		if err != nil {
			if !strings.Contains(err.Error(), ":") && err.Error() == "" {
				t.Fatalf("empty error")
			}
			return
		}
		res, errs, err := Resolve(raw, &Options{Env: func(k string) (string, bool) { return "v_" + k, len(k)%2 == 0 }})
		if err != nil {
			return // over the size limits
		}
		reported := map[*InterpolationError]bool{}
		for _, e := range errs {
			reported[e] = true
			if e.Reason == "" || e.Expr == "" {
				t.Fatalf("incomplete report %+v", e)
			}
		}
		Walk(res, func(path string, n *Node) bool {
			if n.Unresolved != nil && !reported[n.Unresolved] {
				t.Fatalf("%s is unresolved but not reported", path)
			}
			if n.Kind == String && n.Unresolved == nil && n.Expr != "" && n.IsInterpolation() && n.Str == n.Expr {
				// A resolved value may legitimately equal its own expression
				// only through escapes; nothing to check.
				_ = n
			}
			return true
		})
		_ = PyRepr(res)
		_ = pyStr(res)
	})
}

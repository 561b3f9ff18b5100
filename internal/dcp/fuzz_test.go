package dcp

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/membudget"
)

// FuzzParse feeds arbitrary bytes to the .metadata parser, seeded with real
// .metadata files. It must never panic; whatever parses must validate or
// fail cleanly, and parsed metadata that validates must survive Marshal and
// Parse unchanged in its entries.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.metadata")
	if len(seeds) == 0 {
		f.Fatal("no seeds in testdata")
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer membudget.Check(t, len(data))()
		m, err := Parse(data)
		if err != nil {
			return
		}
		if m.Validate() != nil {
			return
		}
		out, err := Marshal(m)
		if err != nil {
			return
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parsing our own output: %v", err)
		}
		if len(back.Entries) != len(m.Entries) || len(back.Storage) != len(m.Storage) {
			t.Fatalf("round trip changed the entry count")
		}
	})
}

package pickle

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/membudget"
)

// FuzzDecode feeds arbitrary bytes to the decoder, seeded with real pickles
// from testdata. Decoding must never panic; whatever decodes and re-encodes
// must decode to an equal tree.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.pkl")
	if len(seeds) == 0 {
		f.Fatal("no seed pickles in testdata")
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer membudget.Check(t, len(data))()
		v, err := Unmarshal(data)
		if err != nil {
			return
		}
		out, err := Marshal(v)
		if err != nil {
			return // e.g. cycles or keyword arguments: not encodable
		}
		v2, err := Unmarshal(out)
		if err != nil {
			t.Fatalf("re-decoding our own encoding: %v", err)
		}
		if !Equal(v, v2) {
			t.Fatalf("round trip changed the value")
		}
		// Keeping only the memo entries that are read changes nothing.
		all, err := (&Decoder{keepMemo: true}).Decode(data)
		if err != nil {
			t.Fatalf("decoding with the whole memo kept: %v", err)
		}
		if !Equal(v, all) {
			t.Fatalf("decoding with the whole memo kept gives another value")
		}
	})
}

func TestSeedsDecode(t *testing.T) {
	seeds, _ := filepath.Glob("testdata/*.pkl")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Unmarshal(data); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

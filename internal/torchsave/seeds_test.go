package torchsave

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestSeeds reads the committed torch 1.13 archives and compares every
// value and tensor byte with what torch itself loaded (seeds.json), so the
// reader is checked against real files even without Python.
func TestSeeds(t *testing.T) {
	raw, err := os.ReadFile("testdata/seeds.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/*.pt")
	if len(files) != len(want) {
		t.Fatalf("%d .pt files but seeds.json describes %d", len(files), len(want))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		a := openBytes(t, data)
		if err := a.Verify(); err != nil {
			t.Errorf("%s: Verify: %v", f, err)
		}
		sameJSON(t, f, treeJSON(t, a.Object), want[filepath.Base(f)])
		wantName := "archive"
		if filepath.Base(f) == "common.pt" {
			wantName = "common"
		}
		if a.Name != wantName || a.Version != 3 || a.BigEndian {
			t.Errorf("%s: name %q version %d big-endian %v", f, a.Name, a.Version, a.BigEndian)
		}
	}
}

package outdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := Check(filepath.Join(dir, "in"), out, false); err != nil {
		t.Fatalf("new output: %v", err)
	}
	r, err := Begin(out, false)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(r.Staging, "f"), nil, 0o644)
	if err := r.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := Check(filepath.Join(dir, "in"), out, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("non-empty output without force: %v", err)
	}
	if err := Check(out, filepath.Join(out, "sub"), true); err == nil || !strings.Contains(err.Error(), "overlaps") {
		t.Errorf("output inside input: %v", err)
	}
	// A missing parent is created, as NeMo's converter does; a file in
	// the way is not.
	deep := filepath.Join(dir, "no", "such", "out")
	if err := Check("in", deep, false); err != nil {
		t.Errorf("missing parent refused: %v", err)
	}
	r, err = Begin(deep, false)
	if err != nil {
		t.Fatalf("Begin with a missing parent: %v", err)
	}
	r.Abort()
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
	if err := Check("in", filepath.Join(dir, "file", "out"), false); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("parent under a file: %v", err)
	}
}

// TestAbort: a failed or cancelled run leaves nothing beside the output,
// not even its spool.
func TestAbort(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	r, err := Begin(out, false)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(r.Staging, "half"), []byte("x"), 0o644)
	spool, err := r.Spool()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(spool, "x.tar"), []byte("x"), 0o644)
	r.Abort()
	r.Abort() // twice is harmless
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("an aborted run left %v", entries)
	}
	if err := r.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
}

func TestCheckSpace(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if FreeSpace(dir) < 0 {
		t.Skip("free space unknown on this system")
	}
	if err := CheckSpace(out, 1); err != nil {
		t.Errorf("one byte: %v", err)
	}
	err := CheckSpace(out, 1<<62)
	if err == nil || !strings.Contains(err.Error(), "4.0 EiB") || !strings.Contains(err.Error(), "free") {
		t.Errorf("4 EiB: %v", err)
	}
	if err := Preflight(filepath.Join(dir, "in"), out, false, 1<<62); err == nil {
		t.Error("Preflight ignored free space")
	}
	os.Mkdir(out, 0o755)
	os.WriteFile(filepath.Join(out, "x"), nil, 0o644)
	if err := Preflight(filepath.Join(dir, "in"), out, false, 1); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("Preflight on a non-empty output: %v", err)
	}
	if err := Preflight(filepath.Join(dir, "in"), out, true, 1); err != nil {
		t.Errorf("Preflight with force: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("Preflight left %v", entries)
	}
}

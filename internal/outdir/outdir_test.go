package outdir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuild(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	boom := errors.New("boom")
	if err := Build(context.Background(), out, func(s string) error {
		os.WriteFile(filepath.Join(s, "half"), []byte("x"), 0o644)
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failing build: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := Build(ctx, out, func(string) error { cancel(); return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled build: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("failed builds left %v", entries)
	}
	if err := Build(context.Background(), out, func(s string) error { return os.WriteFile(filepath.Join(s, "f"), nil, 0o644) }); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != "out" {
		t.Fatalf("after a build: %v", entries)
	}
	if err := Check(filepath.Join(dir, "in"), out, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("non-empty output without force: %v", err)
	}
	if err := Check(out, filepath.Join(out, "sub"), true); err == nil || !strings.Contains(err.Error(), "overlaps") {
		t.Errorf("output inside input: %v", err)
	}
	if err := Check("in", filepath.Join(dir, "no", "such", "out"), false); err == nil {
		t.Error("missing parent accepted")
	}
}

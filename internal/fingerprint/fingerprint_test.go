package fingerprint

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "model.nemo")
	os.WriteFile(f, []byte("0123456789"), 0o644)
	old := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(f, old, old)

	cases := []struct {
		name   string
		change func()
		want   string
	}{
		{"grown", func() {
			fh, _ := os.OpenFile(f, os.O_APPEND|os.O_WRONLY, 0)
			fh.Write([]byte("x"))
			fh.Close()
		}, "now 11 bytes"},
		{"rewritten, times put back", func() {
			os.WriteFile(f, []byte("9876543210"), 0o644)
			os.Chtimes(f, old, old)
		}, "modified or replaced"},
		{"replaced", func() {
			os.WriteFile(f+".new", []byte("0123456789"), 0o644)
			os.Chtimes(f+".new", old, old)
			os.Rename(f+".new", f)
		}, "modified or replaced"},
		{"removed", func() { os.Remove(f) }, "no such file"},
	}
	for _, c := range cases {
		os.WriteFile(f, []byte("0123456789"), 0o644)
		os.Chtimes(f, old, old)
		p, err := Take(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Check(); err != nil {
			t.Fatalf("%s: unchanged file reported: %v", c.name, err)
		}
		time.Sleep(10 * time.Millisecond) // let the change time move
		c.change()
		err = p.Check()
		if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Check = %v, want ErrChanged with %q", c.name, err, c.want)
		}
	}
}

func TestDir(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "model_weights", "a"), 0o755)
	os.WriteFile(filepath.Join(dir, "model_config.yaml"), []byte("x: 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "model_weights", "a", "0.0"), []byte("abc"), 0o644)
	p, err := Take(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(); err != nil {
		t.Fatalf("unchanged directory reported: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "model_weights", "a", "0.1"), []byte("def"), 0o644)
	if err := p.Check(); !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "0.1 appeared") {
		t.Errorf("added file: %v", err)
	}
	os.Remove(filepath.Join(dir, "model_weights", "a", "0.1"))
	os.Remove(filepath.Join(dir, "model_weights", "a", "0.0"))
	if err := p.Check(); !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "0.0 was removed") {
		t.Errorf("removed file: %v", err)
	}
}

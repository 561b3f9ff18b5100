package convert

import (
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOutputModes: every file of a converted checkpoint is readable by
// others (0644) and every directory searchable (0755), less the umask, so
// other users of a cluster can load it.
func TestOutputModes(t *testing.T) {
	umask := syscall.Umask(0o022)
	syscall.Umask(umask)
	out := filepath.Join(t.TempDir(), "out")
	if _, err := Run(t.Context(), Options{Input: example(t), Output: out, Target: &TargetOptions{ModelID: "auto"}}); err != nil {
		t.Fatal(err)
	}
	files := 0
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, err := d.Info()
		if err != nil {
			t.Fatal(err)
		}
		want := fs.FileMode(0o644)
		if d.IsDir() {
			want = 0o755
		} else {
			files++
		}
		if got := info.Mode().Perm(); got != want&^fs.FileMode(umask) {
			t.Errorf("%s: mode %v, want %v (umask %03o)", p, got, want&^fs.FileMode(umask), umask)
		}
		return nil
	})
	if files < 8 {
		t.Errorf("walked %d files, want weights/ and context/ files", files)
	}
}

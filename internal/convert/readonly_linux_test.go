package convert

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReadOnlyMidRun: the output's filesystem turns read-only while a
// conversion writes (a remount after an error, a quota, an admin). The run
// fails naming the cause, commits nothing and writes no metadata.json; once
// the filesystem is writable again, the next run succeeds and removes what
// the failed one could not.
//
// Root ignores permission bits, so the test remounts the output's parent
// read-only, which binds root too: it re-runs itself as root in a private
// mount namespace (unshare), where the mount ends with the process.
func TestReadOnlyMidRun(t *testing.T) {
	if os.Getenv("NEMO_MIGRATE_RO_CHILD") == "" {
		unshare, err := exec.LookPath("unshare")
		if os.Geteuid() != 0 || err != nil {
			t.Skip("needs root and unshare(1) to remount a directory read-only")
		}
		cmd := exec.Command(unshare, "--mount", "--propagation", "private", os.Args[0], "-test.run=^TestReadOnlyMidRun$", "-test.v")
		cmd.Env = append(os.Environ(), "NEMO_MIGRATE_RO_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("in a private mount namespace: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "--- PASS: TestReadOnlyMidRun") {
			t.Fatalf("the child did not run the test:\n%s", out)
		}
		return
	}

	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	calls := 0
	mounted := false
	_, err := Run(t.Context(), Options{Input: example(t), Output: out, Progress: func(done, total int64) {
		calls++
		if calls != 2 {
			return
		}
		if err := syscall.Mount(parent, parent, "", syscall.MS_BIND, ""); err != nil {
			t.Errorf("bind mount: %v", err)
			return
		}
		mounted = true
		if err := syscall.Mount("", parent, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
			t.Errorf("read-only remount: %v", err)
		}
	}})
	if !mounted {
		t.Fatal("the conversion ended before the filesystem could be made read-only")
	}
	t.Logf("failed as expected: %v", err)
	if !errors.Is(err, syscall.EROFS) {
		t.Fatalf("err = %v, want one that says the filesystem is read-only", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an output was committed")
	}
	filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "metadata.json" && filepath.Base(filepath.Dir(p)) == "weights" {
			t.Errorf("%s written by a run that failed", p)
		}
		return nil
	})
	if err := syscall.Unmount(parent, 0); err != nil {
		t.Fatalf("unmount: %v", err)
	}

	res, err := Run(t.Context(), Options{Input: example(t), Output: out})
	if err != nil {
		t.Fatalf("the run after the filesystem is writable again: %v", err)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "did not finish") {
		t.Errorf("notes do not mention the failed run's staging directory: %q", res.Notes)
	}
	if extra := leftovers(t, parent); len(extra) != 0 {
		t.Errorf("left %v", extra)
	}
}

package outdir

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestLock: a second run on the same output fails at once, naming the
// first; once the first ends, the output is free again and no lock file
// is left.
func TestLock(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	first, err := Begin(out, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Begin(out, false)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second Begin: %v, want ErrLocked naming pid %d", err, os.Getpid())
	}
	first.Abort()
	second, err := Begin(out, false)
	if err != nil {
		t.Fatalf("Begin after Abort: %v", err)
	}
	if err := os.WriteFile(filepath.Join(second.Staging, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := second.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := names(t, dir); len(got) != 1 || got[0] != "out" {
		t.Fatalf("after commit the parent holds %v, want only out", got)
	}
	if got := names(t, out); len(got) != 1 || got[0] != "f" {
		t.Fatalf("output holds %v, want only f (no owner record)", got)
	}
}

// TestNoReplace: without force, an output that appears while a run works
// is never replaced; with force it is.
func TestNoReplace(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	r, err := Begin(out, false)
	if err != nil {
		t.Fatal(err)
	}
	os.Mkdir(out, 0o755)
	os.WriteFile(filepath.Join(out, "theirs"), []byte("keep"), 0o644)
	if err := r.Commit(); err == nil || !strings.Contains(err.Error(), "appeared") {
		t.Fatalf("commit over a new output: %v", err)
	}
	r.Abort()
	if b, _ := os.ReadFile(filepath.Join(out, "theirs")); string(b) != "keep" {
		t.Fatal("the other output was clobbered")
	}
	if got := names(t, dir); len(got) != 1 {
		t.Fatalf("a refused commit left %v", got)
	}

	// An empty directory (as a user makes one to convert into) is fine.
	os.RemoveAll(out)
	os.Mkdir(out, 0o755)
	r, _ = Begin(out, false)
	os.WriteFile(filepath.Join(r.Staging, "ours"), nil, 0o644)
	if err := r.Commit(); err != nil {
		t.Fatalf("commit over an empty directory: %v", err)
	}

	r, _ = Begin(out, true)
	os.WriteFile(filepath.Join(r.Staging, "new"), nil, 0o644)
	if err := r.Commit(); err != nil {
		t.Fatalf("forced commit: %v", err)
	}
	if got := names(t, out); len(got) != 1 || got[0] != "new" {
		t.Fatalf("forced commit left %v in the output", got)
	}
	if got := names(t, dir); len(got) != 1 {
		t.Fatalf("forced commit left %v", got)
	}
}

// TestStaleAndRestore: what a killed run leaves is removed by the next run
// on the same output and reported with its owner; an output moved aside
// by an interrupted replace is put back.
func TestStaleAndRestore(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	stale := stagingPrefix(out) + "0123456789ab"
	os.MkdirAll(filepath.Join(stale, "weights"), 0o755)
	os.WriteFile(filepath.Join(stale, ownerFile), []byte(`{"pid":4242,"host":"h","start":"2026-01-02T03:04:05Z"}`), 0o644)
	other := filepath.Join(dir, ".other.nemo-migrate-0123456789ab")
	os.Mkdir(other, 0o755)
	moved := stagingPrefix(out) + "ba9876543210" + oldSuffix
	os.Mkdir(moved, 0o755)
	os.WriteFile(filepath.Join(moved, "previous"), nil, 0o644)

	r, err := Begin(out, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Abort()
	report := strings.Join(r.Cleaned, "\n")
	if !strings.Contains(report, "pid 4242 on h") || !strings.Contains(report, "restored") {
		t.Errorf("cleanup report %q lacks the stale owner or the restore", report)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("stale staging directory kept")
	}
	if _, err := os.Stat(filepath.Join(out, "previous")); err != nil {
		t.Errorf("moved-aside output not restored: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Error("another output's staging directory was removed")
	}
}

// TestKilledRun: a run killed with SIGKILL leaves its staging directory
// but not its lock; the next run takes the output and removes the rest.
func TestKilledRun(t *testing.T) {
	if os.Getenv("OUTDIR_HOLD") != "" {
		r, err := Begin(os.Getenv("OUTDIR_HOLD"), false)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		os.WriteFile(filepath.Join(r.Staging, "partial"), make([]byte, 1<<20), 0o644)
		fmt.Println("staging", r.Staging)
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledRun$")
	cmd.Env = append(os.Environ(), "OUTDIR_HOLD="+out)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, _ := stdout.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "staging ") {
		cmd.Process.Kill()
		t.Fatalf("helper said %q", buf[:n])
	}
	if _, err := Begin(out, false); !errors.Is(err, ErrLocked) {
		t.Errorf("Begin while the other run lives: %v, want ErrLocked", err)
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()

	r, err := Begin(out, false)
	if err != nil {
		t.Fatalf("Begin after the kill: %v", err)
	}
	defer r.Abort()
	want := fmt.Sprintf("pid %d", cmd.Process.Pid)
	if len(r.Cleaned) != 1 || !strings.Contains(r.Cleaned[0], want) {
		t.Fatalf("cleanup report %q, want one line naming %s", r.Cleaned, want)
	}
}

package convert

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nemo-migrate/nemo-migrate/internal/testbin"
)

// The fault tests run the real binary, as a user's shell would, on the
// example checkpoint shipped in the repository (no oracle needed).

// binary builds the command once per test process.
func binary(t *testing.T) string { return testbin.Path(t) }

func example(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../examples/tiny-llama.nemo")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func convertCmd(bin, in, out string, extra ...string) *exec.Cmd {
	args := append([]string{"convert", "--input_path", in, "--output_path", out, "--model_id", "auto", "--no-progress"}, extra...)
	return exec.Command(bin, args...)
}

// leftovers lists what is in parent besides the output itself.
func leftovers(t *testing.T, parent string) []string {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	var extra []string
	for _, e := range entries {
		if e.Name() != "out" {
			extra = append(extra, e.Name())
		}
	}
	return extra
}

// TestKillAtRandomPoints kills conversions with SIGKILL at random moments.
// Whatever the moment, the output is either absent or complete, and any
// weights/metadata.json anywhere belongs to a checkpoint that verifies;
// the next run succeeds, removes what the killed one left, and leaves
// nothing else.
func TestKillAtRandomPoints(t *testing.T) {
	bin, in := binary(t), example(t)
	parent := t.TempDir()
	out := filepath.Join(parent, "out")

	// How long one run takes here, to spread the kills over it.
	start := time.Now()
	if msg, err := convertCmd(bin, in, out).CombinedOutput(); err != nil {
		t.Fatalf("reference run: %v\n%s", err, msg)
	}
	span := time.Since(start)
	os.RemoveAll(out)

	const kills = 24
	rng := rand.New(rand.NewPCG(1, 2))
	killedMidway := 0
	for i := range kills {
		delay := time.Duration(rng.Int64N(int64(span)))
		cmd := convertCmd(bin, in, out)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Kill()
		err := cmd.Wait()
		completed := err == nil
		if !completed {
			killedMidway++
		}
		if _, err := os.Stat(out); err == nil {
			if _, err := os.Stat(filepath.Join(out, "weights", "metadata.json")); err != nil {
				t.Fatalf("kill %d after %v: an output without weights/metadata.json is in place", i, delay)
			}
		}
		// The manifest is written last, so a staging directory that holds
		// one (the kill landed between it and the rename) must be whole.
		for _, name := range leftovers(t, parent) {
			staged := filepath.Join(parent, name)
			if _, err := os.Stat(filepath.Join(staged, "weights", "metadata.json")); err == nil {
				if v, err := exec.Command(bin, "verify", staged, "--source", in).CombinedOutput(); err != nil {
					t.Fatalf("kill %d after %v: %s has weights/metadata.json but does not verify: %v\n%s", i, delay, name, err, v)
				}
			}
		}

		rerun := convertCmd(bin, in, out, "--force")
		msg, err := rerun.CombinedOutput()
		if err != nil {
			t.Fatalf("rerun after kill %d (%v): %v\n%s", i, delay, err, msg)
		}
		if extra := leftovers(t, parent); len(extra) != 0 {
			t.Fatalf("rerun after kill %d (%v) left %v\n%s", i, delay, extra, msg)
		}
		if v, err := exec.Command(bin, "verify", out, "--source", in).CombinedOutput(); err != nil {
			t.Fatalf("verify after kill %d: %v\n%s", i, err, v)
		}
		os.RemoveAll(out)
	}
	t.Logf("%d of %d runs killed before they finished (one run takes %v)", killedMidway, kills, span)
	if killedMidway == 0 {
		t.Error("no kill landed inside a run; the test proved nothing")
	}
}

// TestRacingRuns starts two conversions into one output at once: exactly
// one succeeds, the other says why, and the output is the winner's.
func TestRacingRuns(t *testing.T) {
	bin, in := binary(t), example(t)
	for i := range 5 {
		parent := t.TempDir()
		out := filepath.Join(parent, "out")
		var outs [2]bytes.Buffer
		cmds := [2]*exec.Cmd{convertCmd(bin, in, out), convertCmd(bin, in, out)}
		for k, c := range cmds {
			c.Stdout, c.Stderr = &outs[k], &outs[k]
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
		}
		ok := 0
		for k, c := range cmds {
			if err := c.Wait(); err == nil {
				ok++
			} else {
				msg := outs[k].String()
				if !strings.Contains(msg, "another nemo-migrate run") && !strings.Contains(msg, "already exists") {
					t.Errorf("race %d: the loser's message does not say why: %s", i, msg)
				}
			}
		}
		if ok != 1 {
			t.Fatalf("race %d: %d runs succeeded, want exactly 1\n%s\n%s", i, ok, &outs[0], &outs[1])
		}
		if extra := leftovers(t, parent); len(extra) != 0 {
			t.Fatalf("race %d left %v", i, extra)
		}
	}
}

// TestOutputRemovedMidRun: the staging directory vanishing under a run
// (a cleanup script, a user) is an error, not a half output.
func TestStagingRemovedMidRun(t *testing.T) {
	in := example(t)
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	calls := 0
	_, err := Run(t.Context(), Options{Input: in, Output: out, Progress: func(done, total int64) {
		calls++
		if calls == 2 {
			matches, _ := filepath.Glob(filepath.Join(parent, ".out.nemo-migrate-*"))
			for _, m := range matches {
				if !strings.HasSuffix(m, "lock") {
					os.RemoveAll(m)
				}
			}
		}
	}})
	if err == nil {
		t.Fatal("a run whose staging directory was removed succeeded")
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error does not say what is missing: %v", err)
	}
	if extra := leftovers(t, parent); len(extra) != 0 {
		t.Errorf("left %v", extra)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an output was committed")
	}
}

// TestTruncatedMidCopy: a .distcp cut short after the index was read (a
// copy still arriving, a full disk on the source) fails the copy with
// the file named.
func TestTruncatedMidCopy(t *testing.T) {
	dir := t.TempDir()
	if msg, err := exec.Command("tar", "-xf", example(t), "-C", dir).CombinedOutput(); err != nil {
		t.Skipf("tar: %v %s", err, msg)
	}
	victim := filepath.Join(dir, "model_weights", "__0_1.distcp")
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	calls := 0
	_, err := Run(t.Context(), Options{Input: dir, Output: out, Progress: func(done, total int64) {
		calls++
		if calls == 1 {
			os.Truncate(victim, 100)
		}
	}})
	if err == nil || !strings.Contains(err.Error(), "__0_1.distcp") {
		t.Fatalf("err = %v, want an error naming __0_1.distcp", err)
	}
	if extra := leftovers(t, parent); len(extra) != 0 {
		t.Errorf("left %v", extra)
	}
}

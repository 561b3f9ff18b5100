package convert

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/fingerprint"
)

// Each broken input must give a clear error and leave neither an output
// directory nor a staging directory behind.
func expectFailure(t *testing.T, input, want string) {
	t.Helper()
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	_, err := Run(context.Background(), Options{Input: input, Output: out})
	if err == nil {
		t.Fatalf("converting %s succeeded", input)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not mention %q", err, want)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("left behind after the failure: %v", entries)
	}
}

func TestTruncatedArchive(t *testing.T) {
	_, input := writeFixture(t, "--arch", "llama", "--backend", "torch_dist", "--form", "nemo")
	data, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(t.TempDir(), "trunc.nemo")
	os.WriteFile(trunc, data[:len(data)*2/3], 0o644)
	expectFailure(t, trunc, "truncated")
}

func TestCorruptIndex(t *testing.T) {
	_, input := writeFixture(t, "--arch", "llama", "--backend", "torch_dist", "--form", "dir")
	meta := filepath.Join(input, "model_weights", ".metadata")
	data, _ := os.ReadFile(meta)
	os.WriteFile(meta, data[:len(data)/2], 0o644)
	expectFailure(t, input, ".metadata")
}

func TestMissingChunkFile(t *testing.T) {
	_, input := writeFixture(t, "--arch", "llama", "--backend", "torch_dist", "--form", "dir")
	os.Remove(filepath.Join(input, "model_weights", "__0_1.distcp"))
	expectFailure(t, input, "__0_1.distcp")

	_, input = writeFixture(t, "--arch", "llama", "--backend", "zarr", "--form", "dir")
	os.Remove(filepath.Join(input, "model_weights", "model.decoder.layers.mlp.linear_fc2.weight", "1.0.0"))
	expectFailure(t, input, "1.0.0")
}

func TestInterrupted(t *testing.T) {
	_, input := writeFixture(t, "--arch", "mixtral", "--backend", "zarr", "--form", "nemo")
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := Run(ctx, Options{Input: input, Output: out, Progress: func(done, total int64) {
		calls++
		if calls == 3 {
			cancel() // as Ctrl-C would, midway through the tensors
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("left behind after the interruption: %v", entries)
	}
}

// TestDiskFull runs the command under a file-size limit, which makes
// writes fail as a full disk does.
func TestDiskFull(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("needs bash for ulimit")
	}
	_, input := writeFixture(t, "--arch", "llama", "--backend", "zarr", "--form", "nemo")
	bin := binary(t)
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	cmd := exec.Command("bash", "-c", `ulimit -f 64; exec "$0" convert --input_path "$1" --output_path "$2" --model_id auto`, bin, input, out)
	msg, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("want exit code 1, got %v: %s", err, msg)
	}
	if !strings.Contains(string(msg), "file too large") {
		t.Errorf("message does not say why: %s", msg)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("left behind after the failed write: %v", entries)
	}
}

// TestInputChanged: an input rewritten while it is read fails the run
// before anything is committed.
func TestInputChanged(t *testing.T) {
	_, input := writeFixture(t, "--arch", "llama", "--backend", "torch_dist", "--form", "nemo")
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	calls := 0
	_, err := Run(context.Background(), Options{Input: input, Output: out, Progress: func(done, total int64) {
		calls++
		if calls == 2 {
			f, _ := os.OpenFile(input, os.O_APPEND|os.O_WRONLY, 0)
			f.Write(make([]byte, 512)) // a writer still appending
			f.Close()
		}
	}})
	if !errors.Is(err, fingerprint.ErrChanged) || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("err = %v, want fingerprint.ErrChanged", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("left behind after the refused commit: %v", entries)
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// runCmd runs one command line in-process and returns its exit code and
// output.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(&env{ctx: context.Background(), stdout: &o, stderr: &e}, args)
	return code, o.String(), e.String()
}

// pyFixture has real torch (and zarr) write a NeMo-1-shaped checkpoint with
// internal/oracle/py/nemo1fixture.py and returns the directory it wrote.
func pyFixture(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	oracle.Run(t, []string{"torch", "zarr"}, `
import sys, runpy
sys.argv = ["nemo1fixture.py"] + sys.argv[1:]
runpy.run_module("nemo1fixture", run_name="__main__")
`, append([]string{dir}, args...)...)
	return dir
}

func TestUsage(t *testing.T) {
	if code, _, stderr := runCmd(t); code != 2 || !strings.Contains(stderr, "Commands:") {
		t.Errorf("no args: code %d, stderr %q", code, stderr)
	}
	if code, stdout, _ := runCmd(t, "--help"); code != 0 || !strings.Contains(stdout, "inspect") {
		t.Errorf("--help: code %d", code)
	}
	if code, _, stderr := runCmd(t, "frobnicate"); code != 2 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown command: code %d, %q", code, stderr)
	}
	if code, stdout, _ := runCmd(t, "help", "inspect"); code != 0 || !strings.Contains(stdout, "Usage: nemo-migrate inspect") {
		t.Errorf("help inspect: code %d, %q", code, stdout)
	}
	if code, _, stderr := runCmd(t, "inspect", "--bogus"); code != 2 || !strings.Contains(stderr, "bogus") {
		t.Errorf("bad flag: code %d, %q", code, stderr)
	}
}

func TestInspect(t *testing.T) {
	dir := pyFixture(t, "--arch", "llama", "--backend", "torch_dist", "--form", "nemo")
	nemo := filepath.Join(dir, "model.nemo")
	code, stdout, stderr := runCmd(t, "inspect", nemo)
	if code != 0 {
		t.Fatalf("inspect: code %d: %s", code, stderr)
	}
	for _, want := range []string{"NeMo 1.0 tar archive", "torch_dist", "model.decoder.layers.mlp.linear_fc1.weight", "[2, 320, 64]", "core_attention._extra_state/shard_0_2", "num_layers=2", "rotary_percentage=1.0", "library=sentencepiece"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = runCmd(t, "inspect", "--json", nemo)
	if code != 0 || !strings.Contains(stdout, `"backend": "torch_dist"`) || !strings.Contains(stdout, `"key": "model.output_layer.weight"`) {
		t.Errorf("inspect --json: code %d:\n%s", code, stdout)
	}

	// A truncated archive names the file and says what is wrong.
	data, err := os.ReadFile(nemo)
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(dir, "trunc.nemo")
	os.WriteFile(trunc, data[:len(data)/2], 0o644)
	code, _, stderr = runCmd(t, "inspect", trunc)
	if code != 1 || !strings.Contains(stderr, "trunc.nemo") || !strings.Contains(stderr, "truncated") {
		t.Errorf("truncated archive: code %d, %q", code, stderr)
	}
	code, _, stderr = runCmd(t, "inspect", filepath.Join(dir, "missing.nemo"))
	if code != 1 || !strings.Contains(stderr, "does not exist") {
		t.Errorf("missing file: code %d, %q", code, stderr)
	}
}

func TestInspectZarrDirectory(t *testing.T) {
	dir := pyFixture(t, "--arch", "mixtral", "--backend", "zarr", "--form", "dir")
	weights := filepath.Join(dir, "extracted", "model_weights")
	code, stdout, stderr := runCmd(t, "inspect", weights)
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	for _, want := range []string{"distributed checkpoint directory", "zarr", "experts.experts.linear_fc1.weight", "[2, 4, 192, 64]"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	// Corrupt one chunk-bearing index: the error names the file.
	os.WriteFile(filepath.Join(weights, "model.output_layer.weight", ".zarray"), []byte("{"), 0o644)
	code, _, stderr = runCmd(t, "inspect", weights)
	if code != 1 || !strings.Contains(stderr, "model.output_layer.weight") {
		t.Errorf("corrupt .zarray: code %d, %q", code, stderr)
	}
}

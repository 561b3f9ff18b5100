package convert

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// writeFixture has real torch (and zarr) write a NeMo-1-shaped checkpoint;
// it returns the fixture directory and the input path for the form.
func writeFixture(t testing.TB, args ...string) (dir, input string) {
	t.Helper()
	dir = t.TempDir()
	oracle.Run(t, []string{"torch", "zarr"}, `
import sys, runpy
sys.argv = ["nemo1fixture.py"] + sys.argv[1:]
runpy.run_module("nemo1fixture", run_name="__main__")
`, append([]string{dir}, args...)...)
	form := "nemo"
	for i, a := range args {
		if a == "--form" {
			form = args[i+1]
		}
	}
	switch form {
	case "nemo":
		input = filepath.Join(dir, "model.nemo")
	case "gzip":
		input = filepath.Join(dir, "model.nemo.gz")
	case "dir":
		input = filepath.Join(dir, "extracted")
	case "weights":
		input = filepath.Join(dir, "extracted", "model_weights")
	}
	return dir, input
}

// checkWithTorch has the host's torch load the output and compare it with
// the source.
func checkWithTorch(t *testing.T, out, fixtureDir string, withContext bool) {
	t.Helper()
	checkNeMo2(t, oracle.Interpreter(), out, fixtureDir, withContext)
}

// checkNeMo2 runs nemo2check.check_nemo2 on the interpreter python (the
// host's torch 1.13 or an [oracle.Stack]'s current torch) and fails t with
// every problem it finds.
func checkNeMo2(t *testing.T, python, out, fixtureDir string, withContext bool) {
	t.Helper()
	runCheckNeMo2(t, python, out, fixtureDir, withContext, "")
}

// checkNeMo2Cast is checkNeMo2 for an output whose parameters convert
// cast to dtype cast ("" for none).
func checkNeMo2Cast(t *testing.T, python, out, fixtureDir, cast string) {
	t.Helper()
	runCheckNeMo2(t, python, out, fixtureDir, true, cast)
}

func runCheckNeMo2(t *testing.T, python, out, fixtureDir string, withContext bool, cast string) {
	t.Helper()
	res := oracle.RunWith(t, python, []string{"torch", "numpy", "yaml"}, `
import json, sys, nemo2check
problems = nemo2check.check_nemo2(sys.argv[1], sys.argv[2] + "/expected.pt", cast=sys.argv[4] or None)
if sys.argv[3] == "no":
    problems = [p for p in problems if p != "no context/"]
print(json.dumps(problems))
`, out, fixtureDir, map[bool]string{true: "yes", false: "no"}[withContext], cast)
	var problems []string
	if err := json.Unmarshal(res, &problems); err != nil {
		t.Fatalf("checker output: %v: %s", err, res)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

func TestConvertMatrix(t *testing.T) {
	cases := [][]string{
		{"--arch", "llama", "--backend", "torch_dist", "--form", "nemo"},
		{"--arch", "llama", "--backend", "zarr", "--form", "gzip"},
		{"--arch", "mixtral", "--backend", "torch_dist", "--form", "dir", "--tp", "2", "--ranks", "2", "--mcore"},
		{"--arch", "mixtral", "--backend", "zarr", "--form", "nemo"},
		{"--arch", "nemotron", "--backend", "torch_dist", "--form", "weights"},
		{"--arch", "nemotron", "--backend", "zarr", "--form", "dir", "--tp", "2"},
	}
	if testing.Short() {
		cases = cases[:2]
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir, input := writeFixture(t, args...)
			out := filepath.Join(t.TempDir(), "out")
			opts := Options{Input: input, Output: out}
			if !strings.HasSuffix(input, "model_weights") {
				// A bare weights directory has no model_config.yaml for
				// "auto" to read: that case converts the weights alone.
				opts.Target = &TargetOptions{ModelID: "auto"}
			}
			res, err := Run(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Tensors == 0 || res.Objects == 0 {
				t.Errorf("result: %+v", res)
			}
			checkWithTorch(t, out, dir, opts.Target != nil)
			assertNoStaging(t, filepath.Dir(out))
		})
	}
}

func assertNoStaging(t *testing.T, parent string) {
	t.Helper()
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".nemo-migrate-") {
			t.Errorf("staging directory left behind: %s", e.Name())
		}
	}
}

func TestNeMo2Key(t *testing.T) {
	for in, want := range map[string]string{
		"model.decoder.layers.x":                         "module.decoder.layers.x",
		"model.embedding.word_embeddings.weight":         "module.embedding.word_embeddings.weight",
		"decoder.layers.x":                               "module.decoder.layers.x",
		"module.decoder.final_layernorm.weight":          "module.decoder.final_layernorm.weight",
		"model.decoder.model.x":                          "module.decoder.model.x",
		"model.d.core_attention._extra_state/shard_0_32": "module.d.core_attention._extra_state/shard_0_32",
	} {
		if got := models.NeMo2Key(in); got != want {
			t.Errorf("NeMo2Key(%q) = %q, want %q", in, got, want)
		}
	}
}

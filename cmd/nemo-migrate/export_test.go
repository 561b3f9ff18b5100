package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExportCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "hf")
	code, stdout, stderr := runCmd(t, "export", "--input_path", "../../examples/tiny-llama.nemo", "--output_path", out, "--shard-size", "100KB")
	if code != 0 || !strings.Contains(stdout, "LlamaForCausalLM") {
		t.Fatalf("export: code %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "model.safetensors.index.json")); err != nil {
		t.Error(err)
	}
	code, stdout, _ = runCmd(t, "export", "-i", "../../examples/tiny-llama.nemo", "-o", filepath.Join(t.TempDir(), "x"), "--dry-run", "--json")
	var plan struct {
		Architecture string `json:"architecture"`
		Tensors      []struct {
			Name, Source string
		} `json:"tensors"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &plan) != nil || plan.Architecture != "LlamaForCausalLM" || len(plan.Tensors) == 0 {
		t.Errorf("dry run: code %d, %.200s", code, stdout)
	}
	for _, args := range [][]string{
		{"export", "-i", "x", "-o", "y", "--format", "onnx"},
		{"export", "-i", "x", "-o", "y", "--shard-size", "lots"},
		{"export", "-i", "x"},
		{"export", "-i", "x", "-o", "y", "--dtype", "int4"},
	} {
		if code, _, stderr := runCmd(t, args...); code != 2 {
			t.Errorf("%v: code %d, %s", args, code, stderr)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"5GB": 5e9, "500MB": 5e8, "2GiB": 2 << 30, "1024": 1024, "1.5 kb": 1500} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1GB", "GB", "1e30TB", "five"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) succeeded", in)
		}
	}
}

// TestFlagSpellings: "_" and "-" spellings of every long flag, and flags
// after the positional argument.
func TestFlagSpellings(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"export", "--input-path", "../../examples/tiny-llama.nemo", "--output-path", filepath.Join(dir, "a"), "--dry_run"},
		{"convert", "--input-path", "../../examples/tiny-llama.nemo", "--output_path", filepath.Join(dir, "b"), "--model-id", "auto", "--dry_run", "--no_progress"},
		{"inspect", "../../examples/tiny-llama.nemo", "--json"},
	} {
		if code, _, stderr := runCmd(t, args...); code != 0 {
			t.Errorf("%v: code %d, %s", args, code, stderr)
		}
	}
	if code, _, stderr := runCmd(t, "export", "--input_pathx", "x"); code != 2 || !strings.Contains(stderr, "input_pathx") {
		t.Errorf("unknown flag: code %d, %s", code, stderr)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		if code, stdout, _ := runCmd(t, args...); code != 0 || !strings.HasPrefix(stdout, "nemo-migrate ") {
			t.Errorf("%v: code %d, %q", args, code, stdout)
		}
	}
}

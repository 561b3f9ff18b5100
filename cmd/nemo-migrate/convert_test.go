package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const example = "../../examples/tiny-llama.nemo"

func TestConvertDryRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCmd(t, "convert", "--input_path", example, "--output_path", out, "--model_id", "auto", "--dry-run")
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	for _, want := range []string{"model.decoder.layers.mlp.linear_fc1.weight", "module.decoder.layers.mlp.linear_fc1.weight", "copy-file", "fresh-state", "__0_0.distcp"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("--dry-run wrote the output")
	}
	// A dry run fails where the real run would: here, an output in the way.
	os.MkdirAll(filepath.Join(out, "keep"), 0o755)
	if code, _, stderr := runCmd(t, "convert", "-i", example, "-o", out, "--model_id", "auto", "--dry-run"); code != 1 || !strings.Contains(stderr, "--force") {
		t.Errorf("--dry-run into a non-empty output: code %d: %s", code, stderr)
	}
	os.RemoveAll(out)
	code, stdout, _ = runCmd(t, "convert", "-i", example, "-o", out, "--model_id", "auto", "--dry-run", "--json")
	var plan map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &plan) != nil || plan["backend"] != "torch_dist" {
		t.Errorf("--dry-run --json: code %d: %s", code, stdout)
	}
}

func TestConvertRefusesAndForces(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	if code, _, stderr := runCmd(t, "convert", "-i", example, "-o", out, "--model_id", "auto"); code != 0 {
		t.Fatalf("first convert: %s", stderr)
	}
	code, _, stderr := runCmd(t, "convert", "-i", example, "-o", out, "--model_id", "auto")
	if code != 1 || !strings.Contains(stderr, "--force") {
		t.Errorf("second convert into a full directory: code %d, %q", code, stderr)
	}
	if code, _, stderr := runCmd(t, "convert", "-i", example, "-o", out, "--model_id", "auto", "--force"); code != 0 {
		t.Errorf("--force: code %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "weights", "metadata.json")); err != nil {
		t.Errorf("after --force: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("leftovers next to the output: %v", entries)
	}
}

func TestConvertUsage(t *testing.T) {
	for _, args := range [][]string{
		{"convert"},
		{"convert", "-i", example},
		{"convert", "-i", example, "-o", "x"},
		{"convert", "-i", example, "-o", "x", "--model_id", "auto", "extra"},
	} {
		if code, _, _ := runCmd(t, args...); code != 2 {
			t.Errorf("%v: code %d, want 2", args, code)
		}
	}
	code, _, stderr := runCmd(t, "convert", "-i", "missing.nemo", "-o", filepath.Join(t.TempDir(), "o"), "--model_id", "auto")
	if code != 1 || !strings.Contains(stderr, "missing.nemo") {
		t.Errorf("missing input: code %d, %q", code, stderr)
	}
}

// TestTokenizerFlagsUsage: a tokenizer library without a tokenizer, an
// unknown library, or a tiktoken file named with another library is a
// usage error (exit 2) naming the flags and what to pass, not ignored.
func TestTokenizerFlagsUsage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "o")
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--tokenizer_library", "huggingface"}, []string{"--tokenizer_library huggingface", "--tokenizer_path", "Hugging Face tokenizer directory", "Hub repository id"}},
		{[]string{"--tokenizer-library=sentencepiece"}, []string{"--tokenizer_library sentencepiece", "--tokenizer_path", ".model"}},
		{[]string{"--tokenizer_library", "megatron"}, []string{"--tokenizer_path", "vocab.json and merges.txt"}},
		{[]string{"--tokenizer_library", "tiktoken"}, []string{"--tokenizer_vocab_file"}},
		{[]string{"--tokenizer_library", "spm", "--tokenizer_path", example}, []string{`"spm"`, "sentencepiece, huggingface, tiktoken, megatron"}},
		{[]string{"--tokenizer_library", "huggingface", "--tokenizer_vocab_file", "v.json"}, []string{"--tokenizer_vocab_file", "tiktoken"}},
	} {
		for _, cmd := range [][]string{{"convert", "-i", example, "-o", out, "--model_id", "auto"}, {"export", "-i", example, "-o", out}} {
			if cmd[0] == "export" && slices.Contains(c.args, "--tokenizer_vocab_file") {
				continue // export has no such flag
			}
			code, _, stderr := runCmd(t, append(cmd, c.args...)...)
			if code != 2 {
				t.Errorf("%s %v: code %d, want 2 (%s)", cmd[0], c.args, code, stderr)
			}
			for _, w := range c.want {
				if cmd[0] == "export" && w == "Hub repository id" {
					continue
				}
				if !strings.Contains(stderr, w) {
					t.Errorf("%s %v: error does not mention %q: %s", cmd[0], c.args, w, stderr)
				}
			}
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a usage error wrote the output")
	}
}

func TestVerifyComparesWithSource(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	if code, _, stderr := runCmd(t, "convert", "-i", example, "-o", out, "--model_id", "auto"); code != 0 {
		t.Fatalf("convert: %s", stderr)
	}
	code, stdout, _ := runCmd(t, "verify", out, "--source", example, "--json")
	var rep struct {
		Compared int `json:"compared_with_source"`
		Findings []struct{ Key, Problem string }
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("verify --json: %v\n%s", err, stdout)
	}
	if rep.Compared != 17 {
		t.Errorf("compared %d items, want 9 tensors + 8 objects", rep.Compared)
	}
	for _, f := range rep.Findings {
		t.Errorf("finding: %s: %s", f.Key, f.Problem)
	}
	if code != 0 {
		t.Errorf("verify exit code %d", code)
	}
}

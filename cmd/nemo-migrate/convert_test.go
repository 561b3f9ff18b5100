package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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

// runCmdEnv is runCmd with the environment env instead of the process's.
func runCmdEnv(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(&env{ctx: context.Background(), stdout: &o, stderr: &e, lookupEnv: func(k string) string { return vars[k] }}, args)
	return code, o.String(), e.String()
}

// TestConvertHubEnvironment: convert takes the Hub settings from the
// environment as huggingface_hub does. The token 'hf auth login' stored is
// sent; HF_HUB_OFFLINE=1 refuses the network and says what to run; a
// tokenizer in the Hugging Face cache is used without any request.
func TestConvertHubEnvironment(t *testing.T) {
	dir := pyFixture(t, "--arch", "llama", "--backend", "zarr", "--form", "dir")
	input := filepath.Join(dir, "extracted")
	cfgPath := filepath.Join(input, "model_config.yaml")
	cfg, _ := os.ReadFile(cfgPath)
	i := strings.Index(string(cfg), "tokenizer:")
	os.WriteFile(cfgPath, []byte(string(cfg[:i])+"tokenizer:\n  library: huggingface\n  type: acme/tiny-llm\n"), 0o644)

	vocab := map[string]int{"<unk>": 0, "<s>": 1, "</s>": 2}
	for i := 3; i < 90; i++ {
		vocab[fmt.Sprintf("w%d", i)] = i
	}
	tj, _ := json.Marshal(map[string]any{"version": "1.0", "added_tokens": []any{}, "pre_tokenizer": map[string]any{"type": "Whitespace"},
		"model": map[string]any{"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"}})
	files := map[string][]byte{"tokenizer.json": tj,
		"tokenizer_config.json": []byte(`{"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "tokenizer_class": "PreTrainedTokenizerFast"}`)}
	var mu sync.Mutex
	var auth []string
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		data, ok := files[strings.TrimPrefix(r.URL.Path, "/acme/tiny-llm/resolve/main/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	defer hub.Close()
	requests := func() int { mu.Lock(); defer mu.Unlock(); return len(auth) }

	// Logged in: the stored token is sent.
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".cache", "huggingface"), 0o755)
	os.WriteFile(filepath.Join(home, ".cache", "huggingface", "token"), []byte("hf_login\n"), 0o600)
	env := map[string]string{"HOME": home, "HF_ENDPOINT": hub.URL}
	if code, _, stderr := runCmdEnv(t, env, "convert", "-i", input, "-o", filepath.Join(t.TempDir(), "a"), "--model_id", "auto"); code != 0 {
		t.Fatalf("logged in: code %d: %s", code, stderr)
	}
	if n := requests(); n == 0 || auth[0] != "Bearer hf_login" {
		t.Errorf("requests sent Authorization %q", auth)
	}

	// Offline by the environment, nothing cached.
	before := requests()
	env = map[string]string{"HOME": t.TempDir(), "HF_ENDPOINT": hub.URL, "HF_HUB_OFFLINE": "1"}
	code, _, stderr := runCmdEnv(t, env, "convert", "-i", input, "-o", filepath.Join(t.TempDir(), "b"), "--model_id", "auto")
	if code != 1 || !strings.Contains(stderr, "HF_HUB_OFFLINE=1") || !strings.Contains(stderr, "hf download acme/tiny-llm") || !strings.Contains(stderr, "--tokenizer_path") {
		t.Errorf("offline: code %d: %s", code, stderr)
	}
	if requests() != before {
		t.Error("offline mode made a request")
	}

	// Cached (plain files in the snapshot, as huggingface_hub lays them
	// out where symbolic links are not supported), with --offline.
	home = t.TempDir()
	repo := filepath.Join(home, ".cache", "huggingface", "hub", "models--acme--tiny-llm")
	commit := strings.Repeat("ab", 20)
	snap := filepath.Join(repo, "snapshots", commit)
	os.MkdirAll(snap, 0o755)
	os.MkdirAll(filepath.Join(repo, "refs"), 0o755)
	os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(commit), 0o644)
	for name, data := range files {
		os.WriteFile(filepath.Join(snap, name), data, 0o644)
	}
	env = map[string]string{"HOME": home, "HF_ENDPOINT": hub.URL}
	code, stdout, stderr := runCmdEnv(t, env, "convert", "-i", input, "-o", filepath.Join(t.TempDir(), "c"), "--model_id", "auto", "--offline")
	if code != 0 || !strings.Contains(stdout, "Hugging Face cache") || !strings.Contains(stdout, commit) {
		t.Errorf("cached: code %d:\n%s%s", code, stdout, stderr)
	}
	if requests() != before {
		t.Error("a cached tokenizer was fetched again")
	}
}

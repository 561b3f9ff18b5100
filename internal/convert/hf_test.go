package convert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/tokenizer"
)

// hfFiles is a small Hugging Face fast tokenizer (a WordLevel model with
// special tokens), written by hand as tokenizers' save_pretrained lays it
// out; transformers is not available to the tests.
func hfFiles(t *testing.T) map[string][]byte {
	t.Helper()
	vocab := map[string]int{"<unk>": 0, "<s>": 1, "</s>": 2}
	for i := 3; i < 90; i++ {
		vocab[fmt.Sprintf("w%d", i)] = i
	}
	added := []map[string]any{}
	for _, tok := range []string{"<unk>", "<s>", "</s>"} {
		added = append(added, map[string]any{"id": vocab[tok], "content": tok, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true})
	}
	tj, err := json.Marshal(map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil, "added_tokens": added,
		"normalizer": nil, "pre_tokenizer": map[string]any{"type": "Whitespace"}, "post_processor": nil, "decoder": nil,
		"model": map[string]any{"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := []byte(`{"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "model_max_length": 512, "tokenizer_class": "PreTrainedTokenizerFast"}`)
	return map[string][]byte{"tokenizer.json": tj, "tokenizer_config.json": cfg}
}

func writeHFDir(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "hf")
	os.Mkdir(dir, 0o755)
	for name, data := range hfFiles(t) {
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	return dir
}

func TestHuggingFaceTokenizerPath(t *testing.T) {
	dir, input := writeFixture(t, "--arch", "mixtral", "--backend", "torch_dist", "--form", "nemo")
	out := filepath.Join(t.TempDir(), "out")
	res, err := Run(context.Background(), Options{Input: input, Output: out,
		Target: &TargetOptions{ModelID: "auto", TokenizerPath: writeHFDir(t)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tokenizer != string(tokenizer.HuggingFace) {
		t.Errorf("tokenizer %q", res.Tokenizer)
	}
	for _, name := range []string{"tokenizer.json", "tokenizer_config.json"} {
		if _, err := os.Stat(filepath.Join(out, "context", tokenizer.HFContextDir, name)); err != nil {
			t.Error(err)
		}
	}
	checkWithTorch(t, out, dir, true)
}

// TestHubDownload converts a checkpoint whose config names a Hugging Face
// repository, served by a loopback Hub that wants a token.
func TestHubDownload(t *testing.T) {
	files := hfFiles(t)
	var sawToken bool
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret" {
			http.Error(w, "gated", http.StatusUnauthorized)
			return
		}
		sawToken = true
		name, ok := strings.CutPrefix(r.URL.Path, "/acme/tiny-llm/resolve/main/")
		data, found := files[name]
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	defer hub.Close()

	dir, input := writeFixture(t, "--arch", "llama", "--backend", "zarr", "--form", "dir")
	cfgPath := filepath.Join(input, "model_config.yaml")
	cfg, _ := os.ReadFile(cfgPath)
	i := strings.Index(string(cfg), "tokenizer:")
	os.WriteFile(cfgPath, []byte(string(cfg[:i])+"tokenizer:\n  library: huggingface\n  type: acme/tiny-llm\n  use_fast: true\n"), 0o644)

	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	_, err := Run(context.Background(), Options{Input: input, Output: out,
		Target: &TargetOptions{ModelID: "auto", Hub: &tokenizer.HubConfig{Endpoint: hub.URL}}})
	if !errors.Is(err, tokenizer.ErrHubAuth) {
		t.Errorf("without a token: %v, want ErrHubAuth", err)
	}
	if err == nil || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Errorf("the gated-repo error does not say how to fix it: %v", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("wrote %v", entries)
	}
	_, err = Run(context.Background(), Options{Input: input, Output: out,
		Target: &TargetOptions{ModelID: "auto", Hub: &tokenizer.HubConfig{Endpoint: hub.URL, Token: "secret"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !sawToken {
		t.Error("the token was never sent")
	}
	checkWithTorch(t, out, dir, true)

	// Offline (no Hub), the error says what to pass instead.
	_, err = Run(context.Background(), Options{Input: input, Output: filepath.Join(t.TempDir(), "o"), Target: &TargetOptions{ModelID: "auto"}})
	if err == nil || !strings.Contains(err.Error(), "--tokenizer_path") {
		t.Errorf("offline: %v", err)
	}

	// --tokenizer_library huggingface --tokenizer_path <Hub id> fetches
	// it as well; without the library it is a path, which is not there.
	out2 := filepath.Join(t.TempDir(), "out2")
	_, err = Run(context.Background(), Options{Input: input, Output: out2, Target: &TargetOptions{ModelID: "auto",
		TokenizerPath: "acme/tiny-llm", TokenizerLibrary: "huggingface", Hub: &tokenizer.HubConfig{Endpoint: hub.URL, Token: "secret"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out2, "context", tokenizer.HFContextDir, "tokenizer.json")); err != nil {
		t.Error(err)
	}
	_, err = Run(context.Background(), Options{Input: input, Output: filepath.Join(t.TempDir(), "o"), Target: &TargetOptions{ModelID: "auto",
		TokenizerPath: "acme/tiny-llm", Hub: &tokenizer.HubConfig{Endpoint: hub.URL, Token: "secret"}}})
	if err == nil || !strings.Contains(err.Error(), "acme/tiny-llm") {
		t.Errorf("a Hub id without --tokenizer_library huggingface: %v", err)
	}
}

package tokenizer

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// runTiktokenCheck runs tiktokencheck.py with args on python.
func runTiktokenCheck(t *testing.T, python string, modules []string, args ...string) string {
	t.Helper()
	stdout, stderr, err := oracle.RunErrWith(t, python, modules, `
import sys, runpy
sys.argv = ["tiktokencheck.py"] + sys.argv[1:]
runpy.run_module("tiktokencheck", run_name="__main__")
`, args...)
	if err != nil {
		t.Fatalf("tiktokencheck.py %s: %v\n%s%s", args[0], err, stdout, stderr)
	}
	return string(stdout)
}

// TestTiktokenHFJSON: a tiktoken vocabulary in NeMo's layout becomes a
// tokenizer.json under which transformers' AutoTokenizer gives every text
// the ids NeMo's TiktokenTokenizer gives it (real tiktoken with NeMo's
// pattern, ids shifted past the special tokens), decodes them back, and
// has NeMo's special tokens at NeMo's ids; with fewer special tokens
// than NeMo's default too.
func TestTiktokenHFJSON(t *testing.T) {
	mods := []string{"tiktoken", "transformers", "tokenizers"}
	stacks := oracle.StacksWith(t, mods...)
	if len(stacks) == 0 {
		return
	}
	dir := t.TempDir()
	vocab := filepath.Join(dir, "vocab.json")
	runTiktokenCheck(t, oracle.Interpreter(), nil, "make", vocab)
	data, err := os.ReadFile(vocab)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseTiktoken(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, specials := range []int{1000, 10} {
		out := filepath.Join(dir, "hf", strconv.Itoa(specials))
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		size := v.Ranks + specials
		tj, cfg, err := TiktokenHFJSON(bytes.NewReader(data), TiktokenOptions{VocabSize: size, NumSpecialTokens: specials})
		if err != nil {
			t.Fatal(err)
		}
		cj, err := marshalJSON(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, "tokenizer.json"), tj, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, "tokenizer_config.json"), cj, 0o644); err != nil {
			t.Fatal(err)
		}
		got := runTiktokenCheck(t, stacks[len(stacks)-1].Python, mods, "check", out, vocab,
			"--vocab-size", strconv.Itoa(size), "--specials", strconv.Itoa(specials))
		if !strings.HasPrefix(got, "ok: ") {
			t.Errorf("%d special tokens:\n%s", specials, got)
		}
	}

	// The vocabulary NeMo reads must hold vocab_size - num_special_tokens
	// tokens.
	if _, _, err := TiktokenHFJSON(bytes.NewReader(data), TiktokenOptions{}); err == nil || !strings.Contains(err.Error(), "needs 130072") {
		t.Errorf("a vocabulary short of NeMo's default size: %v", err)
	}
}

package export

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
	"github.com/nemo-migrate/nemo-migrate/internal/tokenizer"
)

// TestTiktokenTokenizer: a checkpoint's tiktoken vocabulary (NeMo's
// TiktokenTokenizer with its defaults: 1000 special tokens, vocab_size
// 131072) exports as a tokenizer.json that transformers loads and that
// encodes as NeMo's tokenizer does, checked against real tiktoken.
func TestTiktokenTokenizer(t *testing.T) {
	mods := []string{"tiktoken", "transformers", "tokenizers"}
	stacks := oracle.StacksWith(t, mods...)
	if len(stacks) == 0 {
		return
	}
	dir := t.TempDir()
	vocab := filepath.Join(dir, "nemotron_tokenizer.json")
	runScript(t, oracle.Interpreter(), nil, "tiktokencheck", "make", vocab, "--pad-to", "130072")
	info, err := tokenizer.TiktokenFile(vocab, tokenizer.TiktokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := &Plan{src: &Source{Path: "test", Tokenizer: info, Arch: models.Arch{SeqLength: 8192}}, ModelType: "nemotron_h"}
	if err := p.planTokenizer(); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := p.writeTokenizer(out); err != nil {
		t.Fatal(err)
	}
	got := runScript(t, stacks[len(stacks)-1].Python, mods, "tiktokencheck", "check", out, vocab, "--vocab-size", "131072")
	if !strings.Contains(got, "ok: ") {
		t.Errorf("%s", got)
	}
}

package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// spVariants trains SentencePiece models of every kind tokenizer.json must
// express: unigram and BPE, with and without byte fallback, the identity
// rule (Llama) and the default nmt_nfkc rule with whitespace collapsing.
const spVariants = `
import io, random, sys
import sentencepiece as spm
rng = random.Random(3)
words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyzéü") for _ in range(rng.randint(1, 9))) for _ in range(500)]
lines = [" ".join(rng.choice(words) for _ in range(10)) for _ in range(1500)]
variants = {
    "unigram-identity": dict(model_type="unigram", normalization_rule_name="identity", remove_extra_whitespaces=False),
    "unigram-nfkc": dict(model_type="unigram"),
    "bpe-identity-bytes": dict(model_type="bpe", normalization_rule_name="identity", remove_extra_whitespaces=False, byte_fallback=True),
    "bpe-nfkc": dict(model_type="bpe"),
    "unigram-nfkc-bytes": dict(model_type="unigram", byte_fallback=True, user_defined_symbols=["<tool>"]),
    "bpe-identity-user": dict(model_type="bpe", normalization_rule_name="identity", remove_extra_whitespaces=False, byte_fallback=True, user_defined_symbols=["<tool>"]),
}
for name, kw in variants.items():
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=out, vocab_size=400, minloglevel=2, **kw)
    open("%s/%s.model" % (sys.argv[1], name), "wb").write(out.getvalue())
print(" ".join(variants))
`

// spCompare encodes sample texts with sentencepiece and with tokenizers
// from our tokenizer.json, and prints every difference.
const spCompare = `
import json, random, sys
import sentencepiece as spm
from tokenizers import Tokenizer
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
tok = Tokenizer.from_file(sys.argv[2])
rng = random.Random(5)
alphabet = "abcdefghijklmnopqrstuvwxyz" * 4 + "éüÉ  \t\n.,!?0123456789ｆｕｌｌ①ﬁ漢字🙂" + "<tool>"
texts = ["", " ", "hello", "  leading", "trailing  ", "two  spaces", "tab\there", "line\nbreak", "<tool> x", "ｆｕｌｌ ｗｉｄｔｈ"]
texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(400)]
bad = 0
for t in texts:
    want = [sp.bos_id()] + sp.encode(t)
    got = tok.encode(t).ids
    if want != got:
        bad += 1
        if bad <= 5:
            print("MISMATCH %r sp=%s hf=%s" % (t, want, got))
    # sentencepiece renders an unknown piece as " \u2047 ", tokenizers
    # drops it as a special token: compare the rest.
    dec = tok.decode(got, skip_special_tokens=True)
    if sp.unk_id() not in want and dec != sp.decode(sp.encode(t)):
        bad += 1
        if bad <= 5:
            print("DECODE %r sp=%r hf=%r" % (t, sp.decode(sp.encode(t)), dec))
print("checked %d texts, %d differences" % (len(texts), bad))
`

// TestHFTokenizerJSON proves tokenizer.json encodes (and decodes) as
// SentencePiece itself does, with the real sentencepiece and tokenizers
// libraries on the other side.
func TestHFTokenizerJSON(t *testing.T) {
	mods := []string{"sentencepiece", "tokenizers"}
	for _, st := range oracle.StacksWith(t, mods...) {
		t.Run(st.Name, func(t *testing.T) {
			dir := t.TempDir()
			names := strings.Fields(string(oracle.RunWith(t, st.Python, mods, spVariants, dir)))
			if len(names) == 0 {
				t.Fatal("no models trained")
			}
			for _, name := range names {
				t.Run(name, func(t *testing.T) {
					m, err := ReadModelFile(filepath.Join(dir, name+".model"))
					if err != nil {
						t.Fatal(err)
					}
					js, err := m.HFTokenizerJSON(true)
					if strings.Contains(name, "bpe") && strings.Contains(name, "user") {
						if err == nil {
							t.Fatal("a BPE model with user-defined pieces has no exact tokenizer.json, but one was written")
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					path := filepath.Join(dir, name+".json")
					if err := os.WriteFile(path, js, 0o644); err != nil {
						t.Fatal(err)
					}
					out := string(oracle.RunWith(t, st.Python, mods, spCompare, filepath.Join(dir, name+".model"), path))
					if !strings.Contains(out, " 0 differences") {
						t.Errorf("%s", out)
					}
				})
			}
		})
	}
}

package tokenizer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

func readGPT2Seed(t testing.TB, prefix string) (vocab, merges []byte) {
	t.Helper()
	vocab, err := os.ReadFile("testdata/" + prefix + "_vocab.json")
	if err != nil {
		t.Fatal(err)
	}
	merges, err = os.ReadFile("testdata/" + prefix + "_merges.txt")
	if err != nil {
		t.Fatal(err)
	}
	return vocab, merges
}

func TestParseGPT2BPESeeds(t *testing.T) {
	for _, c := range []struct {
		prefix         string
		tokens, merges int
	}{{"gpt2bpe", 421, 164}, {"gpt2bpe_tiny", 271, 14}} {
		vocab, merges := readGPT2Seed(t, c.prefix)
		b, err := ParseGPT2BPE(vocab, merges, "vocab.json", "merges.txt")
		if err != nil {
			t.Fatalf("%s: %v", c.prefix, err)
		}
		if len(b.Tokens) != c.tokens || len(b.Merges) != c.merges || b.EOT != c.tokens-1 || b.Tokens[b.EOT] != GPT2EndOfText {
			t.Errorf("%s: %d tokens, %d merges, eot %d", c.prefix, len(b.Tokens), len(b.Merges), b.EOT)
		}
	}
}

// TestGPT2BPEInfo checks what a NeMo 2 context gets: the two files under
// GPT-2's names and the two generated ones, which this package reads back
// as the Hugging Face tokenizer directory they form.
func TestGPT2BPEInfo(t *testing.T) {
	vocab, merges := readGPT2Seed(t, "gpt2bpe")
	in, err := GPT2BPEBytes(vocab, merges, "m.nemo:./ab_vocab.json", "m.nemo:./cd_merges.txt")
	if err != nil {
		t.Fatal(err)
	}
	if in.Library != Megatron || in.Class != AutoTokenizerClass || in.Arg != "pretrained_model_name" || in.Path != HFContextDir ||
		in.VocabSize != 421 || in.MaxID != 420 || in.BOS != 420 || in.EOS != 420 || in.UNK != 420 || in.PAD != -1 {
		t.Errorf("info %+v", in)
	}
	ctx := t.TempDir()
	if err := in.WriteFiles(ctx); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(ctx, HFContextDir)
	for name, want := range map[string][]byte{"vocab.json": vocab, "merges.txt": merges} {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != string(want) {
			t.Errorf("%s is not the source's bytes", name)
		}
	}
	hf, err := ReadHFDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if hf.TokenizerClass != "GPT2Tokenizer" || hf.ModelType != "BPE" || hf.VocabSize != 421 || hf.MaxID != 420 ||
		hf.BOS.ID != 420 || hf.EOS.ID != 420 || hf.UNK.ID != 420 || hf.AddedTokens != 0 || len(hf.Notes) != 0 {
		t.Errorf("read back: %+v", hf)
	}
	// A directory of the two files loads the same way.
	if err := os.Remove(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	again, err := Load(dir, Megatron, false)
	if err != nil {
		t.Fatal(err)
	}
	if again.VocabSize != 421 || len(again.Files) != 4 || again.Files[0].Source != filepath.Join(dir, "vocab.json") {
		t.Errorf("Load(megatron): %+v", again)
	}
	if _, err := Load(filepath.Join(dir, "vocab.json"), Megatron, false); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("Load(megatron) of a file: %v", err)
	}
	if _, err := Load(t.TempDir(), Megatron, false); err == nil || !strings.Contains(err.Error(), "vocab.json") {
		t.Errorf("Load(megatron) of an empty directory: %v", err)
	}
}

// alphabetVocab is a minimal valid vocab.json: the 256 byte tokens, then
// extra tokens, then <|endoftext|>.
func alphabetVocab(extra ...string) string {
	var b strings.Builder
	b.WriteString("{")
	id := 0
	add := func(tok string) {
		if id > 0 {
			b.WriteString(",")
		}
		var s strings.Builder
		writeJSONStringTo(&s, tok)
		b.WriteString(s.String() + ":" + strconv.Itoa(id))
		id++
	}
	for c := range 256 {
		add(string(byteLevelRune(byte(c))))
	}
	for _, e := range extra {
		add(e)
	}
	add(GPT2EndOfText)
	b.WriteString("}")
	return b.String()
}

func writeJSONStringTo(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

func TestParseGPT2BPEErrors(t *testing.T) {
	good := alphabetVocab("he", "ll", "hell")
	goodMerges := "#version: 0.2\nh e\nl l\nhe ll\n"
	if _, err := ParseGPT2BPE([]byte(good), []byte(goodMerges), "v", "m"); err != nil {
		t.Fatalf("valid files refused: %v", err)
	}
	// CRLF line ends read as every reader reads them.
	if b, err := ParseGPT2BPE([]byte(good), []byte(strings.ReplaceAll(goodMerges, "\n", "\r\n")), "v", "m"); err != nil || len(b.Merges) != 3 {
		t.Errorf("CRLF merges: %v", err)
	}
	// The header alone, with or without a line end, is no merges.
	for _, m := range []string{"#version: 0.2", "#version: 0.2\n"} {
		if b, err := ParseGPT2BPE([]byte(good), []byte(m), "v", "m"); err != nil || len(b.Merges) != 0 {
			t.Errorf("%q: %v", m, err)
		}
	}
	withoutByte := strings.Replace(good, `"Ā":`, `"Āx":`, 1)
	for _, c := range []struct {
		name, vocab, merges, want string
	}{
		{"invalid utf-8", "{\"\xff\":0}", goodMerges, "not valid UTF-8"},
		{"not an object", `["a"]`, goodMerges, "not a JSON object"},
		{"empty", ``, goodMerges, "not a JSON object"},
		{"trailing data", good + "{}", goodMerges, "data after"},
		{"truncated", good[:len(good)/2], goodMerges, "EOF"},
		{"duplicate token", strings.Replace(good, `"he":256`, `"ll":256`, 1), goodMerges, `"ll" appears twice`},
		{"float id", strings.Replace(good, `"he":256`, `"he":256.0`, 1), goodMerges, "not a token id"},
		{"string id", strings.Replace(good, `"he":256`, `"he":"256"`, 1), goodMerges, "want an integer"},
		{"object id", strings.Replace(good, `"he":256`, `"he":{}`, 1), goodMerges, "want an integer"},
		{"negative id", strings.Replace(good, `"he":256`, `"he":-1`, 1), goodMerges, "not a token id"},
		{"huge id", strings.Replace(good, `"he":256`, `"he":99999999999999999999`, 1), goodMerges, "not a token id"},
		{"gap", strings.Replace(good, `"he":256`, `"he":900`, 1), goodMerges, "ids must be 0.."},
		{"id twice", strings.Replace(good, `"ll":257`, `"ll":256`, 1), goodMerges, "is given to both"},
		{"missing byte", withoutByte, goodMerges, "byte 0x00"},
		{"no eot", strings.Replace(good, GPT2EndOfText, "eot", 1), goodMerges, "no <|endoftext|>"},
		{"space in token", strings.Replace(good, `"he":256`, `"h e":256`, 1), goodMerges, "byte-level alphabet"},
		{"surrogate", strings.Replace(good, `"he":256`, `"\ud800":256`, 1), goodMerges, "byte-level alphabet"},
		{"empty token", strings.Replace(good, `"he":256`, `"":256`, 1), goodMerges, "empty token"},
		{"no header", good, "h e\nl l\n", `line 1 is "h e"`},
		{"no last line end", good, "#version: 0.2\nh e\nl l", "line 3"},
		{"bare CR", good, "#version: 0.2\nh e\rl l\n", "carriage return"},
		{"one token", good, "#version: 0.2\nh\n", "line 2"},
		{"three tokens", good, "#version: 0.2\nh e l\n", "line 2"},
		{"two spaces", good, "#version: 0.2\nh  e\n", "line 2"},
		{"tab", good, "#version: 0.2\nh\te\n", "line 2"},
		{"empty line", good, "#version: 0.2\n\nh e\n", "line 2"},
		{"second header", good, "#version: 0.2\n#version: 0.2\n", "line 2"},
		{"unknown token", good, "#version: 0.2\nh x\n", `"hx" is not in the vocabulary`},
		{"merged unknown", good, "#version: 0.2\nl o\n", `"lo" is not in the vocabulary`},
		{"repeated merge", good, "#version: 0.2\nh e\nh e\n", "repeats"},
		{"merges not utf-8", good, "#version: 0.2\nh \xff\n", "not valid UTF-8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseGPT2BPE([]byte(c.vocab), []byte(c.merges), "v.json", "m.txt")
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "v.json") && !strings.Contains(err.Error(), "m.txt") {
				t.Errorf("error %q names neither file", err)
			}
		})
	}
	big := make([]byte, MaxFileSize+1)
	if _, err := ParseGPT2BPE(big, []byte(goodMerges), "v", "m"); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("oversized vocabulary: %v", err)
	}
	if _, err := ParseGPT2BPE([]byte(good), big, "v", "m"); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("oversized merges: %v", err)
	}
}

func TestGPT2TokenizerJSON(t *testing.T) {
	vocab, merges := readGPT2Seed(t, "gpt2bpe")
	b, err := ParseGPT2BPE(vocab, merges, "v", "m")
	if err != nil {
		t.Fatal(err)
	}
	tj, err := b.TokenizerJSON()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := parseTokenizerJSON(tj)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Model.Type != "BPE" || len(parsed.Model.Vocab.ids) != 421 || parsed.Model.Vocab.maxID != 420 ||
		len(parsed.AddedTokens) != 1 || parsed.AddedTokens[0].ID != 420 || parsed.AddedTokens[0].Content != GPT2EndOfText {
		t.Errorf("tokenizer.json: %+v", parsed)
	}
	for id, tok := range b.Tokens {
		if got := parsed.Model.Vocab.ids[tok]; got != int64(id) {
			t.Fatalf("token %q has id %d in tokenizer.json, %d in vocab.json", tok, got, id)
		}
	}
	if !strings.Contains(string(tj), `"<|endoftext|>"`) || !strings.Contains(string(tj), `"Ġ t"`) {
		t.Errorf("tokenizer.json escapes tokens or lacks merges:\n%.400s", tj)
	}
}

func TestByteLevelAlphabet(t *testing.T) {
	seen := map[rune]bool{}
	for c := range 256 {
		r := byteLevelRune(byte(c))
		if seen[r] || !isByteLevelRune(r) {
			t.Fatalf("byte %d: rune %q repeated or outside the alphabet", c, r)
		}
		seen[r] = true
	}
	// GPT-2's well-known spellings: space is Ġ, newline Ċ.
	if byteLevelRune(' ') != 'Ġ' || byteLevelRune('\n') != 'Ċ' || byteLevelRune('a') != 'a' || byteLevelRune(0xAD) != 'Ń' {
		t.Error("alphabet differs from bytes_to_unicode")
	}
	if isByteLevelRune(' ') || isByteLevelRune(0xAD) || isByteLevelRune(256+68) {
		t.Error("rune outside the alphabet accepted")
	}
}

// runPyScript runs one of internal/oracle/py's scripts as __main__ and
// returns its standard output; a failing script fails t with both outputs
// (the checks print their findings to standard output).
func runPyScript(t *testing.T, python string, modules []string, script string, args ...string) string {
	t.Helper()
	stdout, stderr, err := oracle.RunErrWith(t, python, modules, `
import sys, runpy
name = sys.argv[1]
sys.argv = [name + ".py"] + sys.argv[2:]
runpy.run_module(name, run_name="__main__")
`, append([]string{script}, args...)...)
	if err != nil {
		t.Fatalf("%s.py (%s): %v\n%s%s", script, python, err, stdout, stderr)
	}
	return string(stdout)
}

var gpt2Modules = []string{"transformers", "tokenizers", "regex", "yaml"}

// TestGPT2BPETransformers proves the files a NeMo 2 context gets with real
// transformers and tokenizers: AutoTokenizer loads the directory both ways
// (fast from our tokenizer.json, slow from vocab.json and merges.txt), and
// each encodes texts with accents, CJK, emoji, whitespace runs and
// <|endoftext|> as GPT-2's byte-level BPE over the same two files does.
func TestGPT2BPETransformers(t *testing.T) {
	stacks := oracle.StacksWith(t, gpt2Modules...)
	if len(stacks) == 0 {
		return
	}
	tmp := t.TempDir()
	var paths []string
	for _, name := range []string{"gpt2bpe_vocab.json", "gpt2bpe_merges.txt"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	vocab, _ := os.ReadFile(paths[0])
	merges, _ := os.ReadFile(paths[1])
	in, err := GPT2BPEBytes(vocab, merges, paths[0], paths[1])
	if err != nil {
		t.Fatal(err)
	}
	ctx := filepath.Join(tmp, "context")
	if err := in.WriteFiles(ctx); err != nil {
		t.Fatal(err)
	}
	// Without tokenizer.json too: the slow files alone must load as well.
	slow := filepath.Join(tmp, "slow")
	for _, f := range in.Files {
		if strings.HasSuffix(f.Name, "/tokenizer.json") {
			continue
		}
		data, _ := os.ReadFile(filepath.Join(ctx, f.Name))
		os.MkdirAll(slow, 0o755)
		os.WriteFile(filepath.Join(slow, filepath.Base(f.Name)), data, 0o644)
	}
	for _, s := range stacks {
		out := runPyScript(t, s.Python, gpt2Modules, "gpt2check", paths[0], paths[1], filepath.Join(ctx, HFContextDir), slow)
		if !strings.HasPrefix(out, "ok: 6 tokenizers") {
			t.Errorf("%s: %s", s.Name, out)
		}
	}
}

package tokenizer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// The seeds hold the 256 single bytes and 7 merged tokens (testdata/gen.py).
const seedTiktokenRanks = 263

func TestTiktokenSeeds(t *testing.T) {
	for _, c := range []struct {
		file   string
		format TiktokenFormat
		ranks  int
	}{
		{"testdata/tiktoken_vocab.json", TiktokenJSON, seedTiktokenRanks},
		{"testdata/vocab.tiktoken", TiktokenBPE, seedTiktokenRanks},
		{"testdata/tiktoken_small.json", TiktokenJSON, 4},
		{"testdata/small.tiktoken", TiktokenBPE, 4},
	} {
		v, err := ReadTiktokenFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		if v.Format != c.format || v.Ranks != c.ranks || v.MaxRank != c.ranks-1 {
			t.Errorf("%s: %+v", c.file, v)
		}
	}
}

func TestTiktokenFileOptions(t *testing.T) {
	in, err := TiktokenFile("testdata/tiktoken_vocab.json", TiktokenOptions{VocabSize: 1000 + seedTiktokenRanks})
	if err != nil {
		t.Fatal(err)
	}
	if in.Library != Tiktoken || in.Class != TiktokenClass || in.Arg != "vocab_file" || in.Path != "tiktoken_vocab.json" ||
		in.VocabSize != 1263 || in.MaxID != 1262 || in.UNK != 0 || in.BOS != 1 || in.EOS != 2 || in.PAD != 4 {
		t.Errorf("Info %+v", in)
	}
	ctx := t.TempDir()
	if err := in.WriteFiles(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile("testdata/tiktoken_vocab.json")
	b, _ := os.ReadFile(filepath.Join(ctx, "tiktoken_vocab.json"))
	if !bytes.Equal(a, b) {
		t.Error("written vocabulary differs")
	}

	// NeMo reads vocab_size - num_special_tokens tokens and needs them all.
	_, err = TiktokenFile("testdata/tiktoken_vocab.json", TiktokenOptions{VocabSize: 1001 + seedTiktokenRanks})
	if err == nil || !strings.Contains(err.Error(), "needs at least 264") {
		t.Errorf("too small a vocabulary: %v", err)
	}
	_, err = TiktokenFile("testdata/tiktoken_vocab.json", TiktokenOptions{})
	if err == nil || !strings.Contains(err.Error(), "needs at least 130072") {
		t.Errorf("defaults: %v", err)
	}
	_, err = TiktokenFile("testdata/vocab.tiktoken", TiktokenOptions{VocabSize: 1263})
	if err == nil || !strings.Contains(err.Error(), "*.json") {
		t.Errorf("a .tiktoken name: %v", err)
	}
	dir := t.TempDir()
	lines, _ := os.ReadFile("testdata/vocab.tiktoken")
	os.WriteFile(filepath.Join(dir, "lines.json"), lines, 0o644)
	_, err = TiktokenFile(filepath.Join(dir, "lines.json"), TiktokenOptions{VocabSize: 1263})
	if err == nil || !strings.Contains(err.Error(), "reads only the JSON list layout") {
		t.Errorf("line layout named .json: %v", err)
	}
	custom := TiktokenOptions{VocabSize: 1263, SpecialTokens: []string{"<s>", "</s>", "<unk>", "<pad>", "<mask>", "<cls>", "<sep>", "<x>"}}
	in, err = TiktokenFile("testdata/tiktoken_vocab.json", custom)
	if err != nil {
		t.Fatal(err)
	}
	if in.BOS != 0 || in.EOS != 1 || in.UNK != 2 || in.PAD != 3 {
		t.Errorf("custom specials: %+v", in)
	}
	for _, bad := range []TiktokenOptions{
		{VocabSize: 1263, SpecialTokens: []string{"<s>", "</s>"}},
		{VocabSize: 1263, SpecialTokens: append(custom.SpecialTokens, "<s>")},
		{VocabSize: 1000},
		{VocabSize: 1263, NumSpecialTokens: 3},
	} {
		if _, err := TiktokenFile("testdata/tiktoken_vocab.json", bad); err == nil {
			t.Errorf("options %+v accepted", bad)
		}
	}
}

// TestTiktokenNemotronSize reads a vocabulary of the size NemotronH's
// defaults need, written by Python's json and base64 modules.
func TestTiktokenNemotronSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vocab.json")
	oracle.Run(t, nil, `
import base64, json, sys
toks = [bytes([i]) for i in range(256)]
toks += [("t%d" % i).encode() for i in range(130072 - 256 + 10)]
with open(sys.argv[1], "w") as f:
    json.dump([{"rank": i, "token_bytes": base64.b64encode(t).decode(), "token_str": t.decode("utf-8", "replace")}
               for i, t in enumerate(toks)], f)
`, path)
	in, err := TiktokenFile(path, TiktokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if in.VocabSize != 131072 || in.BOS != 1 || in.EOS != 2 || in.UNK != 0 || in.PAD != 4 || in.Path != "vocab.json" {
		t.Errorf("Info %+v", in)
	}
	if _, err := CheckEmbedding(in, 131072); err != nil {
		t.Error(err)
	}
}

func tiktokenEntry(rank any, tok []byte) map[string]any {
	return map[string]any{"rank": rank, "token_bytes": base64.StdEncoding.EncodeToString(tok), "token_str": string(tok)}
}

func byteEntries() []map[string]any {
	var es []map[string]any
	for i := 0; i < 256; i++ {
		es = append(es, tiktokenEntry(i, []byte{byte(i)}))
	}
	return es
}

func TestTiktokenErrors(t *testing.T) {
	js := func(es []map[string]any) string {
		b, _ := json.Marshal(es)
		return string(b)
	}
	with := func(extra ...map[string]any) []map[string]any { return append(byteEntries(), extra...) }
	swapped := byteEntries()
	swapped[3]["token_bytes"], swapped[4]["token_bytes"] = swapped[4]["token_bytes"], swapped[3]["token_bytes"]
	extraKey := with(tiktokenEntry(256, []byte("ab")))
	extraKey[256]["id"] = 1
	missingKey := with(tiktokenEntry(256, []byte("ab")))
	delete(missingKey[256], "token_str")
	floatRank := with(map[string]any{"rank": json.Number("256.0"), "token_bytes": "YWI=", "token_str": "ab"})
	cases := []struct {
		name, data, want string
	}{
		{"empty", "", "empty vocabulary"},
		{"spaces", "   \n", "empty vocabulary"},
		{"empty-list", "[]", "empty vocabulary"},
		{"object", `{"a": 1}`, "line 1"},
		{"unterminated", js(byteEntries())[:100], "entry"},
		{"trailing", js(byteEntries()) + "[]", "data after"},
		{"not-objects", "[1, 2]", "entry 0"},
		{"rank-gap", js(with(tiktokenEntry(257, []byte("ab")))), "rank 257, want 256"},
		{"rank-string", js(with(tiktokenEntry("256", []byte("ab")))), "entry 256"},
		{"not-bytes-first", js(swapped), "entry 3"},
		{"extra-key", js(extraKey), `unknown field "id"`},
		{"missing-key", js(missingKey), "lacks a key"},
		{"bad-base64", js(with(map[string]any{"rank": 256, "token_bytes": "!!", "token_str": ""})), "not base64"},
		{"token-bytes-number", js(with(map[string]any{"rank": 256, "token_bytes": 5, "token_str": ""})), "entry 256"},
		{"duplicate-token", js(with(tiktokenEntry(256, []byte("ab")), tiktokenEntry(257, []byte("ab")))), "repeats the token of entry 256"},
		{"line-fields", "YQ== 0 x\n", "got 3 fields"},
		{"line-base64", "Y!== 0\n", "not base64"},
		{"line-rank", "YQ== x\n", `rank "x"`},
		{"line-negative", "YQ== -1\n", `rank "-1"`},
		{"line-huge", "YQ== 99999999999\n", "rank"},
		{"line-dup-rank", "YQ== 0\nYg== 0\n", "rank 0 already given on line 1"},
		{"line-dup-token", "YQ== 0\nYQ== 1\n", "given twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseTiktoken(strings.NewReader(c.data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
	// Python compares ranks with ==, so 256.0 is rank 256.
	if v, err := ParseTiktoken(strings.NewReader(js(floatRank))); err != nil || v.Ranks != 257 {
		t.Errorf("float rank: %v %+v", err, v)
	}
	// Blank lines are skipped in the line layout, as tiktoken does.
	if v, err := ParseTiktoken(strings.NewReader("\nYQ== 5\n\nYg== 3\n")); err != nil || v.Ranks != 2 || v.MaxRank != 5 {
		t.Errorf("blank lines: %v %+v", err, v)
	}
}

func TestTiktokenSizeLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.json")
	f, _ := os.Create(path)
	f.Truncate(MaxFileSize + 1)
	f.Close()
	if _, err := ReadTiktokenFile(path); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("file: %v", err)
	}
	// A stream over the limit is cut off, whether it parses or not.
	seed, _ := os.ReadFile("testdata/tiktoken_vocab.json")
	for _, data := range []string{string(seed), "[" + strings.Repeat(" ", len(seed)) + "]", distinctLines(2000)} {
		if _, err := parseTiktoken(strings.NewReader(data), int64(len(seed)-1), nil); err == nil || !strings.Contains(err.Error(), "too large") {
			t.Errorf("oversized stream: %v", err)
		}
	}
	if _, err := ReadTiktokenFile(filepath.Dir(path)); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
}

func distinctLines(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s %d\n", base64.StdEncoding.EncodeToString([]byte(fmt.Sprint("t", i))), i)
	}
	return b.String()
}

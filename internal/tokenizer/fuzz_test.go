package tokenizer

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/membudget"
)

func addSeeds(f *testing.F, pattern string) {
	seeds, _ := filepath.Glob(pattern)
	if len(seeds) == 0 {
		f.Fatalf("no seeds match %s", pattern)
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzParseModel feeds arbitrary bytes to the SentencePiece parser, seeded
// with models trained by sentencepiece (testdata/*.model). It must never
// panic, and whatever it accepts must satisfy the checks it promises.
func FuzzParseModel(f *testing.F) {
	addSeeds(f, "testdata/spm_tiny_*.model")
	f.Add(modelOf(basicPieces(), nil, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer membudget.Check(t, len(data))()
		m, err := ParseModel(data)
		if err != nil {
			return
		}
		n := len(m.Pieces)
		if n == 0 || n > MaxPieces {
			t.Fatalf("%d pieces accepted", n)
		}
		unks := 0
		for _, p := range m.Pieces {
			if p.Piece == "" || p.Type < Normal || p.Type > Byte {
				t.Fatalf("bad piece accepted: %+v", p)
			}
			if p.Type == Unknown {
				unks++
			}
		}
		if unks != 1 {
			t.Fatalf("%d unknown pieces", unks)
		}
		for _, id := range []int{m.UnkID(), m.BosID(), m.EosID(), m.PadID()} {
			if id < -1 || id >= n {
				t.Fatalf("special id %d outside [-1, %d)", id, n)
			}
		}
		if m.UnkID() >= 0 && m.Pieces[m.UnkID()].Type != Unknown {
			t.Fatal("unk id is not an UNKNOWN piece")
		}
		in := m.Info("tokenizer.model", false)
		if in.VocabSize != n || in.MaxID != n-1 {
			t.Fatalf("Info %+v for %d pieces", in, n)
		}
	})
}

// FuzzParseHF feeds arbitrary tokenizer.json and tokenizer_config.json
// contents to the Hugging Face parser. The seeds are miniature versions of
// the hand-built fixtures (hf_fixture_test.go) in the three vocabulary
// layouts: the fuzzer minimizes each new input in time quadratic in its
// size, so seeds of a few hundred bytes explore far more than full ones.
func FuzzParseHF(f *testing.F) {
	f.Add([]byte(`{"version":"1.0","added_tokens":[{"id":5,"content":"<|begin_of_text|>","special":true},`+
		`{"id":6,"content":"<|end_of_text|>","special":true}],"normalizer":null,`+
		`"model":{"type":"BPE","dropout":null,"fuse_unk":false,"vocab":{"a":0,"b":1,"Ġ":2,"Ġa":3,"ab":4},"merges":["Ġ a","a b"]}}`),
		[]byte(`{"added_tokens_decoder":{"5":{"content":"<|begin_of_text|>","special":true}},"bos_token":"<|begin_of_text|>",`+
			`"eos_token":{"__type":"AddedToken","content":"<|end_of_text|>"},"model_max_length":1000000000000000019884624838656,`+
			`"tokenizer_class":"PreTrainedTokenizerFast"}`))
	f.Add([]byte(`{"added_tokens":[{"id":0,"content":"<pad>"},{"id":1,"content":"</s>"},{"id":4,"content":"<extra_id_0>"}],`+
		`"model":{"type":"Unigram","unk_id":2,"vocab":[["<pad>",0.0],["</s>",0.0],["<unk>",0.0],["▁a",-2.5]]}}`),
		[]byte(`{"eos_token":"</s>","pad_token":"<pad>","unk_token":"<unk>","tokenizer_class":"T5Tokenizer"}`))
	f.Add([]byte(`{"added_tokens":[{"id":1,"content":"[CLS]"},{"id":2,"content":"[SEP]"}],`+
		`"model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","vocab":{"[UNK]":0,"[CLS]":1,"[SEP]":2,"##s":3}}}`),
		[]byte(`{"cls_token":"[CLS]","sep_token":"[SEP]","unk_token":"[UNK]","bos_token":null}`))
	f.Fuzz(func(t *testing.T, tokJSON, cfg []byte) {
		defer membudget.Check(t, len(tokJSON)+len(cfg))()
		tk, err := ParseHF(map[string][]byte{"tokenizer.json": tokJSON, "tokenizer_config.json": cfg})
		if err != nil {
			return
		}
		if tk.VocabSize <= 0 || tk.MaxID < 0 || tk.MaxID > maxTokenID || tk.AddedTokens < 0 || tk.AddedTokens > tk.VocabSize {
			t.Fatalf("accepted with vocab %d max id %d added %d", tk.VocabSize, tk.MaxID, tk.AddedTokens)
		}
		for _, s := range []SpecialToken{tk.BOS, tk.EOS, tk.PAD, tk.UNK} {
			if s.ID < -1 || s.ID > tk.MaxID || (s.ID >= 0 && s.Content == "") {
				t.Fatalf("special token %+v with max id %d", s, tk.MaxID)
			}
		}
	})
}

// FuzzParseTiktoken feeds arbitrary bytes to the tiktoken parser, seeded
// with vocabularies in both layouts written by Python (testdata).
func FuzzParseTiktoken(f *testing.F) {
	addSeeds(f, "testdata/*small*")
	f.Fuzz(func(t *testing.T, data []byte) {
		defer membudget.Check(t, len(data))()
		v, err := ParseTiktoken(bytes.NewReader(data))
		if err != nil {
			return
		}
		if v.Ranks <= 0 || v.MaxRank < v.Ranks-1 {
			t.Fatalf("accepted %+v", v)
		}
		if v.Format == TiktokenJSON && (v.MaxRank != v.Ranks-1) {
			t.Fatalf("JSON vocabulary with gaps accepted: %+v", v)
		}
	})
}

// FuzzParseGPT2BPE feeds arbitrary vocab.json and merges.txt pairs to the
// GPT-2 parser, seeded with the tiny files the tokenizers library trained
// (testdata/gpt2bpe_tiny_*) and variants of them. Whatever it accepts must
// hold the promised form, and must make a tokenizer.json the tokenizer
// reader accepts with the same vocabulary.
func FuzzParseGPT2BPE(f *testing.F) {
	vocab, merges := readGPT2Seed(f, "gpt2bpe_tiny")
	f.Add(vocab, merges)
	f.Add(vocab, []byte("#version: 0.2\n"))
	f.Add([]byte(alphabetVocab("he", "ll", "hell")), []byte("#version: 0.2\r\nh e\r\nl l\r\nhe ll\r\n"))
	f.Add([]byte(`{"a":0}`), []byte("#version: 0.2\na b\n"))
	f.Fuzz(func(t *testing.T, vocab, merges []byte) {
		defer membudget.Check(t, len(vocab)+len(merges))()
		b, err := ParseGPT2BPE(vocab, merges, "vocab.json", "merges.txt")
		if err != nil {
			return
		}
		ids := map[string]int{}
		for id, tok := range b.Tokens {
			if _, dup := ids[tok]; dup || checkByteLevel(tok) != nil {
				t.Fatalf("token %q accepted twice or outside the alphabet", tok)
			}
			ids[tok] = id
		}
		if len(b.Tokens) < 257 || b.Tokens[b.EOT] != GPT2EndOfText {
			t.Fatalf("%d tokens, eot %d accepted", len(b.Tokens), b.EOT)
		}
		for _, m := range b.Merges {
			if _, ok := ids[m[0]+m[1]]; !ok {
				t.Fatalf("merge %q into an unknown token accepted", m)
			}
		}
		tj, err := b.TokenizerJSON()
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := parseTokenizerJSON(tj)
		if err != nil {
			t.Fatalf("own tokenizer.json refused: %v", err)
		}
		if len(parsed.Model.Vocab.ids) != len(b.Tokens) {
			t.Fatalf("tokenizer.json has %d tokens, vocab.json %d", len(parsed.Model.Vocab.ids), len(b.Tokens))
		}
	})
}

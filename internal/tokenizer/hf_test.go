package tokenizer

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestHFDirFixtures(t *testing.T) {
	llama3, n3 := llama3Fixture()
	t5, n5 := t5Fixture()
	bert, nb := bertFixture()
	gpt2, ng := gpt2SlowFixture()
	spm, err := ReadModelFile("testdata/spm_unigram.model")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		files     map[string][]byte
		class     string
		modelType string
		vocab     int
		maxID     int
		added     int
		bos, eos  SpecialToken
		pad, unk  SpecialToken
		copied    []string
	}{
		{
			name: "llama3", files: llama3, class: "PreTrainedTokenizerFast", modelType: "BPE",
			vocab: n3 + 4, maxID: n3 + 3, added: 4,
			bos: SpecialToken{"<|begin_of_text|>", n3}, eos: SpecialToken{"<|end_of_text|>", n3 + 1},
			pad: SpecialToken{"", -1}, unk: SpecialToken{"", -1},
			copied: []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"},
		},
		{
			// The specials are both added tokens and vocabulary entries:
			// counted once, as tokenizers' get_vocab_size does.
			name: "t5-unigram", files: t5, class: "T5Tokenizer", modelType: "Unigram",
			vocab: n5 + 1, maxID: n5, added: 1,
			bos: SpecialToken{"", -1}, eos: SpecialToken{"</s>", 1}, pad: SpecialToken{"<pad>", 0}, unk: SpecialToken{"<unk>", 2},
			copied: []string{"tokenizer.json", "tokenizer_config.json"},
		},
		{
			// No bos/eos: NeMo's AutoTokenizer uses cls and sep instead.
			name: "bert-wordpiece", files: bert, modelType: "WordPiece", vocab: nb, maxID: nb - 1,
			bos: SpecialToken{"[CLS]", 3}, eos: SpecialToken{"[SEP]", 4}, pad: SpecialToken{"[PAD]", 0}, unk: SpecialToken{"[UNK]", 2},
			copied: []string{"tokenizer.json", "tokenizer_config.json", "vocab.txt", "config.json"},
		},
		{
			name: "llama2-slow", files: llama2SlowFixture(t), class: "LlamaTokenizer", modelType: "SentencePiece unigram",
			vocab: len(spm.Pieces), maxID: len(spm.Pieces) - 1,
			bos: SpecialToken{"<s>", spm.BosID()}, eos: SpecialToken{"</s>", spm.EosID()},
			pad: SpecialToken{"", -1}, unk: SpecialToken{"<unk>", spm.UnkID()},
			copied: []string{"tokenizer_config.json", "special_tokens_map.json", "tokenizer.model"},
		},
		{
			name: "gpt2-slow", files: gpt2, class: "GPT2Tokenizer", modelType: "BPE", vocab: ng, maxID: ng - 1,
			bos: SpecialToken{"<|endoftext|>", ng - 1}, eos: SpecialToken{"<|endoftext|>", ng - 1},
			pad: SpecialToken{"", -1}, unk: SpecialToken{"<|endoftext|>", ng - 1},
			copied: []string{"tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "src")
			writeFixture(t, src, c.files)
			// Files a model directory also holds, which must not be copied.
			writeFixture(t, src, map[string][]byte{"generation_config.json": []byte(`{"bos_token_id": 1}`),
				"model.safetensors": []byte("weights"), "README.md": []byte("# model")})
			os.Mkdir(filepath.Join(src, "original"), 0o755)

			tk, err := ReadHFDir(src)
			if err != nil {
				t.Fatal(err)
			}
			if tk.TokenizerClass != c.class || tk.ModelType != c.modelType || tk.VocabSize != c.vocab ||
				tk.MaxID != c.maxID || tk.AddedTokens != c.added {
				t.Errorf("got class %q type %q vocab %d max id %d added %d, want %q %q %d %d %d",
					tk.TokenizerClass, tk.ModelType, tk.VocabSize, tk.MaxID, tk.AddedTokens,
					c.class, c.modelType, c.vocab, c.maxID, c.added)
			}
			if tk.BOS != c.bos || tk.EOS != c.eos || tk.PAD != c.pad || tk.UNK != c.unk {
				t.Errorf("specials bos %+v eos %+v pad %+v unk %+v, want %+v %+v %+v %+v",
					tk.BOS, tk.EOS, tk.PAD, tk.UNK, c.bos, c.eos, c.pad, c.unk)
			}
			if !slices.Equal(tk.Files, c.copied) {
				t.Errorf("files %v, want %v", tk.Files, c.copied)
			}

			// The same from memory.
			mem, err := ParseHF(c.files)
			if err != nil {
				t.Fatal(err)
			}
			if mem.VocabSize != tk.VocabSize || mem.BOS != tk.BOS || mem.EOS != tk.EOS {
				t.Errorf("ParseHF differs from ReadHFDir: %+v vs %+v", mem, tk)
			}

			// Info and writing into context/nemo_tokenizer.
			in := tk.Info()
			if in.Library != HuggingFace || in.Class != AutoTokenizerClass || in.Arg != "pretrained_model_name" ||
				in.Path != "nemo_tokenizer" || in.VocabSize != c.vocab || in.BOS != c.bos.ID || in.EOS != c.eos.ID ||
				in.PAD != c.pad.ID || in.UNK != c.unk.ID || in.MaxID != c.maxID {
				t.Errorf("Info %+v", in)
			}
			ctx := filepath.Join(t.TempDir(), "context")
			if err := in.WriteFiles(ctx); err != nil {
				t.Fatal(err)
			}
			checkCopied(t, src, filepath.Join(ctx, "nemo_tokenizer"), c.copied)

			dst := filepath.Join(t.TempDir(), "copy")
			if err := tk.CopyTo(dst); err != nil {
				t.Fatal(err)
			}
			checkCopied(t, src, dst, c.copied)
			if err := tk.CopyTo(dst); err == nil || !strings.Contains(err.Error(), "already exists") {
				t.Errorf("copy over existing files: %v", err)
			}
			// What was copied reads back the same.
			again, err := ReadHFDir(dst)
			if err != nil {
				t.Fatal(err)
			}
			if again.VocabSize != tk.VocabSize || again.BOS != tk.BOS || !slices.Equal(again.Files, tk.Files) {
				t.Errorf("copy reads back differently: %+v", again)
			}
		})
	}
}

// checkCopied checks that dst holds exactly the named files of src, byte
// for byte.
func checkCopied(t *testing.T, src, dst string, names []string) {
	t.Helper()
	ents, err := os.ReadDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s holds %v, want %v", dst, got, want)
	}
	for _, name := range names {
		a, _ := os.ReadFile(filepath.Join(src, name))
		b, _ := os.ReadFile(filepath.Join(dst, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from its source", name)
		}
	}
}

func TestHFDirNotes(t *testing.T) {
	files, _ := llama3Fixture()
	files["tokenizer_config.json"] = []byte(`{"bos_token": "<|begin_of_text|>", "eos_token": "<|not_there|>", "pad_token": null}`)
	tk, err := ParseHF(files)
	if err != nil {
		t.Fatal(err)
	}
	if tk.EOS.ID != -1 || tk.EOS.Content != "<|not_there|>" || tk.PAD.ID != -1 {
		t.Errorf("eos %+v pad %+v", tk.EOS, tk.PAD)
	}
	// The special_tokens_map.json fills what tokenizer_config.json leaves.
	if tk.BOS.Content != "<|begin_of_text|>" {
		t.Errorf("bos %+v", tk.BOS)
	}
	if len(tk.Notes) != 1 || !strings.Contains(tk.Notes[0], "<|not_there|>") {
		t.Errorf("notes %q", tk.Notes)
	}
	// No tokenizer_class and no config.json: a note, not an error.
	dir := t.TempDir()
	writeFixture(t, dir, files)
	tk, err = ReadHFDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(tk.Notes, func(s string) bool { return strings.Contains(s, "config.json") }) {
		t.Errorf("notes %q do not mention config.json", tk.Notes)
	}
}

func TestHFDirErrors(t *testing.T) {
	good, _ := llama3Fixture()
	with := func(name string, data []byte) map[string][]byte {
		m := map[string][]byte{}
		for k, v := range good {
			m[k] = v
		}
		if data == nil {
			delete(m, name)
		} else {
			m[name] = data
		}
		return m
	}
	cases := []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"no-vocabulary", map[string][]byte{"tokenizer_config.json": []byte(`{}`)}, "no tokenizer vocabulary"},
		{"config-not-object", with("tokenizer_config.json", []byte(`["x"]`)), "tokenizer_config.json: not a JSON object"},
		{"config-invalid", with("tokenizer_config.json", []byte(`{"bos_token": `)), "tokenizer_config.json"},
		{"bos-number", with("tokenizer_config.json", []byte(`{"bos_token": 7}`)), "want a string or an object"},
		{"bos-object-without-content", with("special_tokens_map.json", []byte(`{"bos_token": {"lstrip": false}}`)), "no content"},
		{"tokenizer-json-no-model", with("tokenizer.json", []byte(`{"added_tokens": []}`)), "no model.vocab"},
		{"tokenizer-json-negative-id", with("tokenizer.json", []byte(`{"model": {"type": "BPE", "vocab": {"a": -1}}}`)), `"a" has id -1`},
		{"tokenizer-json-huge-id", with("tokenizer.json", []byte(`{"model": {"type": "BPE", "vocab": {"a": 4294967296}}}`)), `has id 4294967296`},
		{"tokenizer-json-vocab-string", with("tokenizer.json", []byte(`{"model": {"vocab": "x"}}`)), "want an object or a list"},
		{"tokenizer-json-unigram-bad", with("tokenizer.json", []byte(`{"model": {"type": "Unigram", "vocab": [["a"]]}}`)), "not a [token, score] pair"},
		{"tokenizer-json-empty-vocab", with("tokenizer.json", []byte(`{"model": {"type": "BPE", "vocab": {}}}`)), "vocabulary is empty"},
		{"added-token-negative", with("tokenizer.json", []byte(`{"added_tokens": [{"id": -5, "content": "x"}], "model": {"vocab": {"a": 0}}}`)), "has id -5"},
		{"added-tokens-decoder-key", with("tokenizer_config.json", []byte(`{"added_tokens_decoder": {"x": {"content": "a"}}}`)), "not a token id"},
		{"added-tokens-json", map[string][]byte{"vocab.json": []byte(`{"a": 0}`), "added_tokens.json": []byte(`{"b": -1}`)}, "added_tokens.json"},
		{"vocab-json-list", map[string][]byte{"vocab.json": []byte(`[1]`)}, "vocab.json: not a JSON object"},
		{"bad-sentencepiece", map[string][]byte{"tokenizer.model": []byte("junk")}, "tokenizer.model"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseHF(c.files)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
			dir := t.TempDir()
			writeFixture(t, dir, c.files)
			if _, err := ReadHFDir(dir); err == nil {
				t.Fatal("ReadHFDir: no error")
			}
		})
	}
	if _, err := ReadHFDir(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing directory: no error")
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := ReadHFDir(f); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file: %v", err)
	}
}

// TestHFDirFileSafety checks that only regular files are read and copied,
// and that symbolic links may not lead out of the directory.
func TestHFDirFileSafety(t *testing.T) {
	files, _ := llama3Fixture()
	setup := func(t *testing.T) (base, dir string) {
		base = t.TempDir()
		dir = filepath.Join(base, "tok")
		writeFixture(t, dir, files)
		return base, dir
	}
	t.Run("symlink-inside", func(t *testing.T) {
		_, dir := setup(t)
		os.Rename(filepath.Join(dir, "tokenizer.json"), filepath.Join(dir, "real.json"))
		os.Mkdir(filepath.Join(dir, "sub"), 0o755)
		os.Rename(filepath.Join(dir, "special_tokens_map.json"), filepath.Join(dir, "sub", "stm.json"))
		if err := os.Symlink("real.json", filepath.Join(dir, "tokenizer.json")); err != nil {
			t.Fatal(err)
		}
		os.Symlink("sub/../sub/stm.json", filepath.Join(dir, "special_tokens_map.json"))
		tk, err := ReadHFDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		dst := t.TempDir()
		if err := tk.CopyTo(dst); err != nil {
			t.Fatal(err)
		}
		// The copy is a regular file with the link's target's contents.
		st, err := os.Lstat(filepath.Join(dst, "tokenizer.json"))
		if err != nil || !st.Mode().IsRegular() {
			t.Fatalf("copied tokenizer.json: %v %v", st, err)
		}
		b, _ := os.ReadFile(filepath.Join(dst, "tokenizer.json"))
		if !bytes.Equal(b, files["tokenizer.json"]) {
			t.Error("copied contents differ")
		}
	})
	escapes := map[string]func(t *testing.T, base, dir string) string{
		"relative": func(t *testing.T, base, dir string) string {
			os.WriteFile(filepath.Join(base, "outside.json"), files["tokenizer.json"], 0o644)
			return "../outside.json"
		},
		"absolute": func(t *testing.T, base, dir string) string {
			os.WriteFile(filepath.Join(base, "outside.json"), files["tokenizer.json"], 0o644)
			return filepath.Join(base, "outside.json")
		},
		"through-dir-link": func(t *testing.T, base, dir string) string {
			os.Mkdir(filepath.Join(base, "o"), 0o755)
			os.WriteFile(filepath.Join(base, "o", "t.json"), files["tokenizer.json"], 0o644)
			os.Symlink(filepath.Join(base, "o"), filepath.Join(dir, "od"))
			return "od/t.json"
		},
	}
	for name, mk := range escapes {
		t.Run("symlink-escape-"+name, func(t *testing.T) {
			base, dir := setup(t)
			target := mk(t, base, dir)
			os.Remove(filepath.Join(dir, "tokenizer.json"))
			if err := os.Symlink(target, filepath.Join(dir, "tokenizer.json")); err != nil {
				t.Fatal(err)
			}
			_, err := ReadHFDir(dir)
			if err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
				t.Fatalf("err = %v, want a refusal naming tokenizer.json", err)
			}
		})
	}
	t.Run("dangling-symlink", func(t *testing.T) {
		_, dir := setup(t)
		os.Symlink("nowhere.json", filepath.Join(dir, "added_tokens.json"))
		if _, err := ReadHFDir(dir); err == nil || !strings.Contains(err.Error(), "added_tokens.json") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("fifo", func(t *testing.T) {
		_, dir := setup(t)
		os.Remove(filepath.Join(dir, "tokenizer.json"))
		if err := syscall.Mkfifo(filepath.Join(dir, "tokenizer.json"), 0o644); err != nil {
			t.Skip("mkfifo:", err)
		}
		// Must fail at once rather than block opening the pipe.
		if _, err := ReadHFDir(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		_, dir := setup(t)
		os.Mkdir(filepath.Join(dir, "merges.txt"), 0o755)
		if _, err := ReadHFDir(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("oversized", func(t *testing.T) {
		_, dir := setup(t)
		if err := os.Truncate(filepath.Join(dir, "tokenizer.json"), MaxFileSize+1); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadHFDir(dir); err == nil || !strings.Contains(err.Error(), "too large") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("grown-after-read", func(t *testing.T) {
		_, dir := setup(t)
		tk, err := ReadHFDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := os.OpenFile(filepath.Join(dir, "tokenizer.json"), os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString("\n\n")
		f.Close()
		dst := t.TempDir()
		if err := tk.CopyTo(dst); err == nil {
			t.Fatal("copy of a file that grew: no error")
		}
		if _, err := os.Stat(filepath.Join(dst, "tokenizer.json")); err == nil {
			t.Error("a partial tokenizer.json was left behind")
		}
	})
}

// TestHFCacheSnapshot reads a tokenizer straight from the Hugging Face
// cache layout, whose snapshot files link into ../../blobs.
func TestHFCacheSnapshot(t *testing.T) {
	files, n := llama3Fixture()
	repo := filepath.Join(t.TempDir(), "models--meta-llama--Meta-Llama-3-8B")
	snap := filepath.Join(repo, "snapshots", "62bd457b6fe961a42a631306577e622c83876cb6")
	os.MkdirAll(snap, 0o755)
	os.MkdirAll(filepath.Join(repo, "blobs"), 0o755)
	i := 0
	for name, data := range files {
		blob := filepath.Join(repo, "blobs", strings.Repeat(string(rune('a'+i)), 40))
		i++
		os.WriteFile(blob, data, 0o644)
		rel, _ := filepath.Rel(snap, blob)
		if err := os.Symlink(rel, filepath.Join(snap, name)); err != nil {
			t.Fatal(err)
		}
	}
	tk, err := ReadHFDir(snap)
	if err != nil {
		t.Fatal(err)
	}
	if tk.VocabSize != n+4 {
		t.Errorf("vocab %d", tk.VocabSize)
	}
	ctx := t.TempDir()
	if err := tk.Info().WriteFiles(ctx); err != nil {
		t.Fatal(err)
	}
	checkCopied(t, snap, filepath.Join(ctx, HFContextDir), tk.Files)

	// A link out of the cache repository is still refused.
	os.WriteFile(filepath.Join(filepath.Dir(repo), "x.json"), []byte(`{}`), 0o644)
	os.Symlink("../../../x.json", filepath.Join(snap, "added_tokens.json"))
	if _, err := ReadHFDir(snap); err == nil {
		t.Error("a link out of the cache repository was followed")
	}
}

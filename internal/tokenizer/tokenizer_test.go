package tokenizer

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckEmbedding(t *testing.T) {
	cases := []struct {
		vocab, maxID, rows int
		padding            int
		tooBig             bool
	}{
		{32000, 31999, 32000, 0, false},
		{32000, 31999, 32768, 768, false}, // Llama 2 padded at TP 8
		{128256, 128255, 129024, 768, false},
		{151665, 151664, 151936, 271, false}, // Qwen2: added tokens, padded
		{32001, 32000, 32000, 0, true},
		{100, 200, 150, 0, true}, // ids beyond the count (a gap) count too
	}
	for _, c := range cases {
		in := &Info{VocabSize: c.vocab, MaxID: c.maxID}
		pad, err := CheckEmbedding(in, c.rows)
		var ee *EmbeddingError
		if c.tooBig {
			if !errors.As(err, &ee) || ee.Rows != c.rows || ee.VocabSize != max(c.vocab, c.maxID+1) {
				t.Errorf("%+v rows %d: err = %v", in, c.rows, err)
			} else if !strings.Contains(err.Error(), "does not belong to this checkpoint") {
				t.Errorf("message %q", err)
			}
			continue
		}
		if err != nil || pad != c.padding {
			t.Errorf("%+v rows %d: padding %d err %v, want %d", in, c.rows, pad, err, c.padding)
		}
	}
	if _, err := CheckEmbedding(&Info{VocabSize: 1}, 0); err == nil {
		t.Error("zero rows accepted")
	}
}

func TestWriteFilesRefusesBadNames(t *testing.T) {
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("x")), nil }
	ctx := t.TempDir()
	for _, name := range []string{"", "/abs", "../up", "a/../../up", "a//b", "./a", "a\\b", ".", ".."} {
		in := &Info{Files: []File{{Name: name, open: open}}}
		if err := in.WriteFiles(ctx); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	in := &Info{Files: []File{{Name: "sub/dir/f.txt", Source: "mem", open: open}}}
	if err := in.WriteFiles(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(ctx, "sub", "dir", "f.txt")); string(b) != "x" {
		t.Errorf("written %q", b)
	}
	// A source longer than it claimed is refused and leaves nothing.
	in = &Info{Files: []File{{Name: "g.txt", Size: 1, open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("longer")), nil
	}}}}
	if err := in.WriteFiles(ctx); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("longer source: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ctx, "g.txt")); err == nil {
		t.Error("partial file left")
	}
	ents, _ := os.ReadDir(ctx)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left", e.Name())
		}
	}
	// A file without a source (parsed from memory) cannot be written.
	if err := (&Info{Files: []File{{Name: "h.txt"}}}).WriteFiles(ctx); err == nil {
		t.Error("file without source written")
	}
}

func TestLoad(t *testing.T) {
	files, n := llama3Fixture()
	dir := t.TempDir()
	writeFixture(t, dir, files)
	in, err := Load(dir, "", false)
	if err != nil || in.Library != HuggingFace || in.VocabSize != n+4 {
		t.Errorf("directory: %+v %v", in, err)
	}
	in, err = Load("testdata/spm_bpe_bytes.model", "", true)
	if err != nil || in.Library != SentencePiece || !in.Legacy || in.ModelType != "bpe" {
		t.Errorf("model: %+v %v", in, err)
	}
	// The seed is a real NeMo-layout vocabulary, but smaller than NeMo's
	// default vocab_size needs.
	if _, err := Load("testdata/tiktoken_vocab.json", "", false); err == nil || !strings.Contains(err.Error(), "needs at least") {
		t.Errorf("tiktoken: %v", err)
	}
	if _, err := Load("testdata/spm_unigram.model", HuggingFace, false); err == nil || !strings.Contains(err.Error(), "must be a directory") {
		t.Errorf("HF file: %v", err)
	}
	if _, err := Load(dir, SentencePiece, false); err == nil {
		t.Error("directory as a SentencePiece model accepted")
	}
	if _, err := Load("testdata/spm_unigram.model", "byte-level", false); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("byte-level: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing"), "", false); err == nil {
		t.Error("missing path accepted")
	}
}

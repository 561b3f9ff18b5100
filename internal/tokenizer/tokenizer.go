// Package tokenizer reads, checks and copies the tokenizers a NeMo 2.0
// checkpoint's context/ directory carries: SentencePiece models
// (tokenizer.model), Hugging Face tokenizer directories (tokenizer.json,
// tokenizer_config.json, ...), optionally taken from the Hugging Face
// Hub's local cache or downloaded, the tiktoken vocabulary files NemotronH
// uses, and the GPT-2 vocab.json and merges.txt of NeMo 1's megatron
// GPT2BPETokenizer.
//
// Each kind is described by an [Info], which names the NeMo 2.0 tokenizer
// class, the constructor argument that holds the artifact, the files to
// place in context/ and the vocabulary facts (size, special ids) the
// converter checks against the checkpoint's embedding with
// [CheckEmbedding]. Nothing here reads the environment or global state:
// callers pass paths, endpoints and tokens explicitly ([HubFromEnv] turns
// an environment lookup the caller gives into a [HubConfig]).
//
// A converter gets an Info from whichever source it has:
//
//	SentencePieceBytes(data, name, src, legacy)  // a .nemo artifact
//	GPT2BPEBytes(vocab, merges, vsrc, msrc)      // a .nemo's vocab_file and merge_file
//	Load(path, lib, legacy)                      // --tokenizer_path / --tokenizer_vocab_file
//	FetchTokenizer(ctx, cfg, repo, rev, tmp)     // a Hub id from the NeMo 1 YAML: the
//	                                             // cache's snapshot, else downloaded,
//	ReadHFDir(dir) then (*HFTokenizer).Info()    // then read like a local directory
//
// then checks it with CheckEmbedding(info, rows), records info.Class,
// info.Arg and info.Path in io.json and model.yaml, and writes the files
// with info.WriteFiles(contextDir).
package tokenizer

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Library is a tokenizer library as NeMo's tokenizer config spells it
// (cfg.tokenizer.library).
type Library string

// Tokenizer libraries this package handles.
const (
	SentencePiece Library = "sentencepiece"
	HuggingFace   Library = "huggingface"
	Tiktoken      Library = "tiktoken"
	// Megatron is NeMo 1's "megatron" library; of its types this package
	// handles GPT2BPETokenizer, a GPT-2 vocab.json and merges.txt (see
	// [GPT2BPE]). NeMo 2.0 holds it as an AutoTokenizer.
	Megatron Library = "megatron"
)

// NeMo 2.0 tokenizer classes, as the _target_ of context/model.yaml and the
// fiddle type of io.json name them. Verified in NeMo's sources
// (nemo/collections/common/tokenizers/...).
const (
	SentencePieceClass = "nemo.collections.common.tokenizers.sentencepiece_tokenizer.SentencePieceTokenizer"
	AutoTokenizerClass = "nemo.collections.common.tokenizers.huggingface.auto_tokenizer.AutoTokenizer"
	TiktokenClass      = "nemo.collections.common.tokenizers.tiktoken_tokenizer.TiktokenTokenizer"
)

// HFContextDir is the directory name NeMo's converter gives a Hugging Face
// tokenizer inside context/ (it saves to /tmp/nemo_tokenizer, and NeMo's
// DirOrStringArtifact keeps the directory's base name).
const HFContextDir = "nemo_tokenizer"

// Info describes a tokenizer as a NeMo 2.0 context records it.
type Info struct {
	Library Library `json:"library"`
	// Class is the NeMo 2.0 class, e.g. [SentencePieceClass].
	Class string `json:"class"`
	// Arg is the constructor argument that holds the artifact: model_path
	// (SentencePiece), pretrained_model_name (AutoTokenizer) or vocab_file
	// (tiktoken). NeMo registers each as an artifact, so io.json and
	// model.yaml give it relative to context/ (TiktokenTokenizer's
	// vocab_file since nemo/lightning/io/registry.py; older NeMo kept it as
	// a plain string, an absolute path).
	Arg string `json:"arg"`
	// Path is the value of Arg relative to context/: a file name such as
	// "tokenizer.model" or "<hash>_tokenizer.model", or HFContextDir.
	Path string `json:"path"`
	// Files are the files to write under context/ (Path itself, or the
	// files inside the Path directory).
	Files []File `json:"files"`

	// ModelType is the segmentation algorithm: "unigram", "bpe", ... for
	// SentencePiece; "BPE", "WordPiece", "Unigram", "WordLevel" for Hugging
	// Face; "tiktoken" for tiktoken.
	ModelType string `json:"model_type"`
	// VocabSize is the vocabulary size the NeMo 2.0 tokenizer reports
	// (tokenizer.vocab_size), which NeMo pads to size the embedding.
	VocabSize int `json:"vocab_size"`
	// MaxID is the largest token id the tokenizer can produce. It is
	// VocabSize-1 except for vocabularies with gaps.
	MaxID int `json:"max_id"`
	// Special token ids; -1 when the tokenizer has none.
	BOS int `json:"bos_id"`
	EOS int `json:"eos_id"`
	PAD int `json:"pad_id"`
	UNK int `json:"unk_id"`
	// Legacy is NeMo 1's tokenizer.sentencepiece_legacy, carried to the
	// SentencePieceTokenizer's legacy argument. Always false for the other
	// libraries.
	Legacy bool `json:"legacy"`
	// Notes are facts worth telling the user that are not errors, such as
	// a special token that could not be resolved to an id.
	Notes []string `json:"notes,omitempty"`
	// Origin says where the files came from when that is worth telling,
	// such as a Hugging Face cache snapshot.
	Origin string `json:"origin,omitempty"`
}

// File is one file of a tokenizer that goes into context/.
type File struct {
	// Name is the file's path relative to context/, slash-separated.
	Name string `json:"name"`
	// Source says where the bytes come from, for messages: a path, or a
	// description such as "model.nemo:./abc_tokenizer.model".
	Source string `json:"source"`
	Size   int64  `json:"size"`

	open func() (io.ReadCloser, error)
}

// Open opens the file's contents for reading.
func (f File) Open() (io.ReadCloser, error) {
	if f.open == nil {
		return nil, fmt.Errorf("tokenizer file %s: no source", f.Name)
	}
	return f.open()
}

// WriteFiles writes every file of the tokenizer under contextDir (creating
// subdirectories), each through a temporary file that is renamed into
// place. Like NeMo's artifact copy, it refuses to overwrite an existing
// file.
func (in *Info) WriteFiles(contextDir string) error {
	for _, f := range in.Files {
		if err := checkRelName(f.Name); err != nil {
			return err
		}
		dst := filepath.Join(contextDir, filepath.FromSlash(f.Name))
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("tokenizer file %s: %w", f.Source, err)
		}
		err = writeFile(dst, rc, maxCopySize(f.Size), false)
		rc.Close()
		if err != nil {
			return fmt.Errorf("writing tokenizer file %s from %s: %w", dst, f.Source, err)
		}
	}
	return nil
}

// checkRelName refuses names that would leave the context directory.
func checkRelName(name string) error {
	if name == "" || path.IsAbs(name) || strings.Contains(name, "\\") ||
		path.Clean(name) != name || name == "." || name == ".." || strings.HasPrefix(name, "../") {
		return fmt.Errorf("tokenizer file name %q is not a clean relative path", name)
	}
	return nil
}

func maxCopySize(size int64) int64 {
	if size > 0 {
		return size
	}
	return MaxFileSize
}

// EmbeddingError reports a tokenizer whose vocabulary does not fit the
// checkpoint's embedding.
type EmbeddingError struct {
	VocabSize int // ids the tokenizer can produce (max id + 1)
	Rows      int // rows of the stored embedding
}

func (e *EmbeddingError) Error() string {
	return fmt.Sprintf("the tokenizer has %d tokens but the checkpoint's embedding has only %d rows: "+
		"the tokenizer does not belong to this checkpoint (pass the tokenizer the model was trained with)",
		e.VocabSize, e.Rows)
}

// CheckEmbedding compares a tokenizer's vocabulary with the number of rows
// of the checkpoint's word embedding (or output layer). Megatron pads the
// embedding beyond the vocabulary (to a multiple of
// make_vocab_size_divisible_by x tensor parallel size), so more rows than
// tokens is normal and the padding is returned; a tokenizer with more
// tokens than rows is an *EmbeddingError.
func CheckEmbedding(in *Info, rows int) (padding int, err error) {
	n := in.VocabSize
	if in.MaxID+1 > n {
		n = in.MaxID + 1
	}
	if rows <= 0 {
		return 0, fmt.Errorf("embedding has %d rows", rows)
	}
	if n > rows {
		return 0, &EmbeddingError{VocabSize: n, Rows: rows}
	}
	return rows - n, nil
}

// Load describes the tokenizer at path (a --tokenizer_path or
// --tokenizer_vocab_file) for a NeMo 2.0 context. lib is the tokenizer
// library; empty means: a directory is a Hugging Face tokenizer, a *.json
// file a tiktoken vocabulary, and any other file a SentencePiece model.
// legacy is NeMo 1's sentencepiece_legacy flag.
func Load(path string, lib Library, legacy bool) (*Info, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if lib == "" {
		switch {
		case st.IsDir():
			lib = HuggingFace
		case strings.HasSuffix(path, ".json"):
			lib = Tiktoken
		default:
			lib = SentencePiece
		}
	}
	switch lib {
	case HuggingFace:
		if !st.IsDir() {
			return nil, fmt.Errorf("tokenizer %s: a Hugging Face tokenizer must be a directory (holding tokenizer.json, tokenizer_config.json, ...)", path)
		}
		t, err := ReadHFDir(path)
		if err != nil {
			return nil, err
		}
		return t.Info(), nil
	case SentencePiece:
		return SentencePieceFile(path, legacy)
	case Tiktoken:
		return TiktokenFile(path, TiktokenOptions{})
	case Megatron:
		if !st.IsDir() {
			return nil, fmt.Errorf("tokenizer %s: a megatron GPT-2 tokenizer must be a directory holding %s and %s", path, GPT2VocabFile, GPT2MergesFile)
		}
		return GPT2BPEDir(path)
	}
	return nil, fmt.Errorf("tokenizer library %q is not supported (want %s, %s, %s or %s)", lib, SentencePiece, HuggingFace, Tiktoken, Megatron)
}

// GPT2BPEDir describes the GPT-2 tokenizer whose vocab.json and merges.txt
// are in dir, as [GPT2BPEBytes] does.
func GPT2BPEDir(dir string) (*Info, error) {
	var data [2][]byte
	for i, name := range []string{GPT2VocabFile, GPT2MergesFile} {
		b, err := readRegular(filepath.Join(dir, name), MaxFileSize)
		if err != nil {
			return nil, fmt.Errorf("GPT-2 tokenizer: %w", err)
		}
		data[i] = b
	}
	return GPT2BPEBytes(data[0], data[1], filepath.Join(dir, GPT2VocabFile), filepath.Join(dir, GPT2MergesFile))
}

package export

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/tokenizer"
)

// ownTokenizer are the model types whose AutoTokenizer class transformers
// 5 forces (MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS with a registered
// class of their own), rebuilding the pipeline tokenizer.json describes.
var ownTokenizer = map[string]string{"qwen2": "Qwen2Tokenizer"}

// Files of the model itself, which a tokenizer directory must not bring.
var modelFiles = map[string]bool{"config.json": true, "generation_config.json": true}

// planTokenizer decides the tokenizer files: a SentencePiece model with
// the tokenizer_config.json that makes AutoTokenizer load it as Llama's
// tokenizer does, or the files of a Hugging Face tokenizer or a megatron
// GPT-2 tokenizer as they are.
func (p *Plan) planTokenizer() error {
	t := p.src.Tokenizer
	if t == nil {
		return fmt.Errorf("%s: no tokenizer; pass --tokenizer_path", p.src.Path)
	}
	switch t.Library {
	case tokenizer.SentencePiece:
		if cls, ok := ownTokenizer[p.ModelType]; ok {
			return fmt.Errorf("%s: transformers loads a %s model's tokenizer as %s whatever tokenizer_config.json says, which would encode this SentencePiece vocabulary differently; pass --tokenizer_path with the model's Hugging Face tokenizer directory", p.src.Path, p.ModelType, cls)
		}
		if len(t.Files) != 1 {
			return fmt.Errorf("%s: the SentencePiece tokenizer has %d files, expected 1", p.src.Path, len(t.Files))
		}
		m, err := readSentencePiece(t.Files[0])
		if err != nil {
			return err
		}
		js, err := m.HFTokenizerJSON(t.BOS >= 0)
		if err != nil {
			return fmt.Errorf("%s: the tokenizer cannot be written as a Hugging Face tokenizer.json that encodes as it does: %w; pass --tokenizer_path with a Hugging Face tokenizer directory", p.src.Path, err)
		}
		// PreTrainedTokenizerFast reads tokenizer.json as it is, for every
		// model type (AutoTokenizer would otherwise pick the model type's
		// own class, which for Nemotron or GPTBigCode is no SentencePiece
		// tokenizer); tokenizer.model stays for slow tokenizers.
		unk, bos, eos, pad := m.SpecialPieces()
		cfg := map[string]any{
			"tokenizer_class":              "PreTrainedTokenizerFast",
			"model_max_length":             p.src.Arch.SeqLength,
			"clean_up_tokenization_spaces": false,
		}
		special := map[string]any{}
		for _, s := range []struct {
			key, piece string
			id         int
		}{{"unk_token", unk, t.UNK}, {"bos_token", bos, t.BOS}, {"eos_token", eos, t.EOS}, {"pad_token", pad, t.PAD}} {
			if s.id >= 0 && s.piece != "" {
				cfg[s.key] = s.piece
				special[s.key] = s.piece
			}
		}
		p.tokJSON = map[string][]byte{"tokenizer.json": js}
		for name, v := range map[string]any{"tokenizer_config.json": cfg, "special_tokens_map.json": special} {
			b, err := marshalJSON(v)
			if err != nil {
				return err
			}
			p.tokJSON[name] = b
		}
		p.Tokenizer = []string{"tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}
	case tokenizer.Tiktoken:
		// NeMo's TiktokenTokenizer: special tokens first, the vocabulary
		// file's ranks after them (tokenizer.TiktokenHFJSON).
		if cls, ok := ownTokenizer[p.ModelType]; ok {
			return fmt.Errorf("%s: transformers loads a %s model's tokenizer as %s whatever tokenizer_config.json says; pass --tokenizer_path with the model's Hugging Face tokenizer directory", p.src.Path, p.ModelType, cls)
		}
		if len(t.Files) != 1 {
			return fmt.Errorf("%s: the tiktoken tokenizer has %d files, expected 1", p.src.Path, len(t.Files))
		}
		r, err := t.Files[0].Open()
		if err != nil {
			return err
		}
		js, cfg, err := tokenizer.TiktokenHFJSON(r, tokenizer.TiktokenOptions{VocabSize: t.VocabSize})
		r.Close()
		if err != nil {
			return fmt.Errorf("%s: tokenizer %s: %w", p.src.Path, t.Files[0].Source, err)
		}
		cfg["model_max_length"] = p.src.Arch.SeqLength
		c, err := marshalJSON(cfg)
		if err != nil {
			return err
		}
		p.tokJSON = map[string][]byte{"tokenizer.json": js, "tokenizer_config.json": c}
		p.Tokenizer = []string{"tokenizer.json", "tokenizer_config.json"}
	case tokenizer.HuggingFace, tokenizer.Megatron:
		// A megatron GPT-2 tokenizer's files are already a Hugging Face
		// directory (vocab.json, merges.txt, tokenizer.json and the
		// tokenizer_config.json naming GPT2Tokenizer).
		if cls, ok := ownTokenizer[p.ModelType]; ok && t.Library == tokenizer.Megatron {
			return fmt.Errorf("%s: transformers loads a %s model's tokenizer as %s whatever tokenizer_config.json says, whose pre-tokenizer splits text differently from GPT-2's; pass --tokenizer_path with the model's Hugging Face tokenizer directory", p.src.Path, p.ModelType, cls)
		}
		for _, f := range t.Files {
			name := hfName(f.Name)
			if modelFiles[name] || strings.HasSuffix(name, ".safetensors") {
				p.Notes = append(p.Notes, fmt.Sprintf("the tokenizer directory's %s is not copied: export writes the model's own", name))
				continue
			}
			p.Tokenizer = append(p.Tokenizer, name)
		}
	default:
		return fmt.Errorf("%s: exporting a %s tokenizer to Hugging Face is not supported; pass --tokenizer_path with a SentencePiece model or Hugging Face tokenizer directory", p.src.Path, t.Library)
	}
	for _, t := range p.Tensors {
		if slices.Contains(p.Tokenizer, t.Name) {
			return fmt.Errorf("tokenizer file %s collides with a tensor name", t.Name)
		}
	}
	return nil
}

// hfName is a Hugging Face tokenizer file's name in the output: its path
// under the context's tokenizer directory.
func hfName(contextName string) string {
	if i := strings.Index(contextName, "/"); i >= 0 {
		return contextName[i+1:]
	}
	return path.Base(contextName)
}

func readSentencePiece(f tokenizer.File) (*tokenizer.Model, error) {
	r, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, tokenizer.MaxModelSize+1))
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", f.Source, err)
	}
	if len(data) > tokenizer.MaxModelSize {
		return nil, fmt.Errorf("tokenizer %s: larger than %d bytes", f.Source, tokenizer.MaxModelSize)
	}
	m, err := tokenizer.ParseModel(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", f.Source, err)
	}
	return m, nil
}

// writeTokenizer writes the tokenizer files into dir.
func (p *Plan) writeTokenizer(dir string) error {
	t := p.src.Tokenizer
	copyFile := func(f tokenizer.File, name string) error {
		r, err := f.Open()
		if err != nil {
			return fmt.Errorf("tokenizer file %s: %w", f.Source, err)
		}
		defer r.Close()
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		n, err := io.Copy(out, io.LimitReader(r, f.Size+1))
		if err == nil && n != f.Size {
			err = fmt.Errorf("%d bytes, expected %d (changed while exporting?)", n, f.Size)
		}
		if err2 := out.Close(); err == nil {
			err = err2
		}
		if err != nil {
			return fmt.Errorf("copying tokenizer file %s: %w", f.Source, err)
		}
		return nil
	}
	switch t.Library {
	case tokenizer.SentencePiece:
		if err := copyFile(t.Files[0], "tokenizer.model"); err != nil {
			return err
		}
		for name, b := range p.tokJSON {
			if err := writeNew(filepath.Join(dir, name), b); err != nil {
				return err
			}
		}
	case tokenizer.Tiktoken:
		for name, b := range p.tokJSON {
			if err := writeNew(filepath.Join(dir, name), b); err != nil {
				return err
			}
		}
	case tokenizer.HuggingFace, tokenizer.Megatron:
		for _, f := range t.Files {
			if name := hfName(f.Name); slices.Contains(p.Tokenizer, name) {
				if err := copyFile(f, name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

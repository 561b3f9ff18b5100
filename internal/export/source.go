package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/convert"
	"github.com/nemo-migrate/nemo-migrate/internal/distckpt"
	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo1"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo2"
	"github.com/nemo-migrate/nemo-migrate/internal/tokenizer"
)

// Source is an opened checkpoint to export: its weights, the model config
// that describes them and its tokenizer.
type Source struct {
	Path    string
	Form    string // what the input is, for messages
	Weights *distckpt.Checkpoint
	Config  *models.Config
	Arch    models.Arch
	// DType is the stored parameter dtype.
	DType     string
	Tokenizer *tokenizer.Info

	byName map[string]*distckpt.Tensor // tensors by Megatron name (prefix stripped)
	close  []func()
}

// Close releases the input.
func (s *Source) Close() {
	for i := len(s.close) - 1; i >= 0; i-- {
		s.close[i]()
	}
	s.close = nil
}

// IsNeMo2 reports whether path is a NeMo 2.0 checkpoint directory: weights/
// with a distributed checkpoint and context/ with io.json.
func IsNeMo2(path string) bool {
	for _, p := range []string{
		filepath.Join(path, nemo2.WeightsDir, "metadata.json"),
		filepath.Join(path, "context", nemo2.IOJSONName),
	} {
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// Open opens input: a NeMo 2.0 checkpoint directory, or anything convert
// reads (a NeMo 1.0 .nemo, extracted directory or model_weights/ with
// tokenizer flags, which tok gives; its ModelID defaults to "auto").
// tok.TokenizerPath replaces the checkpoint's tokenizer for either.
func Open(ctx context.Context, input string, spool nemo1.Options, tok convert.TargetOptions) (*Source, error) {
	var s *Source
	var err error
	if IsNeMo2(input) {
		s, err = openNeMo2(input, tok)
	} else {
		s, err = openNeMo1(ctx, input, spool, tok)
	}
	if err != nil {
		return nil, err
	}
	if err := s.index(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func openNeMo1(ctx context.Context, input string, spool nemo1.Options, tok convert.TargetOptions) (*Source, error) {
	src, err := convert.Open(ctx, input, spool)
	if err != nil {
		return nil, err
	}
	s := &Source{Path: input, Form: "NeMo 1.0 " + src.NeMo1.Kind.String(), Weights: src.Weights}
	s.close = append(s.close, func() { src.Close() })
	if tok.ModelID == "" {
		tok.ModelID = models.AutoID
	}
	t, err := convert.ResolveTarget(ctx, src, tok)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.close = append(s.close, t.Close)
	s.Config, s.Tokenizer = t.Config, t.Tokenizer
	return s, nil
}

func openNeMo2(dir string, opts convert.TargetOptions) (*Source, error) {
	_, cfg, err := nemo2.ReadModel(dir)
	if err != nil {
		return nil, err
	}
	var tok *tokenizer.Info
	if opts.TokenizerPath != "" {
		tok, err = tokenizer.Load(opts.TokenizerPath, tokenizer.Library(opts.TokenizerLibrary), false)
	} else {
		tok, err = nemo2.ReadTokenizer(dir)
	}
	if err != nil {
		return nil, err
	}
	w, err := distckpt.Open(os.DirFS(dir), nemo2.WeightsDir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return &Source{Path: dir, Form: "NeMo 2.0 checkpoint", Weights: w, Config: cfg, Tokenizer: tok}, nil
}

// index checks the weights against the config's architecture and names the
// tensors by their Megatron names.
func (s *Source) index() error {
	dtype, err := convert.ParamsDType(s.Weights)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Path, err)
	}
	s.DType = dtype
	a, err := s.Config.Arch()
	if err != nil {
		return fmt.Errorf("%s: %w", s.Path, err)
	}
	s.byName = map[string]*distckpt.Tensor{}
	var prefix string
	var st models.Source
	// Local-spec norms under the TransformerEngine layer's names, as
	// convert writes them.
	target := convert.TargetKey(s.Weights)
	for _, t := range s.Weights.Tensors {
		_, p := megatronName(t.Key)
		if prefix == "" {
			prefix = p
		}
		if p != prefix {
			return fmt.Errorf("%s: tensor keys start with both %q and %q", s.Path, prefix, p)
		}
		name := strings.TrimPrefix(target(t.Key), "module.")
		s.byName[name] = t
		st.Tensors = append(st.Tensors, models.SourceTensor{Key: prefix + name, DType: string(t.DType), Shape: t.Shape})
	}
	if emb, ok := s.byName["embedding.word_embeddings.weight"]; ok && len(emb.Shape) == 2 {
		a.VocabSize = int(emb.Shape[0])
	}
	s.Arch = a
	m, err := a.Manifest(0, models.Options{DType: dtype, Prefix: prefix})
	if err != nil {
		return fmt.Errorf("%s: %w", s.Path, err)
	}
	var diffs []models.Diff
	for _, d := range models.Check(m, &st) {
		if !d.Object {
			diffs = append(diffs, d)
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%s: %w", s.Path, &models.MismatchError{Model: s.Config.Class.Name(), Diffs: diffs})
	}
	return nil
}

// megatronName strips the model prefix NeMo puts before Megatron-Core's
// names: "model." in NeMo 1, "module." in NeMo 2.
func megatronName(key string) (name, prefix string) {
	for _, p := range []string{"model.", "module."} {
		if strings.HasPrefix(key, p) {
			return key[len(p):], p
		}
	}
	return key, ""
}

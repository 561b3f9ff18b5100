package convert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/distckpt"
	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo2"
	"github.com/nemo-migrate/nemo-migrate/internal/omegaconf"
	"github.com/nemo-migrate/nemo-migrate/internal/tokenizer"
)

// TargetOptions choose the NeMo 2.0 model and tokenizer, with the flags of
// NeMo's convert_nemo1_to_nemo2.py.
type TargetOptions struct {
	// ModelID is a model id of NeMo's converter, "auto" (the architecture
	// from model_config.yaml), or a NeMo 2.0 checkpoint directory.
	ModelID string

	TokenizerPath      string // a SentencePiece model, a Hugging Face directory (or, with library huggingface, a Hub id) or a GPT-2 directory; honoured for .nemo input too
	TokenizerLibrary   string // sentencepiece, huggingface, tiktoken or megatron; "" guesses from the path
	TokenizerVocabFile string // a tiktoken vocabulary; overrides the other sources

	// Hub fetches a Hugging Face tokenizer when the checkpoint names one
	// by repository id and no local copy is given: from its cache, else
	// downloaded unless it is Offline. nil forbids both.
	Hub *tokenizer.HubConfig

	// dtype is the parameter dtype of the output ("" keeps the source's);
	// Options.DType sets it.
	dtype string
}

// CheckTokenizer reports tokenizer options that cannot mean anything, in
// the words of NeMo's converter flags: a library without a tokenizer to
// read with it, a library this package does not know, or a tiktoken
// vocabulary file named with another library.
func (o TargetOptions) CheckTokenizer() error {
	lib := tokenizer.Library(o.TokenizerLibrary)
	switch lib {
	case "", tokenizer.SentencePiece, tokenizer.HuggingFace, tokenizer.Tiktoken, tokenizer.Megatron:
	default:
		return fmt.Errorf("--tokenizer_library %q is not one of sentencepiece, huggingface, tiktoken, megatron", o.TokenizerLibrary)
	}
	if o.TokenizerVocabFile != "" {
		if lib != "" && lib != tokenizer.Tiktoken {
			return fmt.Errorf("--tokenizer_vocab_file is a tiktoken vocabulary, but --tokenizer_library is %s: drop --tokenizer_library or pass tiktoken", lib)
		}
		return nil
	}
	if lib == "" || o.TokenizerPath != "" {
		return nil
	}
	what := map[tokenizer.Library]string{
		tokenizer.SentencePiece: "a SentencePiece .model file",
		tokenizer.HuggingFace:   "a local Hugging Face tokenizer directory (tokenizer.json or vocabulary files, tokenizer_config.json) or, for convert, a Hub repository id such as meta-llama/Meta-Llama-3-8B",
		tokenizer.Tiktoken:      "a tiktoken JSON vocabulary (or pass it with --tokenizer_vocab_file)",
		tokenizer.Megatron:      "a directory holding a GPT-2 vocab.json and merges.txt",
	}[lib]
	return fmt.Errorf("--tokenizer_library %s names no tokenizer: also pass --tokenizer_path with %s (without --tokenizer_path the checkpoint's own tokenizer is used, and --tokenizer_library is not needed)", lib, what)
}

// Target is the NeMo 2.0 model a conversion produces.
type Target struct {
	Model     models.Model
	Config    *models.Config
	Tokenizer *tokenizer.Info
	Manifest  *models.Manifest
	Warnings  []string

	// Precision is the output's: the parameter dtype (the source's, or
	// the one cast to) and the plugin precision.
	Precision models.Precision

	cast castSpec // what --dtype does to the source's parameters

	cleanup func()
}

// Close removes any downloaded tokenizer files.
func (t *Target) Close() {
	if t.cleanup != nil {
		t.cleanup()
	}
}

// ResolveTarget decides the NeMo 2.0 model, config and tokenizer for src,
// and checks the source's tensors against what that model loads. Every
// difference that would make the load fail is an error, before anything is
// written.
func ResolveTarget(ctx context.Context, src *Source, opts TargetOptions) (*Target, error) {
	if err := opts.CheckTokenizer(); err != nil {
		return nil, err
	}
	y, err := readModelConfig(src)
	if err != nil {
		return nil, err
	}
	if mcore, ok := y["mcore_gpt"].(bool); ok && !mcore {
		return nil, fmt.Errorf("%s: model_config.yaml says mcore_gpt: false. NeMo 2.0 builds Megatron-Core models only, and this checkpoint's weights are laid out for NeMo 1's legacy GPT model; load it in NeMo 1.x with mcore_gpt=true (NeMo's legacy-to-mcore conversion) and save it again, then convert that", src.NeMo1.Path)
	}
	t := &Target{}
	switch {
	case opts.ModelID == models.AutoID:
		if y == nil {
			return nil, fmt.Errorf("--model_id auto reads the architecture from model_config.yaml, and %s has none; name a model id instead (see 'nemo-migrate models')", src.NeMo1.Path)
		}
		t.Model, t.Config, err = models.Auto(y)
		if err != nil {
			return nil, fmt.Errorf("--model_id auto: %w", err)
		}
	case isDir(opts.ModelID):
		// As NeMo's converter: the model and config of that checkpoint's
		// context, with bf16 and params_dtype forced (contextModel).
		t.Model, t.Config, err = contextModel(opts.ModelID)
		if err != nil {
			return nil, fmt.Errorf("--model_id %s: %w", opts.ModelID, err)
		}
		if y != nil {
			warnings, err := models.CrossCheck(t.Config, opts.ModelID, y)
			if err != nil {
				return nil, fmt.Errorf("%s does not match the model of %s: %w", src.NeMo1.Path, opts.ModelID, err)
			}
			t.Warnings = append(t.Warnings, warnings...)
		}
	default:
		t.Model, err = models.Lookup(opts.ModelID)
		if err != nil {
			return nil, err
		}
		t.Config = models.NewConfig(t.Model.Config)
		if y != nil {
			warnings, err := models.CrossCheck(t.Config, opts.ModelID, y)
			if err != nil {
				return nil, fmt.Errorf("%s does not match --model_id %s: %w", src.NeMo1.Path, opts.ModelID, err)
			}
			t.Warnings = append(t.Warnings, warnings...)
		}
	}
	// NeMo's converter applies the NeMo 1 fp8 settings to the configs it
	// builds, not to one loaded from a NeMo 2 checkpoint.
	if !isDir(opts.ModelID) {
		if y == nil {
			y = map[string]any{}
		}
		if err := models.ConverterArgs(t.Config, y); err != nil {
			return nil, err
		}
	}

	if err := t.setPrecision(src, y, opts.dtype); err != nil {
		return nil, err
	}

	tok, cleanup, err := resolveTokenizer(ctx, src, y, opts)
	if err != nil {
		return nil, err
	}
	t.Tokenizer, t.cleanup = tok, cleanup
	t.Warnings = append(t.Warnings, tok.Notes...)
	if err := t.sizeVocab(src); err != nil {
		t.Close()
		return nil, err
	}
	arch, err := t.Config.Arch()
	if err != nil {
		t.Close()
		return nil, err
	}
	t.Manifest, err = arch.Manifest(tok.VocabSize, models.Options{DType: t.Precision.ParamsDType})
	if err != nil {
		t.Close()
		return nil, err
	}
	if err := t.check(src); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// setPrecision decides the output's parameter dtype and plugin precision
// and records them on the config. The parameters keep the source's dtype
// unless dtype asks for a cast: NeMo's converter builds every model in
// bf16 and lets the load cast fp16 and fp32 checkpoints, losing precision
// silently; here the config describes what the checkpoint holds. The
// plugin computes in model_config.yaml's precision when it is given and
// no cast is asked for, else in the parameter dtype.
func (t *Target) setPrecision(src *Source, y map[string]any, dtype string) error {
	cs, err := castFor(src, dtype)
	if err != nil {
		return err
	}
	t.cast = cs
	p := models.Precision{ParamsDType: cs.of(cs.from), Plugin: models.PluginFor(cs.of(cs.from))}
	if v, ok := y["precision"]; ok && v != nil && !cs.active() {
		if p.Plugin, err = models.PluginPrecision(v); err != nil {
			return fmt.Errorf("%s: model_config.yaml: %w", src.NeMo1.Path, err)
		}
	}
	t.Precision = p
	return models.SetPrecision(t.Config, p)
}

// sizeVocab records how NeMo 2 sizes the embedding to its stored rows
// (models.SetVocab: vocab_size, or for MambaModel the padding divisor).
func (t *Target) sizeVocab(src *Source) error {
	emb, ok := src.Weights.Tensor(embeddingKey(src))
	if !ok || len(emb.Shape) != 2 {
		return nil // Check reports the missing embedding
	}
	note, err := models.SetVocab(t.Config, int(emb.Shape[0]), t.Tokenizer.VocabSize)
	if err != nil {
		return fmt.Errorf("%s: %w", src.NeMo1.Path, err)
	}
	if note != "" {
		t.Warnings = append(t.Warnings, note)
	}
	return nil
}

func embeddingKey(src *Source) string {
	for _, t := range src.Weights.Tensors {
		if strings.HasSuffix(t.Key, "embedding.word_embeddings.weight") {
			return t.Key
		}
	}
	return ""
}

// check compares the source with the manifest. Missing tensors and shape or
// dtype differences fail; objects the source lacks are filled in.
func (t *Target) check(src *Source) error {
	s := &models.Source{}
	key, _ := models.KeyMap(sourceKeys(src.Weights))
	for _, tn := range src.Weights.Tensors {
		dt := t.cast.of(string(tn.DType)) // as written, after any cast
		s.Tensors = append(s.Tensors, models.SourceTensor{Key: key(tn.Key), DType: dt, Shape: tn.Shape})
	}
	for _, o := range src.Weights.Objects {
		s.Objects = append(s.Objects, key(o.Key))
	}
	var fatal []string
	leftovers := 0
	for _, d := range models.Check(t.Manifest, s) {
		switch {
		case d.Kind == models.Missing && d.Object:
			// Filled in with an empty state (ExtraObjects).
		case d.Kind == models.Unexpected && d.Object && tolerated(d.Key):
			leftovers++
		case d.Kind == models.Unexpected:
			// Weights NeMo 2 would not load: the model would compute
			// without them.
			fatal = append(fatal, d.String()+" (NeMo 2's model has no place for it)")
		default:
			fatal = append(fatal, d.String())
		}
	}
	if leftovers > 0 {
		t.Warnings = append(t.Warnings, fmt.Sprintf("%d extra states of TransformerEngine 1.6-1.8's attention submodules (core_attention.*_attention._extra_state) are copied; NeMo 2 does not request them, and they hold no weights", leftovers))
	}
	if len(fatal) > 0 {
		for _, tn := range s.Tensors {
			if strings.HasSuffix(tn.Key, ".mixer.in_proj.weight") || strings.HasSuffix(tn.Key, ".mixer.conv1d.weight") {
				fatal = append(fatal, "(the Mamba mixers' in_proj and conv1d are stored whole, as Megatron-Core 0.8 saved them; NeMo 2 loads them in parts (in_proj.weight.z/x/B/C/dt, conv1d.*.x/B/C): load the checkpoint in NeMo 1 with Megatron-Core >= 0.9 and save it again)")
				break
			}
		}
		if t.Model.ID == models.AutoID {
			return fmt.Errorf("the tensors of %s do not match the architecture its model_config.yaml describes (%s):\n  %s", src.NeMo1.Path, t.Config.Class.Ref, strings.Join(fatal, "\n  "))
		}
		return fmt.Errorf("%s does not fit %s (%s):\n  %s\nIf the checkpoint's architecture differs from the id, try --model_id auto", src.NeMo1.Path, t.Model.ID, t.Config.Class.Ref, strings.Join(fatal, "\n  "))
	}
	return nil
}

// ExtraObjects returns the objects the model loads; those the source lacks
// are written with TransformerEngine's empty state.
func (t *Target) ExtraObjects() []Extra {
	var out []Extra
	for _, o := range t.Manifest.Objects {
		out = append(out, Extra{Key: o.Key})
	}
	return out
}

// WriteContext writes context/ for the target into dir.
func (t *Target) WriteContext(dir string) error {
	tok, err := nemo2.TokenizerConfig(t.Tokenizer)
	if err != nil {
		return err
	}
	if err := nemo2.WriteContext(dir, &nemo2.Context{Model: t.Model.Class, Config: t.Config, Tokenizer: tok, Precision: t.Precision}); err != nil {
		return err
	}
	return t.Tokenizer.WriteFiles(dir)
}

// readModelConfig reads model_config.yaml resolved as NeMo 1.0 (OmegaConf)
// resolves it, or nil for a bare weights directory.
func readModelConfig(src *Source) (map[string]any, error) {
	if src.NeMo1.ConfigPath == "" {
		return nil, nil
	}
	data, err := src.NeMo1.ReadConfig()
	if err != nil {
		return nil, err
	}
	m, err := ReadYAML(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", src.NeMo1.Path, src.NeMo1.ConfigPath, err)
	}
	return m, nil
}

// ReadYAML parses a YAML mapping as NeMo reads it (OmegaConf's rules,
// interpolations resolved where they can be) into plain Go values: maps,
// slices, bool, int64 (or *big.Int), float64, string and nil.
func ReadYAML(data []byte) (map[string]any, error) {
	root, err := omegaconf.Parse(data)
	if err != nil {
		return nil, err
	}
	resolved, _, err := omegaconf.Resolve(root, nil)
	if err != nil {
		return nil, err
	}
	m, ok := resolved.Plain().(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a mapping")
	}
	return m, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// resolveTokenizer finds the tokenizer as NeMo's converter does, with its
// gaps closed: --tokenizer_vocab_file first, then --tokenizer_path (for
// .nemo input too), then the checkpoint's own tokenizer config and
// artifact, then the Hugging Face Hub.
func resolveTokenizer(ctx context.Context, src *Source, y map[string]any, opts TargetOptions) (*tokenizer.Info, func(), error) {
	legacy := false
	cfg, _ := y["tokenizer"].(map[string]any)
	if b, ok := cfg["sentencepiece_legacy"].(bool); ok {
		legacy = b
	}
	switch {
	case opts.TokenizerVocabFile != "":
		info, err := tokenizer.Load(opts.TokenizerVocabFile, tokenizer.Tiktoken, false)
		return info, nil, err
	case opts.TokenizerPath != "":
		lib := tokenizer.Library(opts.TokenizerLibrary)
		if _, err := os.Stat(opts.TokenizerPath); errors.Is(err, fs.ErrNotExist) && lib == tokenizer.HuggingFace {
			if repo := hubRepo(opts.TokenizerPath); repo != "" {
				if opts.Hub == nil {
					return nil, nil, fmt.Errorf("--tokenizer_path %s is not a local path, and downloads from the Hugging Face Hub are off; pass a local tokenizer directory", repo)
				}
				return download(ctx, *opts.Hub, repo)
			}
		}
		info, err := tokenizer.Load(opts.TokenizerPath, lib, legacy)
		return info, nil, err
	}
	if cfg == nil {
		if repo := hubRepo(opts.ModelID); repo != "" && opts.Hub != nil && !isDir(opts.ModelID) {
			return download(ctx, *opts.Hub, repo)
		}
		return nil, nil, fmt.Errorf("%s has no tokenizer config; pass --tokenizer_path (a SentencePiece model or Hugging Face directory) or --tokenizer_vocab_file", src.NeMo1.Path)
	}
	lib, _ := cfg["library"].(string)
	model, _ := cfg["model"].(string)
	switch tokenizer.Library(lib) {
	case tokenizer.SentencePiece, tokenizer.Tiktoken:
		if model == "" {
			return nil, nil, fmt.Errorf("%s: tokenizer.model is empty; pass --tokenizer_path", src.NeMo1.Path)
		}
		data, name, err := readArtifact(src, model)
		if err != nil {
			return nil, nil, err
		}
		if tokenizer.Library(lib) == tokenizer.Tiktoken {
			return tiktokenFromBytes(data, name)
		}
		info, err := tokenizer.SentencePieceBytes(data, name, src.NeMo1.Path+":"+model, legacy)
		return info, nil, err
	case tokenizer.HuggingFace:
		typ, _ := cfg["type"].(string)
		if typ != "" && isDir(typ) {
			info, err := tokenizer.Load(typ, tokenizer.HuggingFace, false)
			return info, nil, err
		}
		repo := hubRepo(typ)
		if repo == "" {
			return nil, nil, fmt.Errorf("%s: tokenizer.type %q is neither a local directory nor a Hugging Face repository id; pass --tokenizer_path", src.NeMo1.Path, typ)
		}
		if opts.Hub == nil {
			return nil, nil, fmt.Errorf("%s names the Hugging Face tokenizer %s; pass a local copy with --tokenizer_path, or allow the download", src.NeMo1.Path, repo)
		}
		return download(ctx, *opts.Hub, repo)
	case tokenizer.Megatron:
		info, err := megatronTokenizer(src, cfg, legacy)
		return info, nil, err
	}
	return nil, nil, fmt.Errorf("%s: tokenizer library %q is not supported (sentencepiece, huggingface, tiktoken and megatron are); pass --tokenizer_path", src.NeMo1.Path, lib)
}

// megatronTokenizer reads a tokenizer of NeMo 1's library "megatron" as
// get_nmt_tokenizer builds it: type GPT2BPETokenizer is transformers'
// GPT2Tokenizer over the vocab_file and merge_file artifacts,
// GPTSentencePieceTokenizer a SentencePiece model.
func megatronTokenizer(src *Source, cfg map[string]any, legacy bool) (*tokenizer.Info, error) {
	typ, _ := cfg["type"].(string)
	switch typ {
	case "GPTSentencePieceTokenizer":
		model, _ := cfg["model"].(string)
		if model == "" {
			return nil, fmt.Errorf("%s: tokenizer.model is empty; pass --tokenizer_path", src.NeMo1.Path)
		}
		data, name, err := readArtifact(src, model)
		if err != nil {
			return nil, err
		}
		return tokenizer.SentencePieceBytes(data, name, src.NeMo1.Path+":"+model, legacy)
	case "GPT2BPETokenizer", "megatron-gpt-345m":
	default:
		return nil, fmt.Errorf("%s: tokenizer library megatron with type %q is not supported (GPT2BPETokenizer and GPTSentencePieceTokenizer are); pass --tokenizer_path", src.NeMo1.Path, typ)
	}
	// Both would add tokens after the vocabulary (AutoTokenizer's
	// special tokens, then add_special_tokens), changing the ids.
	for _, key := range []string{"special_tokens", "additional_special_tokens"} {
		if v := cfg[key]; v != nil && !isEmpty(v) {
			return nil, fmt.Errorf("%s: tokenizer.%s is set; carrying it to NeMo 2 is not supported yet (it adds tokens to the GPT-2 vocabulary): pass --tokenizer_path with a Hugging Face tokenizer directory that has them", src.NeMo1.Path, key)
		}
	}
	vocabRef, _ := cfg["vocab_file"].(string)
	mergesRef, _ := cfg["merge_file"].(string)
	if vocabRef == "" || mergesRef == "" {
		return nil, fmt.Errorf("%s: tokenizer.vocab_file or tokenizer.merge_file is not set, so NeMo 1 downloaded GPT-2's own vocab.json and merges.txt; "+
			"pass a directory holding them with --tokenizer_library megatron --tokenizer_path DIR (for example the two files of the Hugging Face repository openai-community/gpt2)", src.NeMo1.Path)
	}
	vocab, _, err := readArtifact(src, vocabRef)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.vocab_file: %w", err)
	}
	merges, _, err := readArtifact(src, mergesRef)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.merge_file: %w", err)
	}
	return tokenizer.GPT2BPEBytes(vocab, merges, src.NeMo1.Path+":"+vocabRef, src.NeMo1.Path+":"+mergesRef)
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	case string:
		return v == ""
	}
	return false
}

// readArtifact reads a "nemo:<name>" artifact (or a plain file name) from
// the checkpoint, capped at the tokenizer size limit.
func readArtifact(src *Source, ref string) ([]byte, string, error) {
	p, err := src.NeMo1.Artifact(ref)
	if err != nil {
		return nil, "", fmt.Errorf("%w; pass --tokenizer_path", err)
	}
	f, err := src.NeMo1.FS.Open(p)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, tokenizer.MaxModelSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %s: %w", src.NeMo1.Path, p, err)
	}
	if len(data) > tokenizer.MaxModelSize {
		return nil, "", fmt.Errorf("%s: %s is larger than %d bytes", src.NeMo1.Path, p, tokenizer.MaxModelSize)
	}
	return data, path.Base(p), nil
}

func tiktokenFromBytes(data []byte, name string) (*tokenizer.Info, func(), error) {
	dir, err := os.MkdirTemp("", "nemo-migrate-tokenizer-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		cleanup()
		return nil, nil, err
	}
	info, err := tokenizer.Load(p, tokenizer.Tiktoken, false)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return info, cleanup, nil
}

// hubRepo returns s if it looks like a Hub repository id ("org/name").
func hubRepo(s string) string {
	parts := strings.Split(s, "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" || strings.ContainsAny(s, " \\:") || strings.HasPrefix(s, ".") {
		return ""
	}
	return s
}

// download fetches a Hub repository's tokenizer: from the local Hugging
// Face cache when it has it, else downloaded into a temporary directory
// that cleanup removes.
func download(ctx context.Context, hub tokenizer.HubConfig, repo string) (*tokenizer.Info, func(), error) {
	dir, err := os.MkdirTemp("", "nemo-migrate-hub-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	got, err := tokenizer.FetchTokenizer(ctx, hub, repo, "", dir)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	info, err := tokenizer.Load(got.Dir, tokenizer.HuggingFace, false)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	if got.Cached {
		info.Origin = fmt.Sprintf("the tokenizer of %s comes from the Hugging Face cache (%s, commit %s), without a download", repo, got.Dir, got.Commit)
	}
	return info, cleanup, nil
}

// ParamsDType returns the dtype a checkpoint stores its parameters in:
// the word embedding's, or, without one, the dtype most floating-point
// tensors have. Tensors of another dtype (Megatron keeps a MoE router's
// expert_bias in float32) are left as they are by a cast.
func ParamsDType(c *distckpt.Checkpoint) (string, error) {
	count := map[string]int{}
	for _, t := range c.Tensors {
		if strings.HasSuffix(t.Key, "embedding.word_embeddings.weight") {
			return checkParamsDType(string(t.DType), t.Key)
		}
		if models.ValidParamsDType(string(t.DType)) {
			count[string(t.DType)]++
		}
	}
	best := ""
	for _, d := range []string{"bfloat16", "float16", "float32"} {
		if count[d] > count[best] {
			best = d
		}
	}
	if best == "" {
		return "", errors.New("no floating-point tensor: this is not a model checkpoint NeMo 2 can build")
	}
	return best, nil
}

// castFor returns the cast of src's parameters to dtype ("" for none).
func castFor(src *Source, dtype string) (castSpec, error) {
	from, err := ParamsDType(src.Weights)
	if err != nil {
		return castSpec{}, fmt.Errorf("%s: %w", src.NeMo1.Path, err)
	}
	return castSpec{from: from, to: dtype}, nil
}

func checkParamsDType(d, key string) (string, error) {
	if !models.ValidParamsDType(d) {
		return "", fmt.Errorf("%s is %s; NeMo 2 builds models in bfloat16, float16 or float32", key, d)
	}
	return d, nil
}

// tolerated reports whether an object NeMo 2 does not request may be left
// in the output: the extra states TransformerEngine 1.6-1.8 kept for
// DotProductAttention's submodules (fused_attention, flash_attention,
// unfused_attention), which hold fp8 metadata, not weights.
func tolerated(key string) bool {
	base, _, _ := strings.Cut(key, "/shard_")
	for _, sub := range []string{"fused_attention", "flash_attention", "unfused_attention"} {
		if strings.HasSuffix(base, ".core_attention."+sub+"._extra_state") {
			return true
		}
	}
	return false
}

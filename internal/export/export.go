// Package export writes a NeMo checkpoint (NeMo 1.0 or 2.0) as a Hugging
// Face checkpoint: config.json and generation_config.json, the weights as
// safetensors shards with their index, and the tokenizer files, in a
// directory that transformers' from_pretrained loads.
//
// Every output tensor is a concatenation of byte ranges of one source
// tensor (a layer of a stack, the q/k/v rows of each query group, a SwiGLU
// half, an expert, the vocabulary without its padding rows), so export
// streams each source tensor once, front to back, and writes its ranges
// into place at offsets fixed before the first byte is written: no tensor
// value is decoded unless --dtype asks for a cast, and memory stays small
// whatever the model's size. The output is built in a staging directory
// and renamed into place when complete.
//
// One file per model family (llama.go, mixtral.go, nemotron.go,
// gptbigcode.go) holds its config.json fields and its tensor map. A
// source the chosen family cannot express (a config field that changes
// the network, a tensor with no place in the output) is refused before
// anything is written.
package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/nemo-migrate/nemo-migrate/internal/cast"
	"github.com/nemo-migrate/nemo-migrate/internal/convert"
	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo1"
	"github.com/nemo-migrate/nemo-migrate/internal/outdir"
	"github.com/nemo-migrate/nemo-migrate/internal/safetensors"
	"github.com/nemo-migrate/nemo-migrate/internal/torchsave"
)

// DefaultShardSize is Hugging Face's default max_shard_size ("5GB").
const DefaultShardSize = 5_000_000_000

// Options say what to export and how.
type Options struct {
	Input  string // NeMo 1.0 .nemo, extracted directory or model_weights/; or a NeMo 2.0 checkpoint directory
	Output string // directory to create
	Force  bool   // replace an existing non-empty output directory

	// ShardSize is the most bytes of tensors per safetensors file
	// (default DefaultShardSize).
	ShardSize int64
	// DType casts the parameters to bfloat16, float16 or float32 ("" keeps
	// the stored dtype, bit for bit).
	DType string
	// SpoolDir is where a gzip .nemo is decompressed (default: next to
	// Output).
	SpoolDir string
	// Tokenizer overrides the source's tokenizer, as for convert
	// (--tokenizer_path, ...); ModelID is ignored.
	Tokenizer convert.TargetOptions

	// Progress, if set, is called as tensor bytes are written.
	Progress func(done, total int64)
	// SpoolProgress, if set, is called as a gzip .nemo is decompressed.
	SpoolProgress func(done, total int64)
}

// Plan is everything export will do, computed before writing a byte.
type Plan struct {
	Input        string         `json:"input"`
	Form         string         `json:"form"`
	Output       string         `json:"output"`
	Architecture string         `json:"architecture"`
	ModelType    string         `json:"model_type"`
	SourceConfig string         `json:"source_config"`
	VocabSize    int64          `json:"vocab_size"`
	DType        string         `json:"dtype"`
	Config       map[string]any `json:"config"`
	Tensors      []*Tensor      `json:"tensors"`
	Files        []PlanFile     `json:"files"`
	Bytes        int64          `json:"bytes"` // tensor bytes written
	Tokenizer    []string       `json:"tokenizer_files"`
	Notes        []string       `json:"notes,omitempty"`

	src     *Source
	shards  []*safetensors.File
	tokJSON map[string][]byte // tokenizer files export writes itself
}

// PlanFile is one file of the output.
type PlanFile struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
}

// Result summarizes a finished export.
type Result struct {
	Output       string        `json:"output"`
	Architecture string        `json:"architecture"`
	Tensors      int           `json:"tensors"`
	Bytes        int64         `json:"bytes"`
	Files        []string      `json:"files"`
	Duration     time.Duration `json:"duration_ns"`
	Notes        []string      `json:"notes,omitempty"`
}

// DryRun opens the input and returns the plan, writing nothing.
func DryRun(ctx context.Context, opts Options) (*Plan, error) {
	p, err := prepare(ctx, opts, opts.SpoolDir)
	if err != nil {
		return nil, err
	}
	p.src.Close()
	if opts.Output != "" {
		if err := outdir.Preflight(opts.Input, opts.Output, opts.Force, p.Bytes); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func prepare(ctx context.Context, opts Options, spool string) (*Plan, error) {
	if opts.DType != "" && !models.ValidParamsDType(opts.DType) {
		return nil, fmt.Errorf("--dtype %s: want bfloat16, float16 or float32", opts.DType)
	}
	src, err := Open(ctx, opts.Input, nemo1.Options{SpoolDir: spool, Progress: opts.SpoolProgress}, opts.Tokenizer)
	if err != nil {
		return nil, err
	}
	p, err := plan(src, opts)
	if err != nil {
		src.Close()
		return nil, err
	}
	return p, nil
}

func plan(src *Source, opts Options) (*Plan, error) {
	f, err := pick(src)
	if err != nil {
		return nil, err
	}
	rows := int64(src.Arch.VocabSize)
	vocab := rows
	if src.Tokenizer != nil && src.Tokenizer.VocabSize > 0 {
		// Every id the tokenizer can produce keeps its row, gaps included.
		vocab = int64(max(src.Tokenizer.VocabSize, src.Tokenizer.MaxID+1))
		if vocab > rows {
			return nil, fmt.Errorf("%s: the tokenizer has %d tokens but the embedding only %d rows", src.Path, vocab, rows)
		}
	}
	dtype := src.DType
	if opts.DType != "" {
		if !cast.Supported(torchsave.DType(src.DType), torchsave.DType(opts.DType)) {
			return nil, fmt.Errorf("--dtype %s: cannot cast %s parameters", opts.DType, src.DType)
		}
		dtype = opts.DType
	}
	p := &Plan{Input: src.Path, Form: src.Form, Output: opts.Output, Architecture: f.Architecture, ModelType: f.ModelType,
		SourceConfig: src.Config.Class.Name(), VocabSize: vocab, DType: dtype, src: src}
	p.Notes = append(p.Notes, src.Weights.Notes...)
	if vocab < rows {
		p.Notes = append(p.Notes, fmt.Sprintf("the embedding's %d rows hold %d tokens and %d rows of padding; the padding is dropped and vocab_size is %d", rows, vocab, rows-vocab, vocab))
	}
	if n := len(src.Weights.Objects); n > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("%d TransformerEngine extra states (fp8 scaling metadata) have no place in a Hugging Face checkpoint and are not exported", n))
	}

	cfg, err := f.config(src)
	if err != nil {
		return nil, err
	}
	cfg["architectures"] = []string{f.Architecture}
	cfg["model_type"] = f.ModelType
	cfg["vocab_size"] = vocab
	cfg["torch_dtype"] = dtype
	cfg["use_cache"] = true
	// Special token ids are always written, null where the tokenizer has
	// none: a class's own defaults (GlmConfig's pad_token_id 151329) name
	// tokens of another vocabulary, beyond this embedding.
	cfg["bos_token_id"], cfg["eos_token_id"], cfg["pad_token_id"] = nil, nil, nil
	if t := src.Tokenizer; t != nil {
		if t.BOS >= 0 {
			cfg["bos_token_id"] = t.BOS
		}
		if t.EOS >= 0 {
			cfg["eos_token_id"] = t.EOS
		}
		if t.PAD >= 0 && int64(t.PAD) < vocab {
			cfg["pad_token_id"] = t.PAD
		}
	}
	if std, ok := configFloat(src, "init_method_std"); ok {
		cfg["initializer_range"] = std
	}
	p.Config = cfg

	m := newMapper(src, opts.DType)
	f.tensors(m, src, vocab)
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", src.Path, err)
	}
	if err := checkOverlaps(m.out); err != nil {
		return nil, fmt.Errorf("%s: %w", src.Path, err)
	}
	p.Tensors = m.out
	if err := checkShifts(m.out); err != nil {
		return nil, fmt.Errorf("%s: %w", src.Path, err)
	}
	if err := p.layout(opts.ShardSize); err != nil {
		return nil, err
	}
	if err := p.planTokenizer(); err != nil {
		return nil, err
	}
	return p, nil
}

// checkShifts reads the tensors whose values export shifts (norm weights:
// small) and fails, before anything is written, if a shifted value would
// be rounded.
func checkShifts(out []*Tensor) error {
	var shifted []*Tensor
	for _, t := range out {
		if t.Shift != 0 {
			shifted = append(shifted, t)
		}
	}
	err := stream(context.Background(), shifted, func(*Tensor) (int64, bool) { return 0, true }, func(_ piece, r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if errors.Is(err, cast.ErrInexact) {
		return fmt.Errorf("%w; the values cannot move to Hugging Face's convention exactly in this dtype (--dtype float32 can)", err)
	}
	return err
}

// checkOverlaps fails if two output ranges read the same source byte.
func checkOverlaps(out []*Tensor) error {
	type ref struct {
		s    span
		name string
	}
	by := map[string][]ref{}
	for _, t := range out {
		for _, p := range t.parts {
			for _, s := range p.spans {
				by[p.src.Key] = append(by[p.src.Key], ref{s, t.Name})
			}
		}
	}
	for key, refs := range by {
		slices.SortFunc(refs, func(a, b ref) int { return int(min(max(a.s.off-b.s.off, -1), 1)) })
		for i := 1; i < len(refs); i++ {
			if refs[i].s.off < refs[i-1].s.off+refs[i-1].s.n {
				return fmt.Errorf("%s and %s both take bytes %d.. of %s", refs[i-1].name, refs[i].name, refs[i].s.off, key)
			}
		}
	}
	return nil
}

// layout splits the tensors into shards and fixes every tensor's place.
func (p *Plan) layout(shardSize int64) error {
	if shardSize <= 0 {
		shardSize = DefaultShardSize
	}
	sizes := make([]int64, len(p.Tensors))
	for i, t := range p.Tensors {
		n := safetensors.ItemSize(safetensors.DTypeOf(t.DType))
		for _, d := range t.Shape {
			n *= d
		}
		t.Bytes = n
		sizes[i] = n
		p.Bytes += n
	}
	starts := safetensors.Split(sizes, shardSize)
	for i, start := range starts {
		end := len(p.Tensors)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		name := safetensors.SingleName
		if len(starts) > 1 {
			name = safetensors.ShardName(i, len(starts))
		}
		var specs []safetensors.Spec
		for _, t := range p.Tensors[start:end] {
			t.File = name
			specs = append(specs, safetensors.Spec{Name: t.Name, DType: safetensors.DTypeOf(t.DType), Shape: t.Shape})
		}
		sf, err := safetensors.Layout(specs, map[string]string{"format": "pt"})
		if err != nil {
			return err
		}
		p.shards = append(p.shards, sf)
		p.Files = append(p.Files, PlanFile{Name: name, Bytes: sf.Size()})
	}
	return nil
}

// Run exports opts.Input into opts.Output.
func Run(ctx context.Context, opts Options) (*Result, error) {
	start := time.Now()
	run, err := outdir.Start(opts.Input, opts.Output, opts.Force)
	if err != nil {
		return nil, err
	}
	defer run.Abort()
	spool, err := run.SpoolDir(opts.SpoolDir)
	if err != nil {
		return nil, err
	}
	p, err := prepare(ctx, opts, spool)
	if err != nil {
		return nil, err
	}
	defer p.src.Close()
	if err := outdir.CheckSpace(opts.Output, p.Bytes); err != nil {
		return nil, err
	}
	err = func() error {
		if err := p.writeWeights(ctx, run.Staging, opts.Progress); err != nil {
			return err
		}
		if err := p.writeMeta(run.Staging); err != nil {
			return err
		}
		return run.CommitUnchanged(ctx)
	}()
	if err != nil {
		return nil, err
	}
	res := &Result{Output: opts.Output, Architecture: p.Architecture, Tensors: len(p.Tensors), Bytes: p.Bytes, Duration: time.Since(start), Notes: append(run.Cleaned, p.Notes...)}
	for _, f := range p.Files {
		res.Files = append(res.Files, f.Name)
	}
	if len(p.shards) > 1 {
		res.Files = append(res.Files, safetensors.IndexName)
	}
	res.Files = append(res.Files, "config.json", "generation_config.json")
	res.Files = append(res.Files, p.Tokenizer...)
	return res, nil
}

// writeWeights creates the shards, then streams every source tensor once
// and writes its ranges at their places.
func (p *Plan) writeWeights(ctx context.Context, dir string, progress func(done, total int64)) error {
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	places := map[string]int64{} // tensor name -> absolute file offset
	for i, sf := range p.shards {
		name := p.Files[i].Name
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		files[name] = f
		if _, err := f.Write(sf.Header()); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := f.Truncate(sf.Size()); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, t := range sf.Tensors {
			places[t.Name] = sf.HeaderSize + t.Begin
		}
	}
	var done int64
	buf := make([]byte, 1<<20) // fewer, larger pwrites than io.Copy's 32 KiB
	err := stream(ctx, p.Tensors, func(t *Tensor) (int64, bool) { return places[t.Name], true }, func(pc piece, r io.Reader) error {
		n, err := io.CopyBuffer(io.NewOffsetWriter(files[pc.out.File], pc.dst), r, buf)
		if err == nil && n != pc.outBytes() {
			err = fmt.Errorf("wrote %d of %d bytes", n, pc.outBytes())
		}
		done += n
		if progress != nil {
			progress(done, p.Bytes)
		}
		return err
	})
	if err != nil {
		return err
	}
	for name, f := range files {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		delete(files, name)
	}
	return nil
}

// writeMeta writes the index, config.json, generation_config.json and the
// tokenizer files.
func (p *Plan) writeMeta(dir string) error {
	if len(p.shards) > 1 {
		idx := safetensors.Index{WeightMap: map[string]string{}}
		for _, t := range p.Tensors {
			idx.WeightMap[t.Name] = t.File
			idx.Metadata.TotalSize += t.Bytes
		}
		if err := writeJSON(filepath.Join(dir, safetensors.IndexName), idx); err != nil {
			return err
		}
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), p.Config); err != nil {
		return err
	}
	gen := map[string]any{"_from_model_config": true}
	for _, k := range []string{"bos_token_id", "eos_token_id", "pad_token_id"} {
		if v, ok := p.Config[k]; ok {
			gen[k] = v
		}
	}
	if err := writeJSON(filepath.Join(dir, "generation_config.json"), gen); err != nil {
		return err
	}
	return p.writeTokenizer(dir)
}

func writeJSON(path string, v any) error {
	b, err := marshalJSON(v)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return writeNew(path, b)
}

func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	return nil
}

// marshalJSON indents as Hugging Face writes its JSON files (sorted keys,
// two spaces) and keeps "<s>" readable rather than HTML-escaped.
// pyFloat is a float written as Python's json writes one, with a point
// (3.0, not 3): transformers 5 checks config fields' types strictly and
// refuses an int where it declares a float (final_logit_softcapping).
type pyFloat float64

func (f pyFloat) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(float64(f))
	if err == nil && !bytes.ContainsAny(b, ".eE") {
		b = append(b, ".0"...)
	}
	return b, err
}

// pyFloats returns v with every float64 in its maps and slices a pyFloat.
func pyFloats(v any) any {
	switch v := v.(type) {
	case float64:
		return pyFloat(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = pyFloats(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = pyFloats(x)
		}
		return out
	}
	return v
}

func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(pyFloats(v)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Package convert turns a NeMo 1.0 checkpoint into a NeMo 2.0 checkpoint
// directory: source -> plan -> weights writer -> context -> finalize.
//
// Tensor bytes are moved, never decoded. A torch_dist source's .distcp files
// hold no keys, so they are copied whole (a reflink or copy_file_range where
// the system allows) and only the index is rewritten; a zarr source's chunks
// are wrapped one by one into torch.save items. Everything is written into a
// temporary sibling of the output and renamed into place only when complete,
// so an interrupted or failed run leaves no output that looks usable.
package convert

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"time"

	"github.com/nemo-migrate/nemo-migrate/internal/cast"
	"github.com/nemo-migrate/nemo-migrate/internal/dcp"
	"github.com/nemo-migrate/nemo-migrate/internal/distckpt"
	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo1"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo2"
	"github.com/nemo-migrate/nemo-migrate/internal/outdir"
	"github.com/nemo-migrate/nemo-migrate/internal/teextra"
	"github.com/nemo-migrate/nemo-migrate/internal/torchsave"
)

// Options say what to convert and how.
type Options struct {
	Input  string // .nemo file, extracted directory, or model_weights directory
	Output string // NeMo 2.0 checkpoint directory to create
	Force  bool   // replace an existing non-empty output directory

	// SpoolDir is where a gzip .nemo is decompressed (default: a directory
	// beside Output that the run removes, or the next run if this one is
	// killed).
	SpoolDir string

	// Target chooses the NeMo 2.0 model and tokenizer. When it is nil only
	// weights/ is written (and verify will report the missing context/).
	Target *TargetOptions

	// ExtraObjects are objects (unique keys, NeMo 2 naming) the target
	// model loads that the source may lack; missing ones get
	// TransformerEngine's empty state. Run adds the target's own.
	ExtraObjects []Extra

	// DType casts the parameters to bfloat16, float16 or float32 while
	// streaming ("" keeps the source's dtype, bit for bit).
	DType string

	// Progress, if set, is called as bytes are written.
	Progress func(done, total int64)
	// SpoolProgress, if set, is called as a gzip .nemo is decompressed
	// (compressed bytes read), before anything is written.
	SpoolProgress func(done, total int64)
}

// Source is an opened input.
type Source struct {
	NeMo1   *nemo1.Checkpoint
	Weights *distckpt.Checkpoint
}

// Result summarizes a finished conversion.
type Result struct {
	Output      string        `json:"output"`
	Backend     string        `json:"source_backend"`
	Tensors     int           `json:"tensors"`
	Objects     int           `json:"objects"`
	Bytes       int64         `json:"bytes"`        // written to weights/, extra states and copied files whole
	TensorBytes int64         `json:"tensor_bytes"` // the tensors' data, as inspect counts it
	Files       []string      `json:"files"`
	Duration    time.Duration `json:"duration_ns"`
	Model       string        `json:"model_id,omitempty"`
	Config      string        `json:"config_class,omitempty"`
	Tokenizer   string        `json:"tokenizer,omitempty"`
	Notes       []string      `json:"notes,omitempty"`
	Warnings    []string      `json:"warnings,omitempty"`
}

// Open opens the input for planning or conversion; ctx stops a long
// decompression of a gzip .nemo, whose spool directory and progress opts
// give.
func Open(ctx context.Context, input string, opts nemo1.Options) (*Source, error) {
	opts.Context = ctx
	ck, err := nemo1.Open(input, opts)
	if err != nil {
		return nil, err
	}
	w, err := distckpt.Open(ck.FS, ck.WeightsDir)
	if err != nil {
		ck.Close()
		return nil, fmt.Errorf("%s: %w", input, err)
	}
	return &Source{NeMo1: ck, Weights: w}, nil
}

// Close releases the input.
func (s *Source) Close() error { return s.NeMo1.Close() }

// PlanFor returns what converting src would do.
func PlanFor(src *Source, opts Options) (*Plan, error) {
	var cs castSpec
	if opts.DType != "" {
		var err error
		if cs, err = castFor(src, opts.DType); err != nil {
			return nil, err
		}
	}
	p, err := makePlan(src.Weights, opts.ExtraObjects, cs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.NeMo1.Path, err)
	}
	p.Input, p.Form, p.Output = src.NeMo1.Path, src.NeMo1.Kind.String(), opts.Output
	return p, nil
}

// job is an opened input with its resolved target and plan.
type job struct {
	src    *Source
	target *Target // nil when only weights are converted
	plan   *Plan
}

func (j *job) Close() {
	if j.target != nil {
		j.target.Close()
	}
	j.src.Close()
}

// prepare opens the input, resolves the target and plans the conversion.
func prepare(ctx context.Context, opts Options, spoolDir string) (*job, error) {
	if opts.DType != "" && !models.ValidParamsDType(opts.DType) {
		return nil, fmt.Errorf("--dtype %s: want bfloat16, float16 or float32", opts.DType)
	}
	src, err := Open(ctx, opts.Input, nemo1.Options{SpoolDir: spoolDir, Progress: opts.SpoolProgress})
	if err != nil {
		return nil, err
	}
	j := &job{src: src}
	if opts.Target != nil {
		topts := *opts.Target
		topts.dtype = opts.DType
		if j.target, err = ResolveTarget(ctx, src, topts); err != nil {
			src.Close()
			return nil, err
		}
		opts.ExtraObjects = append(opts.ExtraObjects, j.target.ExtraObjects()...)
	}
	if j.plan, err = PlanFor(src, opts); err != nil {
		j.Close()
		return nil, err
	}
	if j.target != nil {
		j.plan.describeTarget(j.target)
	}
	return j, nil
}

// DryRun opens the input, resolves the target and returns the plan,
// writing nothing.
func DryRun(ctx context.Context, opts Options) (*Plan, error) {
	j, err := prepare(ctx, opts, opts.SpoolDir)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	if opts.Output != "" {
		if err := outdir.Preflight(opts.Input, opts.Output, opts.Force, j.plan.Bytes); err != nil {
			return nil, err
		}
	}
	return j.plan, nil
}

// Run converts opts.Input into opts.Output.
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
	j, err := prepare(ctx, opts, spool)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	src, target, plan := j.src, j.target, j.plan
	if err := outdir.CheckSpace(opts.Output, plan.Bytes); err != nil {
		return nil, err
	}
	err = func() error {
		w, err := nemo2.NewWeightsWriter(filepath.Join(run.Staging, nemo2.WeightsDir))
		if err != nil {
			return err
		}
		p := &progress{fn: opts.Progress, total: plan.Bytes}
		if err := writeWeights(ctx, src.Weights, plan, w, p); err != nil {
			w.Abort()
			return err
		}
		if err := ctx.Err(); err != nil {
			w.Abort()
			return err
		}
		if target != nil {
			if err := target.WriteContext(filepath.Join(run.Staging, "context")); err != nil {
				w.Abort()
				return fmt.Errorf("writing context: %w", err)
			}
		}
		if err := w.Finish(nemo2.CommonState()); err != nil {
			return err
		}
		return run.CommitUnchanged(ctx)
	}()
	if err != nil {
		return nil, err
	}
	res := &Result{Output: opts.Output, Backend: plan.Backend, Tensors: len(plan.Tensors), Objects: len(plan.Objects), Bytes: plan.Bytes, TensorBytes: plan.TensorBytes(), Duration: time.Since(start), Notes: append(run.Cleaned, plan.Notes...), Warnings: plan.Warnings}
	if target != nil {
		res.Model, res.Config = target.Model.ID, target.Config.Class.Ref.String()
		res.Tokenizer = string(target.Tokenizer.Library)
	}
	for _, f := range plan.Files {
		res.Files = append(res.Files, f.Name)
	}
	return res, nil
}

type progress struct {
	fn          func(done, total int64)
	done, total int64
}

func (p *progress) add(n int64) {
	p.done += n
	if p.fn != nil {
		p.fn(p.done, p.total)
	}
}

// writeWeights moves every item of src into w as the plan says.
func writeWeights(ctx context.Context, src *distckpt.Checkpoint, plan *Plan, w *nemo2.WeightsWriter, p *progress) error {
	if !plan.rewrite {
		if err := copyDistcpFiles(ctx, src, plan, w, p); err != nil {
			return err
		}
		for _, t := range src.Tensors {
			target := plan.key(t.Key)
			for _, ch := range t.Chunks {
				info := dcp.StorageInfo{RelativePath: path.Base(ch.Path), Offset: ch.ItemOffset, Length: ch.ItemLength}
				if err := w.RecordTensorChunk(target, t.DType, t.Shape, dcp.Chunk{Offsets: ch.Offsets, Sizes: ch.Sizes}, info); err != nil {
					return err
				}
			}
		}
		for _, o := range src.Objects {
			if isExtraState(o.Key) {
				continue // re-encoded by writeObjects
			}
			info := dcp.StorageInfo{RelativePath: path.Base(o.Path), Offset: o.ItemOffset, Length: o.ItemLength}
			if err := w.RecordObject(plan.key(o.Key), info); err != nil {
				return err
			}
		}
	} else {
		f, err := w.File(tensorFile)
		if err != nil {
			return err
		}
		for _, t := range src.Tensors {
			target := plan.key(t.Key)
			to := torchsave.DType(plan.cast.of(string(t.DType)))
			for _, ch := range t.Chunks {
				if err := ctx.Err(); err != nil {
					return err
				}
				rc, err := ch.Open()
				if err != nil {
					return fmt.Errorf("%s: %w", t.Key, err)
				}
				r, err := cast.Reader(rc, t.DType, to)
				if err != nil {
					rc.Close()
					return fmt.Errorf("%s: %w", t.Key, err)
				}
				err = f.WriteTensor(target, to, t.Shape, dcp.Chunk{Offsets: ch.Offsets, Sizes: ch.Sizes}, r)
				rc.Close()
				if err != nil {
					return err
				}
				p.add(ch.NumBytes())
			}
		}
	}
	return writeObjects(ctx, src, plan, w)
}

// writeObjects writes the objects convert creates itself: repacked zarr
// objects and extra states, fresh or re-encoded.
func writeObjects(ctx context.Context, src *distckpt.Checkpoint, plan *Plan, w *nemo2.WeightsWriter) error {
	var f *nemo2.ItemFile
	for _, it := range plan.Objects {
		if it.Action == CopyFile {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if f == nil {
			var err error
			if f, err = w.File(plan.objectFile); err != nil {
				return err
			}
		}
		if it.Action == FreshState {
			if err := f.WriteObject(it.Target, teextra.Empty().Tensor()); err != nil {
				return err
			}
			continue
		}
		o, ok := src.Object(it.Source)
		if !ok {
			return fmt.Errorf("object %s vanished", it.Source)
		}
		if it.Action == ReEncode {
			pl, err := readExtraState(o)
			if err != nil {
				return err
			}
			if err := f.WriteObject(it.Target, pl.Tensor()); err != nil {
				return err
			}
			continue
		}
		v, closer, err := o.Value()
		if err != nil {
			return err
		}
		err = f.WriteObject(it.Target, v)
		closer.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// copyDistcpFiles copies every source .distcp file the plan names.
func copyDistcpFiles(ctx context.Context, src *distckpt.Checkpoint, plan *Plan, w *nemo2.WeightsWriter, p *progress) error {
	for _, pf := range plan.Files {
		if pf.Source == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := src.FS.Open(pf.Source)
		if err != nil {
			return err
		}
		file, off, n, ok := fileSection(f)
		if ok {
			err = w.CopyFile(ctx, pf.Name, file, off, n, p.add)
			if file != f {
				file.Close()
			}
		} else {
			err = w.CopyStream(ctx, pf.Name, f, pf.Bytes, p.add)
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path.Join(src.Dir, path.Base(pf.Source)), err)
		}
	}
	return nil
}

package convert

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"

	"nemo-migrate/internal/distckpt"
	"nemo-migrate/internal/models"
	"nemo-migrate/internal/tarfs"
)

// Action says how an item reaches the output.
type Action string

// The ways items are moved.
const (
	CopyFile   Action = "copy-file"   // the whole source .distcp file is copied verbatim
	WrapChunk  Action = "wrap-chunk"  // a zarr chunk becomes a torch.save item
	Repack     Action = "repack"      // a zarr object file becomes torch.save([obj])
	FreshState Action = "fresh-state" // an empty TransformerEngine extra state is written
)

// Plan is everything convert will do, computed before writing a byte.
type Plan struct {
	Input    string     `json:"input"`
	Form     string     `json:"form"`
	Backend  string     `json:"backend"`
	Output   string     `json:"output"`
	Tensors  []PlanItem `json:"tensors"`
	Objects  []PlanItem `json:"objects"`
	Files    []PlanFile `json:"files"`
	Bytes    int64      `json:"bytes"` // bytes the writes move
	Notes    []string   `json:"notes,omitempty"`
	Warnings []string   `json:"warnings,omitempty"`

	// The target, when one was resolved.
	Model       string `json:"model_id,omitempty"`
	ConfigClass string `json:"config_class,omitempty"`
	ModelClass  string `json:"model_class,omitempty"`
	Tokenizer   string `json:"tokenizer,omitempty"`
	VocabSize   int    `json:"tokenizer_vocab_size,omitempty"`

	objectFile string // the file convert writes its own objects into
}

// PlanItem maps one source key to its target.
type PlanItem struct {
	Source string  `json:"source"`
	Target string  `json:"target"`
	DType  string  `json:"dtype,omitempty"`
	Shape  []int64 `json:"shape,omitempty"`
	Chunks int     `json:"chunks,omitempty"`
	Bytes  int64   `json:"bytes"`
	Action Action  `json:"action"`
	File   string  `json:"file,omitempty"` // output file holding it
	Fill   string  `json:"fill,omitempty"` // for fresh-state: the empty state written

	kind ExtraKind // for fresh-state: which empty state Fill describes
}

// ExtraKind says which empty TransformerEngine state a fresh object gets.
type ExtraKind int

const (
	// ModuleState is a TE module's (Linear, LayerNormLinear,
	// DotProductAttention, grouped MLP): io.BytesIO(torch.save(None)), what
	// TE 1.x wrote without fp8, which TE 1.x and 2.x and Megatron-Core's
	// grouped-MLP decoder accept.
	ModuleState ExtraKind = iota
	// OpState is an operation-based TE norm's (TE >= 1.13): an empty uint8
	// tensor, what those ops write without fp8 and the only non-None value
	// their set_extra_state accepts.
	OpState
)

func (k ExtraKind) String() string {
	if k == OpState {
		return "empty uint8 tensor"
	}
	return "BytesIO(torch.save(None))"
}

// Extra is an object the target model loads, which convert writes with an
// empty state when the source lacks it.
type Extra struct {
	Key  string
	Kind ExtraKind
}

// PlanFile is one output .distcp file.
type PlanFile struct {
	Name   string `json:"name"`
	Source string `json:"source,omitempty"` // the source file copied verbatim, if any
	Bytes  int64  `json:"bytes"`            // exact for copies, the tensor bytes otherwise
}

func (p *Plan) describeTarget(t *Target) {
	p.Model = t.Model.ID
	p.ConfigClass = t.Config.Class.Ref.String()
	p.ModelClass = t.Model.Class.Ref.String()
	p.Tokenizer = fmt.Sprintf("%s (%s)", t.Tokenizer.Class, t.Tokenizer.Path)
	p.VocabSize = t.Tokenizer.VocabSize
	p.Warnings = append(p.Warnings, t.Warnings...)
}

// tensorFile holds the tensors convert writes itself (from a zarr source).
const tensorFile = "__0_0.distcp"

// freeItemFile returns the first name __0_<n>.distcp not taken.
func freeItemFile(taken map[string]bool) string {
	for n := 1; ; n++ {
		name := fmt.Sprintf("__0_%d.distcp", n)
		if !taken[name] {
			return name
		}
	}
}

// makePlan decides how every item of src reaches the output.
func makePlan(src *distckpt.Checkpoint, extraObjects []Extra) (*Plan, error) {
	p := &Plan{Backend: src.Config.ShardedBackend}
	p.Notes = append(p.Notes, src.Notes...)
	targets := map[string]string{}
	claim := func(source, target string) error {
		if prev, dup := targets[target]; dup {
			return fmt.Errorf("source keys %s and %s both map to %s", prev, source, target)
		}
		targets[target] = source
		return nil
	}
	fresh := false
	taken := map[string]bool{tensorFile: true}
	if src.Config.ShardedBackend == distckpt.TorchDist {
		taken = map[string]bool{}
		for _, t := range src.Tensors {
			for _, ch := range t.Chunks {
				taken[path.Base(ch.Path)] = true
			}
		}
		for _, o := range src.Objects {
			taken[path.Base(o.Path)] = true
		}
	}
	p.objectFile = freeItemFile(taken)
	switch src.Config.ShardedBackend {
	case distckpt.TorchDist:
		sizes := map[string]int64{}
		for _, t := range src.Tensors {
			for _, ch := range t.Chunks {
				sizes[ch.Path] = 0
			}
		}
		for _, o := range src.Objects {
			if !isCoreAttentionExtraState(o.Key) {
				sizes[o.Path] = 0
			}
		}
		for name := range sizes {
			st, err := fs.Stat(src.FS, name)
			if err != nil {
				return nil, err
			}
			sizes[name] = st.Size()
		}
		for _, t := range src.Tensors {
			target := models.NeMo2Key(t.Key)
			if err := claim(t.Key, target); err != nil {
				return nil, err
			}
			p.Tensors = append(p.Tensors, PlanItem{Source: t.Key, Target: target, DType: string(t.DType), Shape: t.Shape, Chunks: len(t.Chunks), Bytes: t.NumBytes(), Action: CopyFile, File: baseName(t.Chunks)})
		}
		for _, o := range src.Objects {
			target := models.NeMo2Key(o.Key)
			if err := claim(o.Key, target); err != nil {
				return nil, err
			}
			it := PlanItem{Source: o.Key, Target: target, Bytes: o.ItemLength, Action: CopyFile, File: path.Base(o.Path)}
			if isCoreAttentionExtraState(o.Key) {
				it.Action, it.File, it.Fill, it.kind, fresh = FreshState, p.objectFile, ModuleState.String(), ModuleState, true
			}
			p.Objects = append(p.Objects, it)
		}
		for _, name := range slices.Sorted(maps.Keys(sizes)) {
			p.Files = append(p.Files, PlanFile{Name: path.Base(name), Source: name, Bytes: sizes[name]})
			p.Bytes += sizes[name]
		}
	case distckpt.Zarr:
		var tensorBytes int64
		for _, t := range src.Tensors {
			target := models.NeMo2Key(t.Key)
			if err := claim(t.Key, target); err != nil {
				return nil, err
			}
			p.Tensors = append(p.Tensors, PlanItem{Source: t.Key, Target: target, DType: string(t.DType), Shape: t.Shape, Chunks: len(t.Chunks), Bytes: t.NumBytes(), Action: WrapChunk, File: tensorFile})
			tensorBytes += t.NumBytes()
		}
		for _, o := range src.Objects {
			target := models.NeMo2Key(o.Key)
			if err := claim(o.Key, target); err != nil {
				return nil, err
			}
			it := PlanItem{Source: o.Key, Target: target, Bytes: o.ItemLength, Action: Repack, File: p.objectFile}
			if isCoreAttentionExtraState(o.Key) {
				it.Action, it.Fill, it.kind = FreshState, ModuleState.String(), ModuleState
			}
			p.Objects = append(p.Objects, it)
		}
		p.Files = append(p.Files, PlanFile{Name: tensorFile, Bytes: tensorBytes})
		p.Bytes += tensorBytes
		fresh = true
	default:
		return nil, fmt.Errorf("unsupported backend %q", src.Config.ShardedBackend)
	}
	for _, x := range extraObjects {
		if _, ok := targets[x.Key]; ok {
			continue
		}
		targets[x.Key] = ""
		p.Objects = append(p.Objects, PlanItem{Target: x.Key, Action: FreshState, File: p.objectFile, Fill: x.Kind.String(), kind: x.Kind})
		p.Notes = append(p.Notes, fmt.Sprintf("%s: not in the source; writing an empty TransformerEngine state (%s)", x.Key, x.Kind))
		fresh = true
	}
	if fresh || len(src.Objects) > 0 && src.Config.ShardedBackend == distckpt.Zarr {
		p.Files = append(p.Files, PlanFile{Name: p.objectFile})
	}
	slices.SortFunc(p.Objects, func(a, b PlanItem) int {
		switch {
		case a.Target < b.Target:
			return -1
		case a.Target > b.Target:
			return 1
		}
		return 0
	})
	return p, nil
}

func baseName(chunks []*distckpt.Chunk) string {
	seen := map[string]bool{}
	var names []string
	for _, c := range chunks {
		b := path.Base(c.Path)
		if !seen[b] {
			seen[b] = true
			names = append(names, b)
		}
	}
	slices.Sort(names)
	if len(names) == 1 {
		return names[0]
	}
	return fmt.Sprintf("%s (+%d more)", names[0], len(names)-1)
}

// fileSection returns an OS file of the caller's own (to seek and close)
// and the byte range behind a file opened from a checkpoint FS, so it can
// be copied in the kernel; ok is false for filesystems that have none.
func fileSection(f fs.File) (file *os.File, off, n int64, ok bool) {
	switch f := f.(type) {
	case *tarfs.File:
		file, off, n, err := f.Section()
		return file, off, n, err == nil
	case *os.File:
		// Every Open of an os.Root or os.DirFS gives a fresh descriptor.
		st, err := f.Stat()
		if err != nil {
			return nil, 0, 0, false
		}
		return f, 0, st.Size(), true
	}
	return nil, 0, 0, false
}

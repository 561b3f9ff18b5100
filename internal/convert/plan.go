package convert

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/distckpt"
	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/notes"
	"github.com/nemo-migrate/nemo-migrate/internal/tarfs"
	"github.com/nemo-migrate/nemo-migrate/internal/teextra"
)

// Action says how an item reaches the output.
type Action string

// The ways items are moved.
const (
	CopyFile   Action = "copy-file"   // the whole source .distcp file is copied verbatim
	WrapChunk  Action = "wrap-chunk"  // a chunk's elements become a new torch.save item (zarr, or a cast)
	Repack     Action = "repack"      // a zarr object file becomes torch.save([obj])
	ReEncode   Action = "re-encode"   // a TransformerEngine extra state is written in the form every TE loads
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

	key        func(string) string // a source key's target key (models.KeyMap)
	objectFile string              // the file convert writes its own objects into
	rewrite    bool                // tensors are written anew (zarr source, or a cast), not copied in files
	cast       castSpec            // the cast applied to rewritten tensors
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
	Fill   string  `json:"fill,omitempty"` // for fresh-state and re-encode: the state written
	Cast   string  `json:"cast,omitempty"` // the dtype the elements are cast to, if any
}

// Extra is an object the target model loads, which convert writes with an
// empty state when the source lacks it.
type Extra struct {
	Key string
}

// Fill descriptions of extra states in the plan.
const (
	fillEmpty = "uint8 tensor: pickle.dumps(None)"
	fillFP8   = "uint8 tensor: pickled fp8 scaling state"
)

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
	if t.Tokenizer.Origin != "" {
		p.Notes = append(p.Notes, t.Tokenizer.Origin)
	}
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

// A cast converts the tensors stored in one dtype to another.
type castSpec struct{ from, to string }

// of returns the dtype a tensor of dtype d is written in.
func (c castSpec) of(d string) string {
	if c.to != "" && d == c.from {
		return c.to
	}
	return d
}

func (c castSpec) active() bool { return c.to != "" && c.to != c.from }

// makePlan decides how every item of src reaches the output.
func makePlan(src *distckpt.Checkpoint, extraObjects []Extra, cs castSpec) (*Plan, error) {
	p := &Plan{Backend: src.Config.ShardedBackend, cast: cs}
	var renamed []string
	p.key, renamed = models.KeyMap(sourceKeys(src))
	if len(renamed) > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("norms of Megatron-Core's local layer spec written under the names NeMo 2's TransformerEngine layer loads: %s", notes.Names(renamed)))
	}
	backend := src.Config.ShardedBackend
	if backend == distckpt.TorchDist && cs.active() {
		// Cast tensors are written anew, so nothing is copied whole.
		backend = distckpt.Zarr
		p.Notes = append(p.Notes, fmt.Sprintf("casting %s tensors to %s: every item is written anew instead of copying the .distcp files", cs.from, cs.to))
	}
	p.Notes = append(p.Notes, src.Notes...)
	targets := map[string]string{}
	claim := func(source, target string) error {
		if prev, dup := targets[target]; dup {
			return fmt.Errorf("source keys %s and %s both map to %s", prev, source, target)
		}
		targets[target] = source
		return nil
	}
	taken := map[string]bool{tensorFile: true}
	if backend == distckpt.TorchDist {
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
	writes := false             // convert writes objects of its own into p.objectFile
	sizes := map[string]int64{} // torch_dist: the source files copied whole
	switch backend {
	case distckpt.TorchDist:
		for _, t := range src.Tensors {
			target := p.key(t.Key)
			if err := claim(t.Key, target); err != nil {
				return nil, err
			}
			for _, ch := range t.Chunks {
				sizes[ch.Path] = 0
			}
			p.Tensors = append(p.Tensors, PlanItem{Source: t.Key, Target: target, DType: string(t.DType), Shape: t.Shape, Chunks: len(t.Chunks), Bytes: t.NumBytes(), Action: CopyFile, File: baseName(t.Chunks)})
		}
	case distckpt.Zarr:
		var tensorBytes int64
		for _, t := range src.Tensors {
			target := p.key(t.Key)
			if err := claim(t.Key, target); err != nil {
				return nil, err
			}
			it := PlanItem{Source: t.Key, Target: target, DType: string(t.DType), Shape: t.Shape, Chunks: len(t.Chunks), Bytes: t.NumBytes(), Action: WrapChunk, File: tensorFile}
			if to := cs.of(it.DType); to != it.DType {
				it.Cast = to
			}
			p.Tensors = append(p.Tensors, it)
			tensorBytes += t.NumBytes()
		}
		p.Files = append(p.Files, PlanFile{Name: tensorFile, Bytes: tensorBytes})
		p.Bytes += tensorBytes
	default:
		return nil, fmt.Errorf("unsupported backend %q", backend)
	}
	p.rewrite = backend == distckpt.Zarr

	var replaced, reencoded, fp8 int
	forms := map[string]int{}
	for _, o := range src.Objects {
		target := p.key(o.Key)
		if err := claim(o.Key, target); err != nil {
			return nil, err
		}
		it := PlanItem{Source: o.Key, Target: target, Bytes: o.ItemLength, File: p.objectFile}
		switch {
		case isCoreAttentionExtraState(o.Key):
			it.Action, it.Fill = FreshState, fillEmpty
			replaced++
		case isExtraState(o.Key):
			pl, err := readExtraState(o)
			if err != nil {
				return nil, err
			}
			it.Action, it.Fill = ReEncode, fillEmpty
			if pl.FP8 {
				it.Fill = fillFP8
				fp8++
			}
			reencoded++
			forms[pl.Form]++
		case backend == distckpt.TorchDist:
			it.Action, it.File = CopyFile, path.Base(o.Path)
			sizes[o.Path] = 0
		default:
			it.Action = Repack
		}
		writes = writes || it.Action != CopyFile
		p.Objects = append(p.Objects, it)
	}
	if backend == distckpt.TorchDist {
		for name := range sizes {
			st, err := fs.Stat(src.FS, name)
			if err != nil {
				return nil, err
			}
			sizes[name] = st.Size()
		}
		for _, name := range slices.Sorted(maps.Keys(sizes)) {
			p.Files = append(p.Files, PlanFile{Name: path.Base(name), Source: name, Bytes: sizes[name]})
			p.Bytes += sizes[name]
		}
	}
	if replaced > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("%d core_attention extra states replaced by TransformerEngine's empty state, as NeMo's converter does (an older TE's fp8 metadata there may not load)", replaced))
	}
	if reencoded > 0 {
		var from []string
		for _, f := range slices.Sorted(maps.Keys(forms)) {
			from = append(from, fmt.Sprintf("%d %s", forms[f], f))
		}
		n := fmt.Sprintf("%d extra states re-encoded as uint8 tensors, the form every TransformerEngine version loads (stored as %s)", reencoded, strings.Join(from, ", "))
		if fp8 > 0 {
			n += fmt.Sprintf("; %d carry fp8 scaling state, kept: TransformerEngine >= 2.18 loads those only with NVTE_ALLOW_UNSAFE_PICKLE_EXTRA_STATE=1, as it does fp8 checkpoints it wrote itself", fp8)
		}
		p.Notes = append(p.Notes, n)
	}
	var missing []string
	for _, x := range extraObjects {
		if _, ok := targets[x.Key]; ok {
			continue
		}
		targets[x.Key] = ""
		p.Objects = append(p.Objects, PlanItem{Target: x.Key, Action: FreshState, File: p.objectFile, Fill: fillEmpty})
		missing = append(missing, x.Key)
		writes = true
	}
	if len(missing) > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("%d extra states the model loads are not in the source (%s); writing TransformerEngine's empty state", len(missing), notes.Names(missing)))
	}
	if writes {
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

// readExtraState decodes an extra state of the source into the form it is
// written in.
func readExtraState(o *distckpt.Object) (*teextra.Payload, error) {
	v, closer, err := o.Value()
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	pl, err := teextra.Normalize(v)
	if err != nil {
		return nil, fmt.Errorf("object %s in %s: %w", o.Key, o.Path, err)
	}
	return pl, nil
}

// TensorBytes is the size of the tensors' data, which inspect reports; the
// plan's Bytes also counts objects and whatever else the copied files hold.
func (p *Plan) TensorBytes() int64 {
	var n int64
	for _, t := range p.Tensors {
		n += t.Bytes
	}
	return n
}

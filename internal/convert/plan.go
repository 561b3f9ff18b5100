package convert

import (
	"fmt"
	"io/fs"
	"os"
	"slices"

	"nemo-migrate/internal/distckpt"
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
}

// PlanFile is one output .distcp file.
type PlanFile struct {
	Name   string `json:"name"`
	Source string `json:"source,omitempty"` // the source file copied verbatim, if any
	Bytes  int64  `json:"bytes"`            // exact for copies, the tensor bytes otherwise
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
func makePlan(src *distckpt.Checkpoint, extraObjects []string) (*Plan, error) {
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
				taken[path2base(ch.Path)] = true
			}
		}
		for _, o := range src.Objects {
			taken[path2base(o.Path)] = true
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
		for path := range sizes {
			st, err := fs.Stat(src.FS, path)
			if err != nil {
				return nil, err
			}
			sizes[path] = st.Size()
		}
		for _, t := range src.Tensors {
			target := TargetKey(t.Key)
			if err := claim(t.Key, target); err != nil {
				return nil, err
			}
			p.Tensors = append(p.Tensors, PlanItem{Source: t.Key, Target: target, DType: string(t.DType), Shape: t.Shape, Chunks: len(t.Chunks), Bytes: t.NumBytes(), Action: CopyFile, File: baseName(t.Chunks)})
		}
		for _, o := range src.Objects {
			target := TargetKey(o.Key)
			if err := claim(o.Key, target); err != nil {
				return nil, err
			}
			it := PlanItem{Source: o.Key, Target: target, Bytes: o.ItemLength, Action: CopyFile, File: path2base(o.Path)}
			if isCoreAttentionExtraState(o.Key) {
				it.Action, it.File, fresh = FreshState, p.objectFile, true
			}
			p.Objects = append(p.Objects, it)
		}
		var names []string
		for path := range sizes {
			names = append(names, path)
		}
		slices.Sort(names)
		for _, path := range names {
			p.Files = append(p.Files, PlanFile{Name: path2base(path), Source: path, Bytes: sizes[path]})
			p.Bytes += sizes[path]
		}
	case distckpt.Zarr:
		var tensorBytes int64
		for _, t := range src.Tensors {
			target := TargetKey(t.Key)
			if err := claim(t.Key, target); err != nil {
				return nil, err
			}
			p.Tensors = append(p.Tensors, PlanItem{Source: t.Key, Target: target, DType: string(t.DType), Shape: t.Shape, Chunks: len(t.Chunks), Bytes: t.NumBytes(), Action: WrapChunk, File: tensorFile})
			tensorBytes += t.NumBytes()
		}
		for _, o := range src.Objects {
			target := TargetKey(o.Key)
			if err := claim(o.Key, target); err != nil {
				return nil, err
			}
			it := PlanItem{Source: o.Key, Target: target, Bytes: o.ItemLength, Action: Repack, File: p.objectFile}
			if isCoreAttentionExtraState(o.Key) {
				it.Action = FreshState
			}
			p.Objects = append(p.Objects, it)
		}
		p.Files = append(p.Files, PlanFile{Name: tensorFile, Bytes: tensorBytes})
		p.Bytes += tensorBytes
		fresh = true
	default:
		return nil, fmt.Errorf("unsupported backend %q", src.Config.ShardedBackend)
	}
	for _, key := range extraObjects {
		if _, ok := targets[key]; ok {
			continue
		}
		targets[key] = ""
		p.Objects = append(p.Objects, PlanItem{Target: key, Action: FreshState, File: p.objectFile})
		p.Notes = append(p.Notes, fmt.Sprintf("%s: not in the source; writing an empty TransformerEngine state", key))
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
		b := path2base(c.Path)
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

func path2base(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// fileSection returns the OS file and byte range behind a file opened from
// a checkpoint FS, so it can be copied in the kernel; ok is false for
// filesystems that have none.
func fileSection(f fs.File) (file *os.File, off, n int64, ok bool) {
	switch f := f.(type) {
	case *tarfs.File:
		file, off, n = f.Section()
		return file, off, n, file != nil
	case *os.File:
		st, err := f.Stat()
		if err != nil {
			return nil, 0, 0, false
		}
		return f, 0, st.Size(), true
	}
	return nil, 0, 0, false
}

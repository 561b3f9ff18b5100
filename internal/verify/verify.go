// Package verify proves that a NeMo 2.0 checkpoint loads and, given its
// source, that nothing was lost: every tensor bit for bit, every object
// value for value.
//
// Loadability means what NeMo 2.0 and Megatron-Core rely on: metadata.json
// says torch_dist with all four keys; the .metadata index parses and its
// chunks tile every tensor exactly once; every referenced byte range exists,
// parses as a torch.save archive of the recorded dtype and shape, and has
// the CRC its archive records; objects are one-element lists; common.pt
// parses and holds only plain values; context/ (when present) parses and
// the tokenizer files it names exist.
package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/cast"
	"github.com/nemo-migrate/nemo-migrate/internal/distckpt"
	"github.com/nemo-migrate/nemo-migrate/internal/notes"
	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
	"github.com/nemo-migrate/nemo-migrate/internal/teextra"
	"github.com/nemo-migrate/nemo-migrate/internal/torchsave"
)

// Finding is one problem, tied to the key or file it concerns.
type Finding struct {
	Key     string `json:"key"`
	Problem string `json:"problem"`
}

func (f Finding) String() string { return f.Key + ": " + f.Problem }

// Report is the outcome of a verification.
type Report struct {
	Tensors  int       `json:"tensors"`
	Chunks   int       `json:"chunks"`
	Objects  int       `json:"objects"`
	Bytes    int64     `json:"bytes_checked"`
	Compared int       `json:"compared_with_source"`
	Findings []Finding `json:"findings"`
	Notes    []string  `json:"notes,omitempty"`
}

// OK reports whether nothing was found.
func (r *Report) OK() bool { return len(r.Findings) == 0 }

// maxFindings bounds the report; past it verification stops.
const maxFindings = 200

var errTooMany = errors.New("too many problems")

// Add records a problem with key; it returns an error once the report
// holds as many findings as it keeps, and the caller should stop.
func (r *Report) Add(key, format string, args ...any) error { return r.add(key, format, args...) }

func (r *Report) add(key, format string, args ...any) error {
	r.Findings = append(r.Findings, Finding{Key: key, Problem: fmt.Sprintf(format, args...)})
	if len(r.Findings) >= maxFindings {
		return errTooMany
	}
	return nil
}

// Options tune verification.
type Options struct {
	// Progress, if set, is told how many tensor bytes were checked.
	Progress func(done, total int64)
}

// Weights checks the weights/ directory (dir within fsys) of a NeMo 2.0
// checkpoint. It returns an error only when verification itself could not
// run; problems with the checkpoint are findings in the report.
func Weights(ctx context.Context, fsys fs.FS, dir string, opts Options) (*Report, *distckpt.Checkpoint, error) {
	r := &Report{}
	cfgRaw, err := ReadFile(fsys, path.Join(dir, distckpt.MetadataName), MaxSmallFile)
	if err != nil {
		r.add(distckpt.MetadataName, "missing: the checkpoint is incomplete (%v)", err)
		return r, nil, nil
	}
	var cfg map[string]any
	if err := json.Unmarshal(cfgRaw, &cfg); err != nil {
		r.add(distckpt.MetadataName, "not JSON: %v", err)
		return r, nil, nil
	}
	want := map[string]any{"sharded_backend": "torch_dist", "sharded_backend_version": 1.0, "common_backend": "torch", "common_backend_version": 1.0}
	for k, v := range want {
		if cfg[k] != v {
			r.add(distckpt.MetadataName, "%s is %v, NeMo 2.0 loads %v", k, cfg[k], v)
		}
	}
	for k := range cfg {
		if _, ok := want[k]; !ok {
			r.add(distckpt.MetadataName, "unknown key %q: Megatron-Core <= 0.18 refuses to load it", k)
		}
	}
	c, err := distckpt.Open(fsys, dir)
	if err != nil {
		r.add(dir, "does not open: %v", err)
		return r, nil, nil
	}
	if c.DCP == nil {
		r.add(dir, "is a %s checkpoint; NeMo 2.0 loads torch_dist", c.Config.ShardedBackend)
		return r, c, nil
	}
	if err := c.DCP.Validate(); err != nil {
		for _, e := range splitJoined(err) {
			key, problem, _ := strings.Cut(e, ": ")
			if r.add(key, "%s", problem) != nil {
				return r, c, nil
			}
		}
	}
	var total int64
	for _, t := range c.Tensors {
		total += t.NumBytes()
	}
	var done int64
	for _, t := range c.Tensors {
		r.Tensors++
		if !strings.HasPrefix(t.Key, "module.") {
			if r.add(t.Key, "does not start with \"module.\": NeMo 2.0 will not request it") != nil {
				return r, c, nil
			}
		}
		for _, ch := range t.Chunks {
			if err := ctx.Err(); err != nil {
				return r, c, err
			}
			r.Chunks++
			if err := checkItem(ch); err != nil {
				if r.add(t.Key, "chunk at %v: %v", ch.Offsets, err) != nil {
					return r, c, nil
				}
			}
			done += ch.NumBytes()
			r.Bytes += ch.NumBytes()
			if opts.Progress != nil {
				opts.Progress(done, total)
			}
		}
	}
	for _, o := range c.Objects {
		r.Objects++
		_, closer, err := o.Value()
		if err != nil {
			if r.add(o.Key, "%v", err) != nil {
				return r, c, nil
			}
			continue
		}
		closer.Close()
	}
	checkCommon(c, r)
	return r, c, nil
}

// checkItem opens a chunk's item, checks its dtype and shape against the
// index and its data against the CRCs its archive records.
func checkItem(ch *distckpt.Chunk) error {
	a, t, closer, err := ch.OpenItem()
	if err != nil {
		return err
	}
	defer closer.Close()
	if !t.IsContiguous() || t.Offset != 0 {
		return fmt.Errorf("stored tensor is a strided view (offset %d, stride %v)", t.Offset, t.Stride)
	}
	if err := a.Verify(); err != nil {
		return fmt.Errorf("the bytes were changed: %w", err)
	}
	return nil
}

// safeGlobals are the globals torch.load(weights_only=True) accepts in a
// plain-values file.
var safeGlobals = map[string]bool{
	"collections.OrderedDict": true, "torch._utils._rebuild_tensor_v2": true, "torch._utils._rebuild_tensor_v3": true,
	"torch._utils._rebuild_parameter": true, "torch.Size": true, "torch.serialization._get_layout": true,
	"builtins.set": true, "__builtin__.set": true, "builtins.frozenset": true, "__builtin__.frozenset": true,
	"_codecs.encode": true, "torch.device": true,
}

func checkCommon(c *distckpt.Checkpoint, r *Report) {
	if !c.HasCommon() {
		r.Notes = append(r.Notes, "no common.pt (Megatron-Core >= 0.19 keeps it inside the DCP files; older loaders want it)")
		return
	}
	a, closer, err := c.Common()
	if err != nil {
		r.add(distckpt.CommonName, "%v", err)
		return
	}
	defer closer.Close()
	var bad []string
	walkGlobals(a.Object, func(g pickle.Global) {
		name := g.String()
		if !safeGlobals[name] && !strings.HasPrefix(name, "torch.") {
			bad = append(bad, name)
		}
	}, 0)
	slices.Sort(bad)
	bad = slices.Compact(bad)
	if len(bad) > 0 {
		r.add(distckpt.CommonName, "holds %s, which torch.load(weights_only=True) refuses", strings.Join(bad, ", "))
	}
	if d, ok := pickle.AsDict(a.Object); !ok {
		r.add(distckpt.CommonName, "is a %s, want a dict", pickle.TypeName(a.Object))
	} else if _, ok := d.Get("content_metadata"); !ok {
		r.Notes = append(r.Notes, "common.pt has no content_metadata; NeMo 2.0 then assumes defaults")
	}
}

func walkGlobals(v any, fn func(pickle.Global), depth int) {
	if depth > 100 {
		return
	}
	switch v := v.(type) {
	case pickle.Global:
		fn(v)
	case *pickle.Object:
		walkGlobals(v.Callable, fn, depth+1)
		for _, a := range v.Args {
			walkGlobals(a, fn, depth+1)
		}
		walkGlobals(v.State, fn, depth+1)
		for _, it := range v.ListItems {
			walkGlobals(it, fn, depth+1)
		}
		for _, it := range v.DictItems {
			walkGlobals(it.Key, fn, depth+1)
			walkGlobals(it.Value, fn, depth+1)
		}
	case *pickle.Dict:
		for _, it := range v.Items {
			walkGlobals(it.Key, fn, depth+1)
			walkGlobals(it.Value, fn, depth+1)
		}
	case *pickle.List:
		for _, it := range v.Items {
			walkGlobals(it, fn, depth+1)
		}
	case pickle.Tuple:
		for _, it := range v {
			walkGlobals(it, fn, depth+1)
		}
	}
}

func splitJoined(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

// Against compares every tensor and object of src (keys mapped by
// targetKey) with out. Objects for which skip returns true are expected to
// differ (for example core_attention extra states, which convert replaces).
func Against(ctx context.Context, out, src *distckpt.Checkpoint, targetKey func(string) string, skip func(string) bool, r *Report, opts Options) error {
	var total, done int64
	for _, t := range src.Tensors {
		total += t.NumBytes()
	}
	casts := map[string]int{}
	var skipped []string // objects convert replaces, not compared
	for _, st := range src.Tensors {
		key := targetKey(st.Key)
		ot, ok := out.Tensor(key)
		if !ok {
			if r.add(key, "missing from the output (source key %s)", st.Key) != nil {
				return nil
			}
			continue
		}
		// A dtype change is a cast (convert --dtype): the output must then
		// equal the source rounded as torch rounds.
		castOK := ot.DType == st.DType || cast.Supported(st.DType, ot.DType)
		if !castOK || !slices.Equal(ot.Shape, st.Shape) {
			if r.add(key, "output is %s %v, source is %s %v", ot.DType, ot.Shape, st.DType, st.Shape) != nil {
				return nil
			}
			continue
		}
		if ot.DType != st.DType {
			casts[string(st.DType)+" to "+string(ot.DType)]++
		}
		problem, err := compareTensor(ctx, ot, st)
		if err != nil {
			return err
		}
		if problem != "" {
			if r.add(key, "%s", problem) != nil {
				return nil
			}
		}
		r.Compared++
		done += st.NumBytes()
		if opts.Progress != nil {
			opts.Progress(done, total)
		}
	}
	for _, c := range slices.Sorted(maps.Keys(casts)) {
		r.Notes = append(r.Notes, fmt.Sprintf("%d tensors were cast from %s; compared with the source cast the same way", casts[c], c))
	}
	for _, so := range src.Objects {
		key := targetKey(so.Key)
		oo, ok := out.Object(key)
		if !ok {
			if r.add(key, "object missing from the output (source key %s)", so.Key) != nil {
				return nil
			}
			continue
		}
		if skip != nil && skip(so.Key) {
			skipped = append(skipped, key)
			continue
		}
		if problem := compareObject(oo, so); problem != "" {
			if r.add(key, "%s", problem) != nil {
				return nil
			}
		}
		r.Compared++
	}
	if len(skipped) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d objects (%s) were replaced by a fresh TransformerEngine state, as NeMo's converter does; not compared",
			len(skipped), notes.Names(skipped)))
	}
	return nil
}

// compareTensor compares two tensors of equal shape, the source cast to the
// output's dtype. When both
// are stored in the same chunk grid (everything convert writes) they are
// compared chunk by chunk; otherwise (NeMo's converter re-chunks TP > 1
// checkpoints, for one) both are streamed in row-major order. Either way
// nothing larger than a buffer is held.
func compareTensor(ctx context.Context, out, src *distckpt.Tensor) (string, error) {
	if sameGrid(out, src) {
		byOffset := map[string]*distckpt.Chunk{}
		for _, ch := range out.Chunks {
			byOffset[fmt.Sprint(ch.Offsets)] = ch
		}
		for _, sc := range src.Chunks {
			if err := ctx.Err(); err != nil {
				return "", err
			}
			oc := byOffset[fmt.Sprint(sc.Offsets)]
			at, err := compareChunks(ctx, oc, sc, out.DType)
			if err != nil {
				return fmt.Sprintf("chunk at %v: %v", sc.Offsets, err), nil
			}
			if at >= 0 {
				return fmt.Sprintf("chunk at %v differs from the source at byte %d (element %v)", sc.Offsets, at, elementAt(sc.Offsets, sc.Sizes, at/out.DType.ItemSize())), nil
			}
		}
		return "", nil
	}
	ro, err := out.OpenRowMajor()
	if err != nil {
		return err.Error(), nil
	}
	defer ro.Close()
	rsc, err := src.OpenRowMajor()
	if err != nil {
		return "source: " + err.Error(), nil
	}
	defer rsc.Close()
	rs, err := cast.Reader(rsc, src.DType, out.DType)
	if err != nil {
		return "source: " + err.Error(), nil
	}
	at, err := compareStreams(ctx, ro, rs)
	if err != nil {
		return err.Error(), nil
	}
	if at >= 0 {
		zero := make([]int64, len(src.Shape))
		return fmt.Sprintf("differs from the source at element %v (output and source are chunked differently: %d and %d chunks)", elementAt(zero, src.Shape, at/out.DType.ItemSize()), len(out.Chunks), len(src.Chunks)), nil
	}
	return "", nil
}

// sameGrid reports whether two tensors are stored in the same chunks.
func sameGrid(a, b *distckpt.Tensor) bool {
	if len(a.Chunks) != len(b.Chunks) {
		return false
	}
	sizes := map[string]string{}
	for _, ch := range a.Chunks {
		sizes[fmt.Sprint(ch.Offsets)] = fmt.Sprint(ch.Sizes)
	}
	for _, ch := range b.Chunks {
		if s, ok := sizes[fmt.Sprint(ch.Offsets)]; !ok || s != fmt.Sprint(ch.Sizes) {
			return false
		}
	}
	return true
}

// elementAt turns a row-major element number within a region into the
// tensor index it names.
func elementAt(offsets, sizes []int64, n int64) []int64 {
	idx := make([]int64, len(sizes))
	for d := len(sizes) - 1; d >= 0; d-- {
		if sizes[d] > 0 {
			idx[d] = offsets[d] + n%sizes[d]
			n /= sizes[d]
		}
	}
	return idx
}

// compareChunks compares output chunk a with source chunk b cast to dtype
// to (a no-op when b already has it).
func compareChunks(ctx context.Context, a, b *distckpt.Chunk, to torchsave.DType) (int64, error) {
	ra, err := a.Open()
	if err != nil {
		return 0, fmt.Errorf("output: %w", err)
	}
	defer ra.Close()
	rbc, err := b.Open()
	if err != nil {
		return 0, fmt.Errorf("source: %w", err)
	}
	defer rbc.Close()
	rb, err := cast.Reader(rbc, b.Tensor.DType, to)
	if err != nil {
		return 0, fmt.Errorf("source: %w", err)
	}
	return compareStreams(ctx, ra, rb)
}

// compareStreams returns the first differing byte offset, or -1.
func compareStreams(ctx context.Context, ra, rb io.Reader) (int64, error) {
	const block = 1 << 20
	ba, bb := make([]byte, block), make([]byte, block)
	var pos int64
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		na, ea := io.ReadFull(ra, ba)
		nb, eb := io.ReadFull(rb, bb)
		if !bytes.Equal(ba[:na], bb[:nb]) {
			n := min(na, nb)
			for i := 0; i < n; i++ {
				if ba[i] != bb[i] {
					return pos + int64(i), nil
				}
			}
			return pos + int64(n), nil
		}
		pos += int64(na)
		aDone := ea == io.EOF || ea == io.ErrUnexpectedEOF
		bDone := eb == io.EOF || eb == io.ErrUnexpectedEOF
		if ea != nil && !aDone {
			return 0, fmt.Errorf("output: %w", ea)
		}
		if eb != nil && !bDone {
			return 0, fmt.Errorf("source: %w", eb)
		}
		if aDone || bDone {
			if aDone != bDone {
				return pos, nil
			}
			return -1, nil
		}
	}
}

// compareObject compares two objects by value; tensors inside compare by
// dtype, shape and a hash of their bytes. TransformerEngine extra states
// compare by meaning (teextra.Canonical): convert stores them in another
// form than the source, and what must survive is the fp8 state, if any.
func compareObject(out, src *distckpt.Object) string {
	ov, oc, err := out.Value()
	if err != nil {
		return fmt.Sprintf("output: %v", err)
	}
	defer oc.Close()
	sv, sc, err := src.Value()
	if err != nil {
		return fmt.Sprintf("source: %v", err)
	}
	defer sc.Close()
	canon := torchsave.Canonical
	if strings.Contains(src.Key, "_extra_state") {
		canon = teextra.Canonical
	}
	a, err := canon(ov)
	if err != nil {
		return fmt.Sprintf("output: %v", err)
	}
	b, err := canon(sv)
	if err != nil {
		return fmt.Sprintf("source: %v", err)
	}
	if !pickle.Equal(a, b) {
		return "value differs from the source"
	}
	return ""
}

// MaxSmallFile caps the JSON files verify reads whole (metadata.json,
// config.json, an index): real ones are kilobytes to a few MiB.
const MaxSmallFile = 64 << 20

// ReadFile reads a small file of a checkpoint, refusing one larger than
// limit before reading it, so a hostile output cannot make verify read
// gigabytes into memory.
func ReadFile(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d a real one has", name, st.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is more than %d bytes", name, limit)
	}
	return b, nil
}

package dcp

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// MaxMetadataSize caps how much of a .metadata file Parse callers should
// read: a model's index is a few MiB, torch's for 200,000 chunks (a 340B
// model with optimizer state) 28 MB, and a larger file would leave the
// decoder too little of pickle.MaxHeap to decode it.
const MaxMetadataSize = pickle.MaxHeap / 2

// ErrFormat is wrapped by errors for pickles that decode but do not hold a
// DCP Metadata object.
var ErrFormat = errors.New("dcp: not a distributed checkpoint metadata object")

// ReadMetadata reads and parses a .metadata stream of the given size.
func ReadMetadata(r io.Reader, size int64) (*Metadata, error) {
	if size < 0 || size > MaxMetadataSize {
		return nil, fmt.Errorf("dcp: .metadata is %d bytes, more than the %d this reader accepts", size, int64(MaxMetadataSize))
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("dcp: reading .metadata: %w", err)
	}
	return Parse(data)
}

// Parse decodes a .metadata pickle.
func Parse(data []byte) (*Metadata, error) {
	d := pickle.Decoder{Reduce: keepSizeTuple, Build: compactRecord}
	v, err := d.Decode(data)
	var syn *pickle.SyntaxError
	if errors.As(err, &syn) && !errors.Is(err, pickle.ErrTooLarge) {
		return nil, fmt.Errorf("dcp: .metadata is corrupt or truncated: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("dcp: .metadata: %w", err)
	}
	root, ok := v.(*pickle.Object)
	if !ok {
		return nil, fmt.Errorf("%w: top level is %s", ErrFormat, pickle.TypeName(v))
	}
	g, _ := root.Class()
	if g.Name != "Metadata" && g.Name != "MCoreMetadata" {
		return nil, fmt.Errorf("%w: top level is %s", ErrFormat, pickle.TypeName(v))
	}
	m := &Metadata{}
	state := root.StateDict()
	sdm, ok := field(root, state, "state_dict_metadata", 0)
	if !ok {
		return nil, fmt.Errorf("%w: no state_dict_metadata", ErrFormat)
	}
	sd, ok := pickle.AsDict(sdm)
	if !ok {
		return nil, fmt.Errorf("%w: state_dict_metadata is %s", ErrFormat, pickle.TypeName(sdm))
	}
	m.Entries = make([]Entry, 0, len(sd.Items))
	for _, it := range sd.Items {
		fqn, ok := it.Key.(string)
		if !ok {
			return nil, fmt.Errorf("%w: state_dict_metadata key is %s", ErrFormat, pickle.TypeName(it.Key))
		}
		e, err := parseEntry(fqn, it.Value)
		if err != nil {
			return nil, err
		}
		m.Entries = append(m.Entries, e)
	}
	if i, dup := m.firstDuplicate(); i >= 0 {
		return nil, fmt.Errorf("%w: %q listed twice", ErrFormat, dup)
	}
	sdv, ok := field(root, state, "storage_data", 2)
	if !ok {
		return nil, fmt.Errorf("%w: no storage_data", ErrFormat)
	}
	stor, ok := pickle.AsDict(sdv)
	if !ok {
		return nil, fmt.Errorf("%w: storage_data is %s", ErrFormat, pickle.TypeName(sdv))
	}
	m.Storage = make([]StorageEntry, 0, len(stor.Items))
	for _, it := range stor.Items {
		idx, err := parseIndex(it.Key)
		if err != nil {
			return nil, err
		}
		info, err := parseStorageInfo(it.Value)
		if err != nil {
			return nil, fmt.Errorf("dcp: storage_data[%s]: %w", idx.FQN, err)
		}
		m.Storage = append(m.Storage, StorageEntry{Index: idx, Info: info})
	}
	if state != nil {
		for _, it := range state.Items {
			k, _ := it.Key.(string)
			switch k {
			case "state_dict_metadata", "storage_data":
			case "version":
				if s, ok := it.Value.(string); ok {
					m.Version = s
				}
			case "mcore_data":
				if d, ok := pickle.AsDict(it.Value); ok {
					m.MCoreData = d
				}
			default:
				m.Extra = append(m.Extra, it)
			}
		}
	}
	return m, nil
}

func (m *Metadata) firstDuplicate() (int, string) {
	seen := make(map[string]bool, len(m.Entries))
	for i, e := range m.Entries {
		if seen[e.FQN] {
			return i, e.FQN
		}
		seen[e.FQN] = true
	}
	return -1, ""
}

// field returns a dataclass field from the BUILD state, or from the
// constructor arguments when the object was built by a call.
func field(o *pickle.Object, state *pickle.Dict, name string, pos int) (any, bool) {
	if state != nil {
		if v, ok := state.Get(name); ok {
			return v, true
		}
	}
	if !o.NewObj && pos < len(o.Args) {
		return o.Args[pos], true
	}
	return nil, false
}

func parseEntry(fqn string, v any) (Entry, error) {
	o, ok := v.(*pickle.Object)
	if !ok {
		return Entry{}, fmt.Errorf("dcp: state_dict_metadata[%q] is %s", fqn, pickle.TypeName(v))
	}
	g, _ := o.Class()
	switch g.Name {
	case "BytesStorageMetadata":
		return Entry{FQN: fqn}, nil
	case "TensorStorageMetadata":
	default:
		return Entry{}, fmt.Errorf("dcp: state_dict_metadata[%q] is %s, want TensorStorageMetadata or BytesStorageMetadata", fqn, pickle.TypeName(v))
	}
	state := o.StateDict()
	t := &TensorMeta{}
	pv, ok := field(o, state, "properties", 0)
	if !ok {
		return Entry{}, fmt.Errorf("dcp: %s: tensor metadata without properties", fqn)
	}
	props, err := parseProperties(pv)
	if err != nil {
		return Entry{}, fmt.Errorf("dcp: %s: properties: %w", fqn, err)
	}
	t.Properties = props
	sv, ok := field(o, state, "size", 1)
	if !ok {
		return Entry{}, fmt.Errorf("dcp: %s: tensor metadata without size", fqn)
	}
	if t.Size, err = sizeOf(sv); err != nil {
		return Entry{}, fmt.Errorf("dcp: %s: size: %w", fqn, err)
	}
	cv, ok := field(o, state, "chunks", 2)
	if !ok {
		return Entry{}, fmt.Errorf("dcp: %s: tensor metadata without chunks", fqn)
	}
	chunks, ok := pickle.AsList(cv)
	if !ok {
		return Entry{}, fmt.Errorf("dcp: %s: chunks is %s", fqn, pickle.TypeName(cv))
	}
	t.Chunks = make([]Chunk, 0, len(chunks))
	for i, c := range chunks {
		ch, err := parseChunk(c)
		if err != nil {
			return Entry{}, fmt.Errorf("dcp: %s: chunk %d: %w", fqn, i, err)
		}
		if len(ch.Offsets) != len(t.Size) || len(ch.Sizes) != len(t.Size) {
			return Entry{}, fmt.Errorf("dcp: %s: chunk %d has rank %d/%d, tensor has rank %d", fqn, i, len(ch.Offsets), len(ch.Sizes), len(t.Size))
		}
		t.Chunks = append(t.Chunks, ch)
	}
	return Entry{FQN: fqn, Tensor: t}, nil
}

// parseChunk reads a ChunkStorageMetadata.
func parseChunk(v any) (Chunk, error) {
	if ch, ok := v.(Chunk); ok {
		return ch, nil
	}
	o, ok := v.(*pickle.Object)
	if !ok {
		return Chunk{}, fmt.Errorf("is %s, want ChunkStorageMetadata", pickle.TypeName(v))
	}
	st := o.StateDict()
	ov, ok1 := field(o, st, "offsets", 0)
	zv, ok2 := field(o, st, "sizes", 1)
	if !ok1 || !ok2 {
		return Chunk{}, fmt.Errorf("lacks offsets or sizes")
	}
	var ch Chunk
	var err error
	if ch.Offsets, err = sizeOf(ov); err != nil {
		return Chunk{}, fmt.Errorf("offsets: %w", err)
	}
	if ch.Sizes, err = sizeOf(zv); err != nil {
		return Chunk{}, fmt.Errorf("sizes: %w", err)
	}
	return ch, nil
}

// compactRecord is the decoder's Build hook: the three records a large
// index holds one of per chunk become their parsed form as soon as they
// are read, so the generic pickle tree of a 200,000-chunk index never
// exists whole. A record that does not parse is left as it is, for the
// walk over the whole to report with its context.
func compactRecord(o *pickle.Object) (any, bool) {
	g, ok := o.Class()
	if !ok {
		return nil, false
	}
	var v any
	var err error
	switch g.Name {
	case "ChunkStorageMetadata":
		v, err = parseChunk(o)
	case "MetadataIndex":
		v, err = parseIndex(o)
	case "_StorageInfo":
		v, err = parseStorageInfo(o)
	default:
		return nil, false
	}
	return v, err == nil
}

// sizeOf reads a torch.Size (REDUCE torch.Size((d0, d1, ...))) or a plain
// tuple of ints.
// keepSizeTuple decodes torch.Size((d0, d1, ...)) as its tuple: a large
// index holds three sizes per chunk, and an Object each would double the
// memory the decoded index takes.
func keepSizeTuple(g pickle.Global, args pickle.Tuple) (any, bool) {
	if g.Module == "torch" && g.Name == "Size" && len(args) == 1 {
		if t, ok := args[0].(pickle.Tuple); ok {
			return t, true
		}
	}
	return nil, false
}

func sizeOf(v any) ([]int64, error) {
	if o, ok := v.(*pickle.Object); ok {
		if !o.Is("torch", "Size") || len(o.Args) != 1 {
			return nil, fmt.Errorf("want torch.Size, got %s", pickle.TypeName(v))
		}
		v = o.Args[0]
	}
	dims, err := pickle.AsInts(v)
	if err != nil {
		return nil, err
	}
	for _, d := range dims {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension %d", d)
		}
	}
	return dims, nil
}

func parseProperties(v any) (TensorProperties, error) {
	p := TensorProperties{Layout: "torch.strided"}
	o, ok := v.(*pickle.Object)
	if !ok || !classIs(o, "TensorProperties") {
		return p, fmt.Errorf("want TensorProperties, got %s", pickle.TypeName(v))
	}
	var dtype, layout, reqGrad, memFmt, pin any
	switch s := o.State.(type) {
	case pickle.Tuple:
		// __getstate__: (dtype, layout, requires_grad, memory_format enum, pin_memory)
		if len(s) != 5 {
			return p, fmt.Errorf("state tuple has %d fields, want 5", len(s))
		}
		dtype, layout, reqGrad, memFmt, pin = s[0], s[1], s[2], s[3], s[4]
	default:
		st := o.StateDict()
		var ok bool
		if dtype, ok = field(o, st, "dtype", 0); !ok {
			return p, fmt.Errorf("no dtype")
		}
		layout, _ = field(o, st, "layout", 1)
		reqGrad, _ = field(o, st, "requires_grad", 2)
		memFmt, _ = field(o, st, "memory_format", 3)
		pin, _ = field(o, st, "pin_memory", 4)
	}
	dt, err := DTypeName(dtype)
	if err != nil {
		return p, err
	}
	p.DType = dt
	if layout != nil {
		if p.Layout, err = layoutName(layout); err != nil {
			return p, err
		}
	}
	if b, ok := reqGrad.(bool); ok {
		p.RequiresGrad = b
	}
	if b, ok := pin.(bool); ok {
		p.PinMemory = b
	}
	if memFmt != nil {
		if p.MemoryFormat, err = memoryFormat(memFmt); err != nil {
			return p, err
		}
	}
	return p, nil
}

// classIs reports whether o's class is name, or a subclass Megatron names
// with a prefix (MCoreMetadataIndex), in any module: torch moved them.
func classIs(o *pickle.Object, name string) bool {
	g, ok := o.Class()
	return ok && strings.HasSuffix(g.Name, name)
}

// DTypeName returns the name of a pickled torch dtype (the global
// torch.bfloat16 gives "bfloat16").
func DTypeName(v any) (string, error) {
	g, ok := v.(pickle.Global)
	if !ok || g.Module != "torch" || g.Name == "" {
		return "", fmt.Errorf("dtype is %s, want a torch dtype", pickle.TypeName(v))
	}
	return g.Name, nil
}

func layoutName(v any) (string, error) {
	switch l := v.(type) {
	case pickle.Global:
		return l.String(), nil
	case *pickle.Object:
		if len(l.Args) == 1 {
			if s, ok := l.Args[0].(string); ok {
				return s, nil
			}
		}
	}
	return "", fmt.Errorf("layout is %s", pickle.TypeName(v))
}

// memoryFormat accepts the enum by value (EnumClass(0)), by name
// (getattr(EnumClass, "TORCH_CONTIGUOUS_FORMAT")) and torch's own
// memory_format globals.
func memoryFormat(v any) (MemoryFormat, error) {
	switch f := v.(type) {
	case pickle.Global:
		switch f.Name {
		case "contiguous_format":
			return ContiguousFormat, nil
		case "channels_last":
			return ChannelsLastFormat, nil
		case "preserve_format":
			return PreserveFormat, nil
		}
	case *pickle.Object:
		if g, ok := f.Class(); ok && g.Name == "getattr" && len(f.Args) == 2 {
			if name, ok := f.Args[1].(string); ok {
				for i, n := range memFormatNames {
					if n == name {
						return MemoryFormat(i), nil
					}
				}
			}
		} else if len(f.Args) == 1 {
			if n, ok := pickle.AsInt(f.Args[0]); ok && n >= 0 && int(n) < len(memFormatNames) {
				return MemoryFormat(n), nil
			}
		}
	}
	return 0, fmt.Errorf("memory format is %s", pickle.TypeName(v))
}

func parseIndex(v any) (Index, error) {
	if idx, ok := v.(Index); ok {
		return idx, nil
	}
	o, ok := v.(*pickle.Object)
	if !ok || !classIs(o, "MetadataIndex") {
		return Index{}, fmt.Errorf("%w: storage_data key is %s, want MetadataIndex", ErrFormat, pickle.TypeName(v))
	}
	st := o.StateDict()
	fv, _ := field(o, st, "fqn", 0)
	fqn, ok := fv.(string)
	if !ok {
		return Index{}, fmt.Errorf("%w: MetadataIndex.fqn is %s", ErrFormat, pickle.TypeName(fv))
	}
	idx := Index{FQN: fqn, Pos: -1}
	if ov, ok := field(o, st, "offset", 1); ok && ov != nil {
		off, err := sizeOf(ov)
		if err != nil {
			return Index{}, fmt.Errorf("dcp: MetadataIndex %s offset: %w", fqn, err)
		}
		idx.Offset, idx.HasOffset = off, true
	}
	if iv, ok := field(o, st, "index", 2); ok && iv != nil {
		n, ok := pickle.AsInt(iv)
		if !ok {
			return Index{}, fmt.Errorf("dcp: MetadataIndex %s index is %s", fqn, pickle.TypeName(iv))
		}
		idx.Pos = n
	}
	return idx, nil
}

func parseStorageInfo(v any) (StorageInfo, error) {
	if info, ok := v.(StorageInfo); ok {
		return info, nil
	}
	o, ok := v.(*pickle.Object)
	if !ok || !classIs(o, "_StorageInfo") {
		return StorageInfo{}, fmt.Errorf("want _StorageInfo, got %s", pickle.TypeName(v))
	}
	st := o.StateDict()
	pv, _ := field(o, st, "relative_path", 0)
	ov, _ := field(o, st, "offset", 1)
	lv, _ := field(o, st, "length", 2)
	path, ok1 := pv.(string)
	off, ok2 := pickle.AsInt(ov)
	n, ok3 := pickle.AsInt(lv)
	if !ok1 || !ok2 || !ok3 {
		return StorageInfo{}, fmt.Errorf("_StorageInfo fields are %s, %s, %s; want str, int, int", pickle.TypeName(pv), pickle.TypeName(ov), pickle.TypeName(lv))
	}
	if off < 0 || n < 0 {
		return StorageInfo{}, fmt.Errorf("negative offset %d or length %d", off, n)
	}
	if td, ok := field(o, st, "transform_descriptors", 3); ok && td != nil {
		if l, ok := pickle.AsList(td); !ok || len(l) > 0 {
			return StorageInfo{}, fmt.Errorf("item of %s is stored with transforms (%s); compressed or encrypted DCP items are not supported", path, pickle.TypeName(td))
		}
	}
	return StorageInfo{RelativePath: path, Offset: off, Length: n}, nil
}

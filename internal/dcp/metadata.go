// Package dcp reads and writes the .metadata index of a PyTorch
// Distributed Checkpoint (torch.distributed.checkpoint, "DCP"), the format
// behind Megatron-Core's torch_dist backend.
//
// A DCP directory holds a pickled Metadata object in .metadata and the data
// in .distcp files. The metadata says, for every fully-qualified name (fqn),
// whether it is a tensor (with dtype, global size and the chunks it was
// saved in) or a bytes object, and where each chunk or object lives: a
// relative path, a byte offset and a length. Each such item is a complete
// torch.save archive.
//
// Parse accepts what torch 1.13 (torch.distributed._shard.checkpoint),
// torch 2.0-2.2 and torch >= 2.3 write, with Megatron-Core's MCoreMetadata and
// extra attributes. Marshal writes the torch >= 2.3 form.
package dcp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// Metadata mirrors torch.distributed.checkpoint.metadata.Metadata.
type Metadata struct {
	// Entries lists every saved fqn in file order.
	Entries []Entry

	// Storage lists where each chunk and object is stored.
	Storage []StorageEntry

	// Version is Metadata.version ("1.0.0" in torch >= 2.5), empty if absent.
	Version string

	// MCoreData is Megatron-Core's mcore_data attribute (per-key info for
	// reformulated optimizer states), nil if absent.
	MCoreData *pickle.Dict

	// Extra holds other attributes of the pickled object (planner_data,
	// storage_meta, all_local_plans, ...) as decoded, for inspection.
	// Marshal does not write them.
	Extra []pickle.Item

	index   map[string]int // storage lookup key -> index into Storage
	entries map[string]int // fqn -> index into Entries
}

// Entry is one fqn of the state dict.
type Entry struct {
	FQN    string
	Tensor *TensorMeta // nil for a bytes object (BytesStorageMetadata)
}

// TensorMeta mirrors TensorStorageMetadata.
type TensorMeta struct {
	Properties TensorProperties
	Size       []int64 // the global shape
	Chunks     []Chunk
}

// TensorProperties mirrors TensorProperties. Layout, RequiresGrad,
// MemoryFormat and PinMemory are deprecated in torch and always strided,
// false, contiguous and false in checkpoints.
type TensorProperties struct {
	DType        string // as torch spells it: "bfloat16", "float32", ...
	Layout       string // "torch.strided"
	RequiresGrad bool
	MemoryFormat MemoryFormat
	PinMemory    bool
}

// MemoryFormat mirrors _MEM_FORMAT_ENCODING.
type MemoryFormat int

// The memory formats torch encodes.
const (
	ContiguousFormat   MemoryFormat = 0
	ChannelsLastFormat MemoryFormat = 1
	PreserveFormat     MemoryFormat = 2
)

var memFormatNames = []string{"TORCH_CONTIGUOUS_FORMAT", "TORCH_CHANNELS_LAST", "TORCH_PRESERVE_FORMAT"}

// Chunk mirrors ChunkStorageMetadata: the region of the global tensor one
// stored item holds.
type Chunk struct {
	Offsets []int64
	Sizes   []int64
}

// Index mirrors MetadataIndex. Torch looks entries up by FQN and Offset
// only; Pos (the "index" field) is a hint.
type Index struct {
	FQN       string
	Offset    []int64 // nil for bytes objects
	HasOffset bool
	Pos       int64 // -1 when None
}

// StorageInfo mirrors filesystem._StorageInfo: where an item's bytes are.
type StorageInfo struct {
	RelativePath string
	Offset       int64
	Length       int64
}

// StorageEntry pairs an index with its storage location.
type StorageEntry struct {
	Index Index
	Info  StorageInfo
}

// NumElements returns the product of dims, or -1 if it overflows int64.
func NumElements(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return -1
		}
		if d != 0 && n > (1<<62)/d {
			return -1
		}
		n *= d
	}
	return n
}

func lookupKey(fqn string, offset []int64, hasOffset bool) string {
	var b strings.Builder
	b.WriteString(fqn)
	b.WriteByte(0)
	if !hasOffset {
		b.WriteString("none")
		return b.String()
	}
	for i, o := range offset {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(o, 10))
	}
	return b.String()
}

func (m *Metadata) buildIndex() {
	m.index = make(map[string]int, len(m.Storage))
	for i, s := range m.Storage {
		m.index[lookupKey(s.Index.FQN, s.Index.Offset, s.Index.HasOffset)] = i
	}
}

// Lookup returns where the chunk of fqn at offsets is stored, as torch's
// reader finds it: by fqn and chunk offsets.
func (m *Metadata) Lookup(fqn string, offsets []int64) (StorageInfo, bool) {
	return m.lookup(lookupKey(fqn, offsets, true))
}

// LookupBytes returns where the bytes object fqn is stored.
func (m *Metadata) LookupBytes(fqn string) (StorageInfo, bool) {
	return m.lookup(lookupKey(fqn, nil, false))
}

func (m *Metadata) lookup(key string) (StorageInfo, bool) {
	if len(m.index) != len(m.Storage) {
		m.buildIndex()
	}
	i, ok := m.index[key]
	if !ok {
		return StorageInfo{}, false
	}
	return m.Storage[i].Info, true
}

func (m *Metadata) entryPos(fqn string) (int, bool) {
	if len(m.entries) != len(m.Entries) {
		m.entries = make(map[string]int, len(m.Entries))
		for i, e := range m.Entries {
			m.entries[e.FQN] = i
		}
	}
	i, ok := m.entries[fqn]
	return i, ok
}

// Entry returns the entry for fqn.
func (m *Metadata) Entry(fqn string) (Entry, bool) {
	i, ok := m.entryPos(fqn)
	if !ok {
		return Entry{}, false
	}
	return m.Entries[i], true
}

// AddTensorChunk records a stored tensor chunk, creating the tensor entry
// on first use. All chunks of one fqn must agree on properties and size.
func (m *Metadata) AddTensorChunk(fqn string, props TensorProperties, size []int64, c Chunk, info StorageInfo) error {
	if props.Layout == "" {
		props.Layout = "torch.strided"
	}
	var t *TensorMeta
	if i, ok := m.entryPos(fqn); ok {
		t = m.Entries[i].Tensor
		if t == nil {
			return fmt.Errorf("dcp: %s is already a bytes object", fqn)
		}
	}
	if t == nil {
		t = &TensorMeta{Properties: props, Size: append([]int64{}, size...)}
		m.Entries = append(m.Entries, Entry{FQN: fqn, Tensor: t})
	} else if t.Properties != props || !slices.Equal(t.Size, size) {
		return fmt.Errorf("dcp: chunk of %s has dtype %s size %v, tensor has %s %v", fqn, props.DType, size, t.Properties.DType, t.Size)
	}
	pos := int64(len(t.Chunks))
	t.Chunks = append(t.Chunks, Chunk{Offsets: append([]int64{}, c.Offsets...), Sizes: append([]int64{}, c.Sizes...)})
	m.Storage = append(m.Storage, StorageEntry{
		Index: Index{FQN: fqn, Offset: append([]int64{}, c.Offsets...), HasOffset: true, Pos: pos},
		Info:  info,
	})
	return nil
}

// AddBytes records a stored bytes object.
func (m *Metadata) AddBytes(fqn string, info StorageInfo) error {
	if _, ok := m.entryPos(fqn); ok {
		return fmt.Errorf("dcp: %s recorded twice", fqn)
	}
	m.Entries = append(m.Entries, Entry{FQN: fqn})
	m.Storage = append(m.Storage, StorageEntry{Index: Index{FQN: fqn, Pos: -1}, Info: info})
	return nil
}

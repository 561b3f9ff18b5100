// Package safetensors reads and lays out Hugging Face safetensors files
// (https://huggingface.co/docs/safetensors, the format's spec): an 8-byte
// little-endian header length, a JSON header naming every tensor's dtype,
// shape and byte range, then the tensors' bytes back to back.
//
// Writing is split in two so that tensors can be streamed into place in any
// order: Layout fixes every tensor's offset up front, and the caller writes
// the header and then each tensor's bytes at its offset.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// MaxHeader bounds the JSON header, as the reference implementation does
// (100 MB); it is checked before anything is allocated.
const MaxHeader = 100 << 20

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("safetensors: malformed file")

// Element sizes of the dtypes the format names.
var itemSizes = map[string]int64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// ItemSize returns the size of one element of dtype, or 0 for an unknown
// dtype.
func ItemSize(dtype string) int64 { return itemSizes[dtype] }

// DTypeOf returns the safetensors name of a torch dtype ("bfloat16" ->
// "BF16"), or "" if the format has none.
func DTypeOf(torch string) string {
	switch torch {
	case "bfloat16":
		return "BF16"
	case "float16":
		return "F16"
	case "float32":
		return "F32"
	case "float64":
		return "F64"
	case "int64":
		return "I64"
	case "int32":
		return "I32"
	case "int16":
		return "I16"
	case "int8":
		return "I8"
	case "uint8":
		return "U8"
	case "bool":
		return "BOOL"
	}
	return ""
}

// Tensor is one tensor of a file: Begin and End are byte offsets into the
// data section (after the header).
type Tensor struct {
	Name       string
	DType      string
	Shape      []int64
	Begin, End int64
}

// Size returns the tensor's byte length.
func (t *Tensor) Size() int64 { return t.End - t.Begin }

// File is a laid-out or parsed safetensors file.
type File struct {
	Tensors  []*Tensor // in data order
	Metadata map[string]string

	// HeaderSize is the byte length of the header, including its 8-byte
	// length prefix: tensor data starts there.
	HeaderSize int64
	header     []byte
}

// Size returns the length of the whole file.
func (f *File) Size() int64 {
	if len(f.Tensors) == 0 {
		return f.HeaderSize
	}
	return f.HeaderSize + f.Tensors[len(f.Tensors)-1].End
}

// Tensor returns the tensor named name.
func (f *File) Tensor(name string) (*Tensor, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return nil, false
}

// Header returns the file's header bytes: the length prefix and the JSON,
// padded with spaces so that the data starts 8-byte aligned, as the
// reference writer pads it.
func (f *File) Header() []byte { return f.header }

// Spec describes a tensor to lay out.
type Spec struct {
	Name  string
	DType string // safetensors dtype name, e.g. "BF16"
	Shape []int64
}

// Layout places tensors back to back in the given order and builds the
// header, with metadata as its __metadata__ entry (nil for none).
func Layout(specs []Spec, metadata map[string]string) (*File, error) {
	f := &File{Metadata: metadata}
	seen := map[string]bool{}
	var at int64
	for _, s := range specs {
		if s.Name == "" || s.Name == "__metadata__" {
			return nil, fmt.Errorf("safetensors: invalid tensor name %q", s.Name)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("safetensors: tensor %s laid out twice", s.Name)
		}
		seen[s.Name] = true
		n, err := byteSize(s.DType, s.Shape)
		if err != nil {
			return nil, fmt.Errorf("safetensors: tensor %s: %w", s.Name, err)
		}
		f.Tensors = append(f.Tensors, &Tensor{Name: s.Name, DType: s.DType, Shape: slices.Clone(s.Shape), Begin: at, End: at + n})
		at += n
	}
	f.header = f.encodeHeader()
	f.HeaderSize = int64(len(f.header))
	return f, nil
}

func byteSize(dtype string, shape []int64) (int64, error) {
	item := ItemSize(dtype)
	if item == 0 {
		return 0, fmt.Errorf("unknown dtype %q", dtype)
	}
	n := item
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("shape %v overflows", shape)
		}
		n *= d
	}
	return n, nil
}

// encodeHeader writes the JSON by hand, tensors in data order (a Go map
// would sort them by name; readers do not care, people reading the header
// do).
func (f *File) encodeHeader() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	if f.Metadata != nil {
		b.WriteString(`"__metadata__":{`)
		for i, k := range slices.Sorted(maps.Keys(f.Metadata)) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, k)
			b.WriteByte(':')
			writeJSONString(&b, f.Metadata[k])
		}
		b.WriteByte('}')
	}
	for i, t := range f.Tensors {
		if i > 0 || f.Metadata != nil {
			b.WriteByte(',')
		}
		writeJSONString(&b, t.Name)
		b.WriteString(`:{"dtype":`)
		writeJSONString(&b, t.DType)
		b.WriteString(`,"shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatInt(d, 10))
		}
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, t.Begin, t.End)
	}
	b.WriteByte('}')
	for (8+b.Len())%8 != 0 {
		b.WriteByte(' ')
	}
	out := make([]byte, 8, 8+b.Len())
	binary.LittleEndian.PutUint64(out, uint64(b.Len()))
	return append(out, b.Bytes()...)
}

func writeJSONString(b *bytes.Buffer, s string) {
	j, _ := json.Marshal(s) // a string always marshals
	b.Write(j)
}

// Read parses the header of the safetensors file r of the given size and
// checks it: known dtypes, byte ranges that match the shapes, tile the data
// section exactly (no gaps, no overlaps) and end at the end of the file.
func Read(r io.ReaderAt, size int64) (*File, error) {
	var pre [8]byte
	if _, err := r.ReadAt(pre[:], 0); err != nil {
		return nil, fmt.Errorf("%w: reading the header length: %v", ErrFormat, err)
	}
	n := binary.LittleEndian.Uint64(pre[:])
	if n > MaxHeader || int64(n) > size-8 {
		return nil, fmt.Errorf("%w: header of %d bytes in a file of %d (limit %d)", ErrFormat, n, size, MaxHeader)
	}
	hdr := make([]byte, n)
	if _, err := r.ReadAt(hdr, 8); err != nil {
		return nil, fmt.Errorf("%w: reading the header: %v", ErrFormat, err)
	}
	f, err := parseHeader(hdr)
	if err != nil {
		return nil, err
	}
	f.HeaderSize = 8 + int64(n)
	f.header = append(pre[:], hdr...)
	if f.Size() != size {
		return nil, fmt.Errorf("%w: tensors end at byte %d of a %d-byte file", ErrFormat, f.Size(), size)
	}
	return f, nil
}

type rawTensor struct {
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

func parseHeader(hdr []byte) (*File, error) {
	if !json.Valid(hdr) {
		return nil, fmt.Errorf("%w: the header is not JSON", ErrFormat)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("%w: the header is not a JSON object: %v", ErrFormat, err)
	}
	f := &File{}
	for name, v := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(v, &f.Metadata); err != nil {
				return nil, fmt.Errorf("%w: __metadata__ is not an object of strings: %v", ErrFormat, err)
			}
			continue
		}
		var t rawTensor
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %v", ErrFormat, name, err)
		}
		if len(t.DataOffsets) != 2 {
			return nil, fmt.Errorf("%w: tensor %q: data_offsets must hold two numbers", ErrFormat, name)
		}
		n, err := byteSize(t.DType, t.Shape)
		if err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %v", ErrFormat, name, err)
		}
		b, e := t.DataOffsets[0], t.DataOffsets[1]
		if b < 0 || e < b || e-b != n {
			return nil, fmt.Errorf("%w: tensor %q: data_offsets [%d, %d] do not hold %d bytes of %s %v", ErrFormat, name, b, e, n, t.DType, t.Shape)
		}
		f.Tensors = append(f.Tensors, &Tensor{Name: name, DType: t.DType, Shape: t.Shape, Begin: b, End: e})
	}
	slices.SortFunc(f.Tensors, func(a, b *Tensor) int {
		if a.Begin != b.Begin {
			return int(min(max(a.Begin-b.Begin, -1), 1))
		}
		return strings.Compare(a.Name, b.Name)
	})
	var at int64
	for _, t := range f.Tensors {
		if t.Begin != at {
			return nil, fmt.Errorf("%w: tensor %q starts at %d, not at %d where the previous one ends", ErrFormat, t.Name, t.Begin, at)
		}
		at = t.End
	}
	return f, nil
}

// Index is model.safetensors.index.json: which file holds each tensor of a
// checkpoint split into shards.
type Index struct {
	Metadata  IndexMetadata     `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

// IndexMetadata is the index's metadata; TotalSize is the tensors' bytes.
type IndexMetadata struct {
	TotalSize int64 `json:"total_size"`
}

// IndexName is the index file's name.
const IndexName = "model.safetensors.index.json"

// SingleName is the file name of a checkpoint in one file.
const SingleName = "model.safetensors"

// ShardName returns the name of shard i (0-based) of n, as Hugging Face
// names them: model-00001-of-00003.safetensors.
func ShardName(i, n int) string {
	return fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, n)
}

// Split groups tensors of the given byte sizes, in order, into shards of at
// most maxBytes each (a larger tensor gets a shard of its own), as
// Hugging Face's save_pretrained splits by max_shard_size. It returns the
// index of the first tensor of each shard.
func Split(sizes []int64, maxBytes int64) []int {
	var starts []int
	var cur int64
	for i, n := range sizes {
		if i == 0 || (cur > 0 && cur+n > maxBytes) {
			starts = append(starts, i)
			cur = 0
		}
		cur += n
	}
	return starts
}

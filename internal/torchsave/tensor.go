package torchsave

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"

	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// TensorSpec describes a tensor's layout: its element type and how its
// elements sit in its storage. Counts (offset, shape, stride, storage size)
// are in elements, as torch pickles them.
type TensorSpec struct {
	DType        DType
	Shape        []int64
	Stride       []int64 // nil means contiguous (row-major)
	Offset       int64   // storage offset of the first element
	StorageNumel int64   // elements in the storage; 0 means just enough for the view
	RequiresGrad bool
}

// Storage is one storage record of an archive: the bytes of
// <archive>/data/<key>, which are never read until asked for.
type Storage struct {
	Key      string // record key, "0", "1", ...
	Class    string // storage class named by the persistent id, e.g. "BFloat16Storage" or "UntypedStorage"
	DType    DType  // element type of the class (uint8 for UntypedStorage)
	Numel    int64  // elements as the persistent id gives them (bytes for UntypedStorage)
	Location string // device the storage was saved from, e.g. "cpu" or "cuda:0"
	Offset   int64  // byte offset of the record's data in the archive
	Size     int64  // bytes in the record
	CRC32    uint32 // as the central directory gives it; 0 when the writer computed none

	r         io.ReaderAt
	bigEndian bool
}

// Reader returns the storage's raw bytes, in the archive's byte order.
func (s *Storage) Reader() *io.SectionReader {
	return io.NewSectionReader(s.r, s.Offset, s.Size)
}

// Tensor is a tensor read from an archive by Open. Its bytes stay in the
// archive until read with Reader, WriteTo or DataRange.
type Tensor struct {
	TensorSpec
	Storage   *Storage
	Parameter bool // a torch.nn.Parameter

	// Metadata is the optional last argument of _rebuild_tensor_v2/v3
	// (tensor flags such as conj), or nil.
	Metadata any
	// Class and State are set for a tensor saved with Python attributes or
	// as a Tensor subclass (torch._tensor._rebuild_from_type_v2), and State
	// for a Parameter saved with attributes (_rebuild_parameter_with_state).
	Class pickle.Global
	State any
}

// ErrBigEndian is returned by DataRange for an archive written on a
// big-endian machine, whose raw bytes are not what a little-endian reader
// expects. Reader and WriteTo swap bytes instead.
var ErrBigEndian = errors.New("tensor data is big-endian")

// strides returns the strides, computing contiguous ones when unset.
func (s *TensorSpec) strides() []int64 {
	if s.Stride != nil {
		return s.Stride
	}
	return contiguousStrides(s.Shape)
}

func contiguousStrides(shape []int64) []int64 {
	st := make([]int64, len(shape))
	acc := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = acc
		if shape[i] > 1 {
			acc *= shape[i]
		}
	}
	return st
}

// Numel returns the number of elements.
func (s *TensorSpec) Numel() int64 {
	n := int64(1)
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

// NumBytes returns the size of the tensor's elements in bytes, as a
// contiguous copy would hold them.
func (s *TensorSpec) NumBytes() int64 { return s.Numel() * s.DType.ItemSize() }

// IsContiguous reports whether the elements are laid out row-major without
// gaps, using torch's rule: empty tensors are contiguous and the strides of
// dimensions of size 1 do not matter.
func (s *TensorSpec) IsContiguous() bool {
	if s.Stride == nil {
		return true
	}
	if s.Numel() == 0 {
		return true
	}
	expected := int64(1)
	for i := len(s.Shape) - 1; i >= 0; i-- {
		if s.Shape[i] == 1 {
			continue
		}
		if s.Stride[i] != expected {
			return false
		}
		expected *= s.Shape[i]
	}
	return true
}

// mul64 multiplies non-negative numbers, reporting overflow past MaxInt64.
func mul64(a, b int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	return int64(lo), true
}

func add64(a, b int64) (int64, bool) {
	s := a + b
	if s < a {
		return 0, false
	}
	return s, true
}

// check validates the layout: a known dtype, non-negative sizes and
// strides, and element counts whose byte sizes fit in an int64. It returns
// the number of storage elements the view needs (0 for an empty tensor).
func (s *TensorSpec) check() (need int64, err error) {
	info, ok := s.DType.info()
	if !ok {
		return 0, fmt.Errorf("unknown dtype %q", s.DType)
	}
	if s.Stride != nil && len(s.Stride) != len(s.Shape) {
		return 0, fmt.Errorf("shape has %d dimensions but stride has %d", len(s.Shape), len(s.Stride))
	}
	if s.Offset < 0 {
		return 0, fmt.Errorf("negative storage offset %d", s.Offset)
	}
	if s.StorageNumel < 0 {
		return 0, fmt.Errorf("negative storage size %d", s.StorageNumel)
	}
	st := s.strides()
	numel, last := int64(1), int64(0)
	for i, d := range s.Shape {
		if d < 0 || st[i] < 0 {
			return 0, fmt.Errorf("negative size or stride in shape %v stride %v", s.Shape, st)
		}
		if numel, ok = mul64(numel, d); !ok {
			return 0, fmt.Errorf("shape %v overflows", s.Shape)
		}
		if d > 0 {
			span, ok := mul64(d-1, st[i])
			if ok {
				last, ok = add64(last, span)
			}
			if !ok {
				return 0, fmt.Errorf("shape %v with stride %v overflows", s.Shape, st)
			}
		}
	}
	if _, ok := mul64(numel, info.size); !ok {
		return 0, fmt.Errorf("shape %v overflows", s.Shape)
	}
	if numel == 0 {
		return 0, nil
	}
	need, ok = add64(s.Offset, last)
	if ok {
		need, ok = add64(need, 1)
	}
	if ok {
		_, ok = mul64(need, info.size)
	}
	if !ok {
		return 0, fmt.Errorf("storage offset %d with shape %v stride %v overflows", s.Offset, s.Shape, st)
	}
	return need, nil
}

// storageNumel returns the storage size in elements for writing: the given
// size, or just enough for the view.
func (s *TensorSpec) storageNumel() (int64, error) {
	need, err := s.check()
	if err != nil {
		return 0, err
	}
	if s.StorageNumel == 0 {
		return need, nil
	}
	if s.StorageNumel < need {
		return 0, fmt.Errorf("storage of %d elements is too small for storage offset %d, shape %v, stride %v (needs %d)",
			s.StorageNumel, s.Offset, s.Shape, s.strides(), need)
	}
	return s.StorageNumel, nil
}

// DataRange returns where a contiguous tensor's bytes lie in the archive
// reader: n bytes at off. It fails for non-contiguous tensors and, with
// ErrBigEndian, for multi-byte elements of a big-endian archive.
func (t *Tensor) DataRange() (off, n int64, err error) {
	if !t.IsContiguous() {
		return 0, 0, fmt.Errorf("torchsave: tensor in %s is not contiguous (shape %v, stride %v)", t.recordName(), t.Shape, t.Stride)
	}
	if t.Storage.bigEndian && t.DType.ItemSize() > 1 {
		return 0, 0, fmt.Errorf("torchsave: %s: %w", t.recordName(), ErrBigEndian)
	}
	n = t.NumBytes()
	if n == 0 {
		return t.Storage.Offset, 0, nil
	}
	return t.Storage.Offset + t.Offset*t.DType.ItemSize(), n, nil
}

func (t *Tensor) recordName() string { return "data/" + t.Storage.Key }

// Reader returns a reader of the tensor's elements in row-major order,
// little-endian, exactly NumBytes long. Non-contiguous views are gathered
// with their strides; nothing is read ahead beyond a small buffer.
func (t *Tensor) Reader() io.Reader {
	if t.IsContiguous() && (!t.Storage.bigEndian || t.DType.ItemSize() == 1) {
		off, n, _ := t.DataRange()
		return io.NewSectionReader(t.Storage.r, off, n)
	}
	return newGather(t)
}

// WriteTo writes the tensor's elements to w as Reader yields them.
func (t *Tensor) WriteTo(w io.Writer) (int64, error) {
	r := t.Reader()
	if g, ok := r.(*gather); ok {
		return g.WriteTo(w)
	}
	n, err := io.Copy(w, r)
	if err == nil && n != t.NumBytes() {
		err = fmt.Errorf("torchsave: %s: read %d of %d bytes: %w", t.recordName(), n, t.NumBytes(), io.ErrUnexpectedEOF)
	}
	return n, err
}

// Package zarr reads zarr v2 arrays as Megatron-Core's zarr checkpoint
// backend writes them: one array per tensor, a .zarray JSON document and one
// file per chunk holding raw little-endian C-order values, usually without
// compression.
//
// Element values are never decoded. A [Chunk] yields the bytes of the part
// of the array it covers, trimmed of the padding zarr stores in edge chunks,
// so callers can move tensors as byte ranges.
package zarr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Limits applied before anything is allocated.
const (
	// MaxMetadataSize caps the size of a .zarray file.
	MaxMetadataSize = 1 << 20
	// MaxRank caps the number of dimensions (numpy allows 32, numpy 2 64).
	MaxRank = 64
	// MaxChunks caps the number of chunks in an array's chunk grid.
	// Megatron-Core uses one chunk per shard, so real grids are far smaller.
	MaxChunks = 1 << 24
)

// ErrUnsupported is matched (with errors.Is) by errors for well-formed
// arrays that use a zarr feature this package does not read, such as a
// blosc compressor, filters, Fortran order or big-endian data. So is
// errors.ErrUnsupported.
var ErrUnsupported = errors.New("zarr: unsupported feature")

// ErrAmbiguousDType is returned by [DType.Torch] for raw void types such as
// "|V2", which zarr writes for bfloat16 when the type was not registered
// with numpy, but which could equally hold any other 2-byte type.
var ErrAmbiguousDType = errors.New("zarr: void dtype does not name a torch dtype")

type unsupportedError string

func (e unsupportedError) Error() string { return string(e) }

func (e unsupportedError) Is(target error) bool {
	return target == ErrUnsupported || target == errors.ErrUnsupported
}

func unsupportedf(format string, args ...any) error {
	return unsupportedError(fmt.Sprintf(format, args...))
}

// Metadata is the content of a .zarray file (zarr storage specification
// version 2). [ParseMetadata] returns it validated; the methods assume a
// valid Metadata.
type Metadata struct {
	ZarrFormat int         `json:"zarr_format"` // always 2
	Shape      []int64     `json:"shape"`       // global shape; [] for a 0-d array
	Chunks     []int64     `json:"chunks"`      // chunk shape, same rank as Shape
	DType      DType       `json:"dtype"`       // numpy type string or "bfloat16"
	Compressor *Compressor `json:"compressor"`  // nil for null
	// FillValue is the JSON value as written: null, a number, "NaN",
	// "Infinity", "-Infinity", a boolean, base64 text for void types or a
	// [re, im] pair for complex types. See [Metadata.FillBytes].
	FillValue json.RawMessage `json:"fill_value"`
	// Filters is always empty: arrays with filters are rejected.
	Filters []json.RawMessage `json:"filters"`
	Order   string            `json:"order"` // always "C"
	// DimensionSeparator joins chunk grid indexes into chunk keys: "." (the
	// default when the key is absent) or "/".
	DimensionSeparator string `json:"dimension_separator,omitempty"`
}

// Compressor is the "compressor" object of a .zarray, as numcodecs writes
// it. Megatron-Core always writes null.
type Compressor struct {
	ID    string `json:"id"` // "zlib", "gzip" or "zstd"; others are rejected
	Level int    `json:"level,omitempty"`
	// Config is the whole object as written, for reporting; nil for null.
	Config json.RawMessage `json:"-"`
}

// ParseMetadata parses and validates the content of a .zarray file.
func ParseMetadata(data []byte) (*Metadata, error) {
	m, err := parseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("zarr: .zarray: %w", err)
	}
	return m, nil
}

func parseMetadata(data []byte) (*Metadata, error) {
	if len(data) > MaxMetadataSize {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", len(data), MaxMetadataSize)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if raw == nil {
		return nil, errors.New("not a JSON object")
	}
	m := new(Metadata)
	field := func(name string, dst any, required bool) error {
		v, ok := raw[name]
		if !ok || isNull(v) {
			if required {
				return fmt.Errorf("missing %q", name)
			}
			return nil
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return fmt.Errorf("%q: %w", name, err)
		}
		return nil
	}
	if err := field("zarr_format", &m.ZarrFormat, true); err != nil {
		return nil, err
	}
	if m.ZarrFormat != 2 {
		return nil, unsupportedf("zarr_format %d is not supported (want 2)", m.ZarrFormat)
	}
	if err := field("shape", &m.Shape, true); err != nil {
		return nil, err
	}
	if err := field("chunks", &m.Chunks, true); err != nil {
		return nil, err
	}
	var dt any
	if err := field("dtype", &dt, true); err != nil {
		return nil, err
	}
	s, ok := dt.(string)
	if !ok {
		return nil, unsupportedf("dtype %s is not a type string (structured dtypes are not supported)", compact(raw["dtype"]))
	}
	m.DType = DType(s)
	if err := field("order", &m.Order, true); err != nil {
		return nil, err
	}
	if v, ok := raw["compressor"]; ok && !isNull(v) {
		c := &Compressor{Config: compact(v)}
		// Only the id first: the other keys depend on the codec.
		var id struct{ ID string }
		if err := json.Unmarshal(v, &id); err != nil {
			return nil, fmt.Errorf(`"compressor": %w`, err)
		}
		if c.ID = id.ID; c.ID == "" {
			return nil, fmt.Errorf(`"compressor" %s has no "id"`, c.Config)
		}
		switch c.ID {
		case "zlib", "gzip", "zstd":
			if err := json.Unmarshal(v, c); err != nil {
				return nil, fmt.Errorf(`"compressor" %s: %w`, c.Config, err)
			}
		}
		m.Compressor = c
	}
	if err := field("filters", &m.Filters, false); err != nil {
		return nil, err
	}
	if v, ok := raw["fill_value"]; ok && !isNull(v) {
		m.FillValue = compact(v)
	}
	if err := field("dimension_separator", &m.DimensionSeparator, false); err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

func compact(v json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return v
	}
	return b.Bytes()
}

// Validate checks that m describes an array this package can read and that
// its sizes are within bounds: the byte sizes of the array and of one chunk
// fit in an int64 and the chunk grid has at most [MaxChunks] chunks.
func (m *Metadata) Validate() error {
	if m.ZarrFormat != 2 {
		return unsupportedf("zarr_format %d is not supported (want 2)", m.ZarrFormat)
	}
	if len(m.Shape) != len(m.Chunks) {
		return fmt.Errorf("shape %v and chunks %v differ in rank", m.Shape, m.Chunks)
	}
	if len(m.Shape) > MaxRank {
		return fmt.Errorf("rank %d exceeds %d", len(m.Shape), MaxRank)
	}
	item := m.DType.ItemSize()
	if item == 0 {
		if err := m.DType.check(); err != nil {
			return err
		}
	}
	elems, chunkElems, grid := int64(1), int64(1), int64(1)
	for d := range m.Shape {
		n, c := m.Shape[d], m.Chunks[d]
		if n < 0 {
			return fmt.Errorf("shape %v has a negative dimension", m.Shape)
		}
		if c <= 0 {
			return fmt.Errorf("chunks %v has a dimension that is not positive", m.Chunks)
		}
		var ok bool
		if elems, ok = mul(elems, n); !ok {
			return fmt.Errorf("shape %v overflows", m.Shape)
		}
		if chunkElems, ok = mul(chunkElems, c); !ok {
			return fmt.Errorf("chunks %v overflows", m.Chunks)
		}
		if grid, ok = mul(grid, ceilDiv(n, c)); !ok || grid > MaxChunks {
			return fmt.Errorf("shape %v in chunks %v makes more than %d chunks", m.Shape, m.Chunks, MaxChunks)
		}
	}
	if _, ok := mul(elems, int64(item)); !ok {
		return fmt.Errorf("shape %v of %s overflows", m.Shape, m.DType)
	}
	if _, ok := mul(chunkElems, int64(item)); !ok {
		return fmt.Errorf("chunks %v of %s overflows", m.Chunks, m.DType)
	}
	switch m.Order {
	case "C":
	case "F":
		return unsupportedf(`order "F" (Fortran) is not supported; Megatron-Core writes "C"`)
	default:
		return fmt.Errorf("invalid order %q", m.Order)
	}
	switch m.DimensionSeparator {
	case "", ".", "/":
	default:
		return fmt.Errorf("invalid dimension_separator %q", m.DimensionSeparator)
	}
	if len(m.Filters) > 0 {
		return unsupportedf("filters %s are not supported; Megatron-Core writes filters null", m.Filters)
	}
	if c := m.Compressor; c != nil {
		switch c.ID {
		case "zlib", "gzip", "zstd":
		default:
			cfg := c.Config
			if cfg == nil {
				cfg = json.RawMessage(`{"id":` + strconv.Quote(c.ID) + `}`)
			}
			return unsupportedf("compressor %q (%s) is not supported; Megatron-Core writes compressor null, and only zlib, gzip and zstd are read besides", c.ID, cfg)
		}
	}
	if len(m.FillValue) > 0 && !isNull(m.FillValue) {
		dec := json.NewDecoder(bytes.NewReader(m.FillValue))
		dec.UseNumber() // 1e400 is a valid fill (infinity)
		var v any
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("fill_value %s: %w", m.FillValue, err)
		}
		if _, isObj := v.(map[string]any); isObj {
			return fmt.Errorf("invalid fill_value %s", m.FillValue)
		}
	}
	return nil
}

func mul(a, b int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	return int64(lo), true
}

func ceilDiv(n, c int64) int64 { return n/c + min(n%c, 1) }

// ItemSize returns the size in bytes of one element.
func (m *Metadata) ItemSize() int { return m.DType.ItemSize() }

// Separator returns the chunk key separator: "." unless the metadata says "/".
func (m *Metadata) Separator() string {
	if m.DimensionSeparator == "/" {
		return "/"
	}
	return "."
}

// Grid returns the number of chunks along each dimension.
func (m *Metadata) Grid() []int {
	g := make([]int, len(m.Shape))
	for d, n := range m.Shape {
		if c := m.Chunks[d]; c > 0 {
			g[d] = int(ceilDiv(n, c))
		}
	}
	return g
}

// NumChunks returns the number of chunks in the grid: 1 for a 0-d array, 0
// when any dimension is 0.
func (m *Metadata) NumChunks() int {
	n := 1
	for _, g := range m.Grid() {
		n *= g
	}
	return n
}

// ChunkBytes returns the stored (uncompressed) size of one chunk: zarr
// stores every chunk at full size, padding edge chunks.
func (m *Metadata) ChunkBytes() int64 {
	n := int64(m.ItemSize())
	for _, c := range m.Chunks {
		n *= c
	}
	return n
}

func (m *Metadata) checkIndex(idx []int) error {
	g := m.Grid()
	if len(idx) != len(g) {
		return fmt.Errorf("chunk index %v has rank %d, want %d", idx, len(idx), len(g))
	}
	for d, i := range idx {
		if i < 0 || i >= g[d] {
			return fmt.Errorf("chunk index %v is outside the grid %v", idx, g)
		}
	}
	return nil
}

// ChunkKey returns the name, relative to the array directory, of the chunk
// at grid index idx: "i.j.k" (or "i/j/k"), and "0" for a 0-d array.
func (m *Metadata) ChunkKey(idx []int) (string, error) {
	if err := m.checkIndex(idx); err != nil {
		return "", err
	}
	return m.key(idx), nil
}

func (m *Metadata) key(idx []int) string {
	if len(idx) == 0 {
		return "0"
	}
	var b strings.Builder
	for d, i := range idx {
		if d > 0 {
			b.WriteString(m.Separator())
		}
		b.WriteString(strconv.Itoa(i))
	}
	return b.String()
}

// ChunkRegion returns the region of the array covered by the chunk at grid
// index idx: its first element and its in-bounds extent, which is smaller
// than Chunks along the dimensions where the chunk is an edge chunk.
func (m *Metadata) ChunkRegion(idx []int) (offset, shape []int64, err error) {
	if err := m.checkIndex(idx); err != nil {
		return nil, nil, err
	}
	offset = make([]int64, len(idx))
	shape = make([]int64, len(idx))
	for d, i := range idx {
		offset[d] = int64(i) * m.Chunks[d]
		shape[d] = min(m.Chunks[d], m.Shape[d]-offset[d])
	}
	return offset, shape, nil
}

// DType is a zarr v2 data type string: a numpy type string such as "<f4"
// or "|b1", or Megatron-Core's literal "bfloat16".
type DType string

type dtypeInfo struct {
	size  int
	torch string
}

// Little-endian types by kind and size, with their torch names. torch has
// uint16/32/64 only since 2.3.
var dtypes = map[string]dtypeInfo{
	"f2": {2, "float16"}, "f4": {4, "float32"}, "f8": {8, "float64"},
	"i1": {1, "int8"}, "i2": {2, "int16"}, "i4": {4, "int32"}, "i8": {8, "int64"},
	"u1": {1, "uint8"}, "u2": {2, "uint16"}, "u4": {4, "uint32"}, "u8": {8, "uint64"},
	"b1": {1, "bool"}, "c8": {8, "complex64"}, "c16": {16, "complex128"},
}

// maxVoid caps the size of a raw void element ("|V<n>").
const maxVoid = 1 << 16

// parse splits a numpy type string into kind+size and checks byte order.
func (d DType) parse() (code string, info dtypeInfo, err error) {
	if d == "bfloat16" {
		return "bf16", dtypeInfo{2, "bfloat16"}, nil
	}
	s := string(d)
	if len(s) < 3 {
		return "", info, fmt.Errorf("unknown dtype %q", s)
	}
	order, code := s[0], s[1:]
	if code[0] == 'V' {
		n, err := strconv.Atoi(code[1:])
		if err != nil || n <= 0 || n > maxVoid || strconv.Itoa(n) != code[1:] || (order != '|' && order != '<') {
			return "", info, fmt.Errorf("unknown dtype %q", s)
		}
		return code, dtypeInfo{size: n}, nil
	}
	info, ok := dtypes[code]
	if !ok {
		return "", info, unsupportedf("dtype %q is not supported (want a numeric or bool numpy type, or bfloat16)", s)
	}
	switch {
	case order == '<' || (order == '|' || order == '>') && info.size == 1:
	case order == '>':
		return "", info, unsupportedf("big-endian dtype %q is not supported; Megatron-Core writes little-endian", s)
	default:
		return "", info, fmt.Errorf("invalid byte order in dtype %q", s)
	}
	return code, info, nil
}

func (d DType) check() error { _, _, err := d.parse(); return err }

// ItemSize returns the size in bytes of one element, or 0 for an unknown or
// unsupported type.
func (d DType) ItemSize() int {
	_, info, err := d.parse()
	if err != nil {
		return 0
	}
	return info.size
}

// Torch returns the name of the torch dtype (torch.<name>) holding the same
// bytes: "bfloat16", "float32", "int64", "bool" and so on. A raw void type
// such as "|V2" returns [ErrAmbiguousDType].
func (d DType) Torch() (string, error) {
	_, info, err := d.parse()
	if err != nil {
		return "", err
	}
	if info.torch == "" {
		return "", fmt.Errorf("%w: %q holds %d raw bytes per element (bfloat16 written without Megatron's \"bfloat16\" patch?)", ErrAmbiguousDType, string(d), info.size)
	}
	return info.torch, nil
}

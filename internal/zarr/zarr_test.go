package zarr

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/klauspost/compress/zstd"
)

// megatron returns a .zarray as Megatron-Core writes it (indent 4, sorted
// keys) with the given fields replaced.
func megatron(shape, chunks, dtype string, extra ...string) string {
	fields := map[string]string{
		"chunks": chunks, "compressor": "null", "dtype": dtype, "fill_value": "null",
		"filters": "null", "order": `"C"`, "shape": shape, "zarr_format": "2",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		fields[extra[i]] = extra[i+1]
	}
	var b strings.Builder
	b.WriteString("{")
	first := true
	for _, k := range []string{"chunks", "compressor", "dimension_separator", "dtype", "fill_value", "filters", "order", "shape", "zarr_format"} {
		v, ok := fields[k]
		if !ok || v == "-" {
			continue
		}
		if !first {
			b.WriteString(",")
		}
		first = false
		b.WriteString("\n    \"" + k + "\": " + v)
	}
	b.WriteString("\n}")
	return b.String()
}

func TestParseSeeds(t *testing.T) {
	cases := map[string]struct {
		shape, chunks []int64
		dtype, torch  string
		item          int
		sep           string
		compressor    string
		fill          string // hex of FillBytes
		err           string
	}{
		"f4_edge":  {shape: []int64{5, 7}, chunks: []int64{2, 3}, dtype: "<f4", torch: "float32", item: 4, sep: "."},
		"f2":       {shape: []int64{4, 6}, chunks: []int64{2, 6}, dtype: "<f2", torch: "float16", item: 2, sep: "."},
		"i8_3d":    {shape: []int64{3, 4, 5}, chunks: []int64{2, 3, 2}, dtype: "<i8", torch: "int64", item: 8, sep: "."},
		"b1_0d":    {shape: []int64{}, chunks: []int64{}, dtype: "|b1", torch: "bool", item: 1, sep: "."},
		"u1":       {shape: []int64{9}, chunks: []int64{4}, dtype: "|u1", torch: "uint8", item: 1, sep: "."},
		"bf16":     {shape: []int64{6, 4}, chunks: []int64{3, 4}, dtype: "bfloat16", torch: "bfloat16", item: 2, sep: "."},
		"v2":       {shape: []int64{6}, chunks: []int64{4}, dtype: "|V2", item: 2, sep: "."},
		"zlib_i4":  {shape: []int64{5, 3}, chunks: []int64{2, 2}, dtype: "<i4", torch: "int32", item: 4, sep: ".", compressor: "zlib"},
		"gzip_f8":  {shape: []int64{5}, chunks: []int64{2}, dtype: "<f8", torch: "float64", item: 8, sep: ".", compressor: "gzip", fill: "000000000000f87f"},
		"zstd_i2":  {shape: []int64{4, 4}, chunks: []int64{3, 3}, dtype: "<i2", torch: "int16", item: 2, sep: ".", compressor: "zstd", fill: "f9ff"},
		"slash_c8": {shape: []int64{3, 2, 2}, chunks: []int64{2, 1, 2}, dtype: "<c8", torch: "complex64", item: 8, sep: "/", fill: "0000803f00000040"},
		"blosc_u2": {err: `compressor "blosc" ({"blocksize":0,"clevel":5,"cname":"lz4","id":"blosc","shuffle":1}) is not supported; Megatron-Core writes compressor null`},
	}
	seeds, _ := filepath.Glob("testdata/*.zarray")
	if len(seeds) != len(cases) {
		t.Fatalf("%d seeds in testdata, %d cases", len(seeds), len(cases))
	}
	for _, s := range seeds {
		name := strings.TrimSuffix(filepath.Base(s), ".zarray")
		want, ok := cases[name]
		if !ok {
			t.Errorf("no case for %s", s)
			continue
		}
		data, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseMetadata(data)
		if want.err != "" {
			if err == nil || !strings.Contains(err.Error(), want.err) || !errors.Is(err, ErrUnsupported) {
				t.Errorf("%s: error %v, want %q", name, err, want.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(m.Shape, want.shape) || !reflect.DeepEqual(m.Chunks, want.chunks) ||
			string(m.DType) != want.dtype || m.ItemSize() != want.item || m.Separator() != want.sep {
			t.Errorf("%s: got shape %v chunks %v dtype %q item %d sep %q", name, m.Shape, m.Chunks, m.DType, m.ItemSize(), m.Separator())
		}
		torch, err := m.DType.Torch()
		if want.torch == "" {
			if !errors.Is(err, ErrAmbiguousDType) {
				t.Errorf("%s: Torch() = %q, %v; want ErrAmbiguousDType", name, torch, err)
			}
		} else if torch != want.torch || err != nil {
			t.Errorf("%s: Torch() = %q, %v; want %q", name, torch, err, want.torch)
		}
		id := ""
		if m.Compressor != nil {
			id = m.Compressor.ID
			if m.Compressor.Level != 1 {
				t.Errorf("%s: compressor level %d, want 1", name, m.Compressor.Level)
			}
		}
		if id != want.compressor {
			t.Errorf("%s: compressor %q, want %q", name, id, want.compressor)
		}
		fill, err := m.FillBytes()
		if err != nil || hex.EncodeToString(fill) != want.fill {
			t.Errorf("%s: FillBytes() = %x, %v; want %s", name, fill, err, want.fill)
		}
	}
}

func TestMetadataErrors(t *testing.T) {
	cases := []struct {
		name, zarray, want string
		unsupported        bool
	}{
		{"empty", ``, "invalid JSON", false},
		{"not json", `{"shape": [1,`, "invalid JSON", false},
		{"array", `[1, 2]`, "invalid JSON", false},
		{"null", `null`, "not a JSON object", false},
		{"format 3", megatron("[4]", "[2]", `"<f4"`, "zarr_format", "3"), "zarr_format 3 is not supported", true},
		{"format missing", megatron("[4]", "[2]", `"<f4"`, "zarr_format", "-"), `missing "zarr_format"`, false},
		{"format string", megatron("[4]", "[2]", `"<f4"`, "zarr_format", `"2"`), `"zarr_format"`, false},
		{"shape missing", megatron("-", "[2]", `"<f4"`), `missing "shape"`, false},
		{"shape float", megatron("[4.5]", "[2]", `"<f4"`), `"shape"`, false},
		{"negative dim", megatron("[4, -1]", "[2, 1]", `"<f4"`), "negative dimension", false},
		{"zero chunk", megatron("[4, 1]", "[2, 0]", `"<f4"`), "not positive", false},
		{"negative chunk", megatron("[4]", "[-2]", `"<f4"`), "not positive", false},
		{"rank mismatch", megatron("[4, 4]", "[2]", `"<f4"`), "differ in rank", false},
		{"rank mismatch 0-d", megatron("[]", "[1]", `"<f4"`), "differ in rank", false},
		{"shape overflow", megatron("[4294967296, 4294967296]", "[4294967296, 4294967296]", `"<f4"`), "overflows", false},
		{"bytes overflow", megatron("[4611686018427387904]", "[4611686018427387904]", `"<f4"`), "overflows", false},
		{"chunk overflow", megatron("[1]", "[9223372036854775807]", `"<f8"`), "overflows", false},
		{"huge grid", megatron("[1099511627776]", "[1]", `"|u1"`), "more than 16777216 chunks", false},
		{"huge grid 2d", megatron("[65536, 65536]", "[1, 1]", `"|u1"`), "more than 16777216 chunks", false},
		{"int64 overflow in json", megatron("[9223372036854775808]", "[1]", `"|u1"`), `"shape"`, false},
		{"rank too big", megatron("["+strings.Repeat("1,", 64)+"1]", "["+strings.Repeat("1,", 64)+"1]", `"<f4"`), "rank 65 exceeds 64", false},
		{"unknown dtype", megatron("[4]", "[2]", `"<f3"`), `dtype "<f3" is not supported`, true},
		{"string dtype", megatron("[4]", "[2]", `"<U8"`), `dtype "<U8" is not supported`, true},
		{"object dtype", megatron("[4]", "[2]", `"|O"`), `unknown dtype "|O"`, false},
		{"structured dtype", megatron("[4]", "[2]", `[["a", "<f4"]]`), "structured dtypes are not supported", true},
		{"dtype number", megatron("[4]", "[2]", `4`), "not a type string", true},
		{"big endian", megatron("[4]", "[2]", `">f4"`), `big-endian dtype ">f4"`, true},
		{"native order", megatron("[4]", "[2]", `"=f4"`), "invalid byte order", false},
		{"pipe f4", megatron("[4]", "[2]", `"|f4"`), "invalid byte order", false},
		{"void zero", megatron("[4]", "[2]", `"|V0"`), "unknown dtype", false},
		{"void huge", megatron("[4]", "[2]", `"|V99999999999999999999"`), "unknown dtype", false},
		{"void plus", megatron("[4]", "[2]", `"|V+2"`), "unknown dtype", false},
		{"blosc", megatron("[4]", "[2]", `"<f4"`, "compressor", `{"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1}`), `compressor "blosc"`, true},
		{"lz4", megatron("[4]", "[2]", `"<f4"`, "compressor", `{"id": "lz4"}`), `compressor "lz4"`, true},
		{"odd blosc", megatron("[4]", "[2]", `"<f4"`, "compressor", `{"id": "blosc", "level": "x"}`), `compressor "blosc"`, true},
		{"zlib bad level", megatron("[4]", "[2]", `"<f4"`, "compressor", `{"id": "zlib", "level": "x"}`), `"compressor" {"id":"zlib","level":"x"}`, false},
		{"compressor no id", megatron("[4]", "[2]", `"<f4"`, "compressor", `{"level": 1}`), `has no "id"`, false},
		{"compressor string", megatron("[4]", "[2]", `"<f4"`, "compressor", `"zlib"`), `"compressor"`, false},
		{"filters", megatron("[4]", "[2]", `"<f4"`, "filters", `[{"id": "delta", "dtype": "<f4"}]`), "filters", true},
		{"filters object", megatron("[4]", "[2]", `"<f4"`, "filters", `{"id": "delta"}`), `"filters"`, false},
		{"fortran", megatron("[4]", "[2]", `"<f4"`, "order", `"F"`), `order "F"`, true},
		{"bad order", megatron("[4]", "[2]", `"<f4"`, "order", `"X"`), `invalid order "X"`, false},
		{"order missing", megatron("[4]", "[2]", `"<f4"`, "order", "-"), `missing "order"`, false},
		{"bad separator", megatron("[4]", "[2]", `"<f4"`, "dimension_separator", `"-"`), "invalid dimension_separator", false},
		{"fill object", megatron("[4]", "[2]", `"<f4"`, "fill_value", `{"a": 1}`), "invalid fill_value", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseMetadata([]byte(c.zarray))
			if err == nil {
				t.Fatalf("parsed:\n%s", c.zarray)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
			if errors.Is(err, ErrUnsupported) != c.unsupported {
				t.Errorf("errors.Is(%q, ErrUnsupported) = %v", err, !c.unsupported)
			}
		})
	}
	big := append([]byte(megatron("[4]", "[2]", `"<f4"`)), bytes.Repeat([]byte(" "), MaxMetadataSize)...)
	if _, err := ParseMetadata(big); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("oversized .zarray: %v", err)
	}
	fsys := fstest.MapFS{"a/.zarray": {Data: big}}
	if _, err := Open(fsys, "a"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Open oversized .zarray: %v", err)
	}
	if _, err := Open(fsys, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open missing array: %v", err)
	}
	if _, err := Open(fsys, "../a"); err == nil {
		t.Error("Open ../a succeeded")
	}
	// The array directory is named in Open's errors.
	fsys["w/.zarray"] = &fstest.MapFile{Data: []byte(megatron("[4]", "[2]", `"<f4"`, "compressor", `{"id": "blosc"}`))}
	if _, err := Open(fsys, "w"); err == nil || !strings.Contains(err.Error(), `array "w"`) {
		t.Errorf("error %v does not name the array", err)
	}
}

func TestAcceptedVariants(t *testing.T) {
	for _, z := range []string{
		megatron("[4]", "[2]", `"<f4"`, "filters", "[]"),
		megatron("[4]", "[2]", `"<f4"`, "dimension_separator", "null"),
		megatron("[4]", "[2]", `"<f4"`, "compressor", "-", "fill_value", "-", "filters", "-"),
		megatron("[4]", "[2]", `"<u1"`),
		megatron("[4]", "[2]", `">i1"`),
		megatron("[4]", "[2]", `"<V2"`),
		megatron("[4]", "[2]", `"<f4"`, "compressor", `{"id": "zstd", "level": 1, "checksum": true}`),
		`{"zarr_format":2,"shape":[0],"chunks":[1],"dtype":"<f4","order":"C","extra":{"x":1}}`,
	} {
		if _, err := ParseMetadata([]byte(z)); err != nil {
			t.Errorf("%s: %v", z, err)
		}
	}
}

func TestAddressing(t *testing.T) {
	m, err := ParseMetadata([]byte(megatron("[5, 6, 7]", "[2, 4, 7]", `"<f4"`, "dimension_separator", `"/"`)))
	if err != nil {
		t.Fatal(err)
	}
	if g := m.Grid(); !reflect.DeepEqual(g, []int{3, 2, 1}) || m.NumChunks() != 6 || m.ChunkBytes() != 2*4*7*4 {
		t.Fatalf("Grid() = %v, NumChunks() = %d, ChunkBytes() = %d", g, m.NumChunks(), m.ChunkBytes())
	}
	a := &Array{Metadata: *m}
	c, err := a.Chunk([]int{2, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	if c.Key != "2/1/0" || !reflect.DeepEqual(c.Offset, []int64{4, 4, 0}) || !reflect.DeepEqual(c.Shape, []int64{1, 2, 7}) || !c.Edge || c.Size() != 1*2*7*4 {
		t.Errorf("chunk %+v", c)
	}
	c, _ = a.Chunk([]int{0, 0, 0})
	if c.Key != "0/0/0" || c.Edge || c.Size() != m.ChunkBytes() {
		t.Errorf("chunk %+v", c)
	}
	for _, idx := range [][]int{{3, 0, 0}, {0, 0, 1}, {-1, 0, 0}, {0, 0}, {0, 0, 0, 0}} {
		if _, err := a.Chunk(idx); err == nil {
			t.Errorf("Chunk(%v) succeeded", idx)
		}
		if _, err := m.ChunkKey(idx); err == nil {
			t.Errorf("ChunkKey(%v) succeeded", idx)
		}
	}
	var got []string
	for idx := range a.ChunkIndexes() {
		k, _ := m.ChunkKey(idx)
		got = append(got, k)
	}
	if want := []string{"0/0/0", "0/1/0", "1/0/0", "1/1/0", "2/0/0", "2/1/0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ChunkIndexes: %v", got)
	}

	m0, _ := ParseMetadata([]byte(megatron("[]", "[]", `"|b1"`)))
	a0 := &Array{Metadata: *m0}
	if k, err := m0.ChunkKey(nil); k != "0" || err != nil || m0.NumChunks() != 1 {
		t.Errorf("0-d: key %q, %v, %d chunks", k, err, m0.NumChunks())
	}
	n := 0
	for idx := range a0.ChunkIndexes() {
		if len(idx) != 0 {
			t.Errorf("0-d index %v", idx)
		}
		n++
	}
	if n != 1 {
		t.Errorf("0-d array yielded %d chunks", n)
	}
	me, _ := ParseMetadata([]byte(megatron("[3, 0]", "[2, 2]", `"<f4"`)))
	for range (&Array{Metadata: *me}).ChunkIndexes() {
		t.Error("empty array yielded a chunk")
	}
}

func TestFillBytes(t *testing.T) {
	cases := []struct{ dtype, fill, want string }{
		{"<f4", "0", "00000000"},
		{"<f4", "-0.0", "00000080"},
		{"<f4", `"NaN"`, "0000c07f"},
		{"<f4", `"Infinity"`, "0000807f"},
		{"<f4", "1e39", "0000807f"},
		{"<f8", "1e400", "000000000000f07f"},
		{"<f2", "1", "003c"},
		{"<f2", "65504", "ff7b"},
		{"<f2", "65519.99", "ff7b"},
		{"<f2", "65520", "007c"},
		{"<f2", "-1e-8", "0080"},                   // rounds to -0
		{"<f2", "5.960464477539063e-08", "0100"},   // smallest subnormal
		{"<f2", "2.98023223876953125e-08", "0000"}, // half of it: ties to even (0)
		{"<f2", "8.940696716308594e-08", "0200"},   // 1.5 ulp: ties to even (2)
		{"<f2", "6.097555160522461e-05", "ff03"},   // largest subnormal
		{"<f2", "6.103515625e-05", "0004"},         // smallest normal
		{"<f2", `"-Infinity"`, "00fc"},
		{"<f2", `"NaN"`, "007e"},
		{"bfloat16", "1", "803f"},
		{"bfloat16", "-2.5", "20c0"},
		{"bfloat16", `"NaN"`, "c07f"},
		{"bfloat16", "3.4e38", "807f"},
		{"|b1", "true", "01"},
		{"|b1", "false", "00"},
		{"|b1", "1", "01"},
		{"|i1", "-128", "80"},
		{"|u1", "255", "ff"},
		{"<i2", "-7", "f9ff"},
		{"<i4", "1.0", "01000000"},
		{"<i8", "-9223372036854775808", "0000000000000080"},
		{"<u8", "18446744073709551615", "ffffffffffffffff"},
		{"<c8", "[1.0, 2.0]", "0000803f00000040"},
		{"<c16", `["NaN", 0]`, "000000000000f87f0000000000000000"},
		{"|V2", `"AQI="`, "0102"},
		{"<f4", "null", ""},
	}
	for _, c := range cases {
		m, err := ParseMetadata([]byte(megatron("[4]", "[2]", `"`+c.dtype+`"`, "fill_value", c.fill)))
		if err != nil {
			t.Errorf("%s %s: %v", c.dtype, c.fill, err)
			continue
		}
		got, err := m.FillBytes()
		if err != nil || hex.EncodeToString(got) != c.want {
			t.Errorf("%s fill %s: %x, %v; want %s", c.dtype, c.fill, got, err, c.want)
		}
	}
	for _, c := range []struct{ dtype, fill string }{
		{"|i1", "128"}, {"|u1", "-1"}, {"<i4", "1.5"}, {"<i8", "1e300"}, {"<u8", `"NaN"`},
		{"|b1", "2"}, {"<f4", `"nan"`}, {"<f4", "true"}, {"<c8", "[1]"}, {"|V2", `"AQ=="`},
		{"|V2", "0"}, {"<f2", "[1, 2]"},
	} {
		m, err := ParseMetadata([]byte(megatron("[4]", "[2]", `"`+c.dtype+`"`, "fill_value", c.fill)))
		if err != nil {
			t.Errorf("%s %s: %v", c.dtype, c.fill, err)
			continue
		}
		if b, err := m.FillBytes(); err == nil {
			t.Errorf("%s fill %s: %x, want an error", c.dtype, c.fill, b)
		}
	}
}

// TestToFloat16Exhaustive checks the half conversion on every float16 value
// and on the midpoints between neighbours, where rounding ties to even.
func TestToFloat16Exhaustive(t *testing.T) {
	half := func(u uint16) float64 {
		e, f := int(u>>10&0x1f), float64(u&0x3ff)
		v := math.Ldexp(f, -24)
		if e > 0 {
			v = math.Ldexp(1024+f, e-25)
		}
		if u&0x8000 != 0 {
			v = -v
		}
		return v
	}
	for u := uint16(0); u < 0x7c00; u++ {
		if got := toFloat16(half(u), 10, 15); got != u {
			t.Fatalf("toFloat16(%g) = %#04x, want %#04x", half(u), got, u)
		}
		if got := toFloat16(-half(u), 10, 15); got != u|0x8000 {
			t.Fatalf("toFloat16(%g) = %#04x, want %#04x", -half(u), got, u|0x8000)
		}
		next := u + 1
		mid := (half(u) + half(next)) / 2
		if next == 0x7c00 {
			mid = 65520
		}
		want := u
		if u&1 == 1 {
			want = next
		}
		if got := toFloat16(mid, 10, 15); got != want {
			t.Fatalf("toFloat16(%g) = %#04x, want %#04x (tie between %#04x and %#04x)", mid, got, want, u, next)
		}
	}
}

// chunkFS builds a one-array file system with the given chunk files.
func chunkFS(zarray string, files map[string][]byte) fstest.MapFS {
	fsys := fstest.MapFS{"arr/.zarray": {Data: []byte(zarray)}}
	for k, v := range files {
		fsys["arr/"+k] = &fstest.MapFile{Data: v}
	}
	return fsys
}

func readChunk(fsys fs.FS, idx []int) ([]byte, error) {
	a, err := Open(fsys, "arr")
	if err != nil {
		return nil, err
	}
	c, err := a.Chunk(idx)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	_, err = c.WriteTo(struct{ io.Writer }{&b})
	return b.Bytes(), err
}

func compress(t testing.TB, id string, data []byte) []byte {
	var b bytes.Buffer
	var w io.WriteCloser
	switch id {
	case "zlib":
		w = zlib.NewWriter(&b)
	case "gzip":
		w = gzip.NewWriter(&b)
	case "zstd":
		var err error
		if w, err = zstd.NewWriter(&b, zstd.WithEncoderConcurrency(1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestChunkErrors(t *testing.T) {
	z := megatron("[3, 5]", "[2, 4]", `"<i4"`) // chunk = 32 bytes
	full := bytes.Repeat([]byte{1}, 32)
	for _, fsys := range []fs.FS{
		chunkFS(z, map[string][]byte{"0.0": full[:31]}),
		seqFS{chunkFS(z, map[string][]byte{"0.0": full[:31]})},
	} {
		if _, err := readChunk(fsys, []int{0, 0}); err == nil || !strings.Contains(err.Error(), "arr/0.0 is 31 bytes, want 32") {
			t.Errorf("truncated chunk: %v", err)
		}
	}
	if _, err := readChunk(chunkFS(z, map[string][]byte{"1.1": append(full, 0)}), []int{1, 1}); err == nil || !strings.Contains(err.Error(), "arr/1.1 is 33 bytes, want 32") {
		t.Errorf("oversized chunk: %v", err)
	}
	_, err := readChunk(chunkFS(z, nil), []int{1, 0})
	if err == nil || !strings.Contains(err.Error(), `chunk "1.0" is missing and fill_value is null`) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing chunk: %v", err)
	}
	dirFS := chunkFS(z, nil)
	dirFS["arr/0.0/x"] = &fstest.MapFile{}
	if _, err := readChunk(dirFS, []int{0, 0}); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory chunk: %v", err)
	}
	// Missing chunk with a fill_value that does not fit the dtype.
	zf := megatron("[3, 5]", "[2, 4]", `"|u1"`, "fill_value", "300")
	if _, err := readChunk(chunkFS(zf, nil), []int{0, 0}); err == nil || !strings.Contains(err.Error(), "cannot be filled") {
		t.Errorf("unfillable missing chunk: %v", err)
	}
	// A file that is shorter than its Stat says.
	if _, err := readChunk(liarFS{chunkFS(z, map[string][]byte{"0.0": full[:20]}), 32}, []int{0, 0}); err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("file shorter than Stat: %v", err)
	}
	a, _ := Open(liarFS{chunkFS(z, map[string][]byte{"0.0": full[:20]}), 32}, "arr")
	c, _ := a.Chunk([]int{0, 0})
	if _, err := c.WriteTo(&bytes.Buffer{}); err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("file shorter than Stat, ReaderFrom path: %v", err)
	}

	for _, id := range []string{"zlib", "gzip", "zstd"} {
		zc := megatron("[3, 5]", "[2, 4]", `"<i4"`, "compressor", `{"id": "`+id+`", "level": 1}`)
		cases := []struct {
			name string
			data []byte
			want string
		}{
			{"garbage", []byte("not compressed at all"), "arr/0.0"},
			{"empty", nil, "arr/0.0"},
			{"short", compress(t, id, full[:31]), "ends after 31 of 32 bytes"},
			{"long", compress(t, id, append(full, 0)), "decompresses to more than 32 bytes"},
			{"bomb", compress(t, id, make([]byte, 16<<20)), "decompresses to more than 32 bytes"},
			{"truncated stream", compress(t, id, full)[:10], "arr/0.0"},
		}
		for _, c := range cases {
			for _, idx := range [][]int{{0, 0}, {1, 1}} { // whole and edge chunk
				key := map[bool]string{true: "0.0", false: "1.1"}[idx[0] == 0]
				want := strings.ReplaceAll(c.want, "0.0", key)
				_, err := readChunk(chunkFS(zc, map[string][]byte{key: c.data}), idx)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s %s chunk %v: %v, want %q", id, c.name, idx, err, want)
				}
			}
		}
		// A corrupted checksum is caught at the end of the stream.
		good := compress(t, id, full)
		bad := bytes.Clone(good)
		switch id {
		case "zlib": // adler32 trailer
			bad[len(bad)-1] ^= 1
		case "gzip": // crc32 then size
			bad[len(bad)-8] ^= 1
		case "zstd": // no checksum written by default: skip
			bad = nil
		}
		if bad != nil {
			if _, err := readChunk(chunkFS(zc, map[string][]byte{"0.0": bad}), []int{0, 0}); err == nil {
				t.Errorf("%s: bad checksum accepted", id)
			}
		}
		if got, err := readChunk(chunkFS(zc, map[string][]byte{"0.0": good}), []int{0, 0}); err != nil || !bytes.Equal(got, full) {
			t.Errorf("%s good chunk: %x, %v", id, got, err)
		}
	}
}

// TestZstdWindowLimit feeds hand-made zstd frames (one raw block holding a
// 32-byte chunk) whose headers declare a given window.
func TestZstdWindowLimit(t *testing.T) {
	z := megatron("[3, 5]", "[2, 4]", `"<i4"`, "compressor", `{"id": "zstd", "level": 1}`)
	frame := func(windowLog byte) []byte {
		f := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, (windowLog - 10) << 3, 0x01, 0x01, 0x00}
		return append(f, bytes.Repeat([]byte{7}, 32)...)
	}
	got, err := readChunk(chunkFS(z, map[string][]byte{"0.0": frame(20)}), []int{0, 0})
	if err != nil || !bytes.Equal(got, bytes.Repeat([]byte{7}, 32)) {
		t.Fatalf("1 MiB window: %x, %v", got, err)
	}
	_, err = readChunk(chunkFS(z, map[string][]byte{"0.0": frame(40)}), []int{0, 0})
	if err == nil || !strings.Contains(err.Error(), "limit 8388608 bytes") || !strings.Contains(err.Error(), "arr/0.0") {
		t.Errorf("1 TiB window for a 32-byte chunk: %v", err)
	}
}

// liarFS reports every file as size bytes long.
type liarFS struct {
	fsys fs.FS
	size int64
}

func (l liarFS) Open(name string) (fs.File, error) {
	f, err := l.fsys.Open(name)
	if err != nil || strings.HasSuffix(name, ".zarray") {
		return f, err
	}
	return liarFile{f.(readerAtFile), l.size}, nil
}

type readerAtFile interface {
	fs.File
	io.ReaderAt
}

type liarFile struct {
	readerAtFile
	size int64
}

func (l liarFile) Stat() (fs.FileInfo, error) {
	fi, err := l.readerAtFile.Stat()
	return liarInfo{fi, l.size}, err
}

type liarInfo struct {
	fs.FileInfo
	size int64
}

func (l liarInfo) Size() int64 { return l.size }

// TestEdgeTrim checks the strided trim on a small hand-made array whose
// stored values are their own positions in the padded chunk.
func TestEdgeTrim(t *testing.T) {
	z := megatron("[3, 5, 3]", "[2, 4, 2]", `"|u1"`)
	chunk := make([]byte, 16)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	files := map[string][]byte{"1.1.1": chunk}
	// Chunk (1,1,1) covers [2:3, 4:5, 2:3]: one element at stored (0,0,0).
	for _, fsys := range []fs.FS{chunkFS(z, files), seqFS{chunkFS(z, files)}} {
		got, err := readChunk(fsys, []int{1, 1, 1})
		if err != nil || !bytes.Equal(got, []byte{0}) {
			t.Errorf("corner: %v, %v", got, err)
		}
	}
	// Chunk (0,1,0) covers [0:2, 4:5, 0:2]: stored (i, 0, k), i,k < 2.
	files = map[string][]byte{"0.1.0": chunk}
	for _, fsys := range []fs.FS{chunkFS(z, files), seqFS{chunkFS(z, files)}} {
		got, err := readChunk(fsys, []int{0, 1, 0})
		if want := []byte{0, 1, 8, 9}; err != nil || !bytes.Equal(got, want) {
			t.Errorf("middle edge: %v, %v; want %v", got, err, want)
		}
	}
	// Chunk (0,0,1) covers [0:2, 0:4, 2:3]: stored (i, j, 0).
	files = map[string][]byte{"0.0.1": chunk}
	for _, fsys := range []fs.FS{chunkFS(z, files), seqFS{chunkFS(z, files)}} {
		got, err := readChunk(fsys, []int{0, 0, 1})
		if want := []byte{0, 2, 4, 6, 8, 10, 12, 14}; err != nil || !bytes.Equal(got, want) {
			t.Errorf("last-dim edge: %v, %v; want %v", got, err, want)
		}
	}
}

func TestList(t *testing.T) {
	z := []byte(megatron("[2]", "[2]", `"<f4"`))
	fsys := fstest.MapFS{
		"ckpt/metadata.json":                    {},
		"ckpt/common.pt":                        {},
		"ckpt/a.weight/.zarray":                 {Data: z},
		"ckpt/a.weight/0":                       {},
		"ckpt/a.weight.sync/.zarray":            {Data: z},
		"ckpt/b/c.bias/.zarray":                 {Data: z},
		"ckpt/b/c.bias/0/0/.zarray":             {Data: z}, // inside an array: not walked
		"ckpt/obj/shard_0_1.pt":                 {},
		"ckpt/dir.zarray/.zarray/x":             {}, // .zarray is a directory: not an array
		"ckpt/locks.sync/nested.weight/.zarray": {Data: z},
	}
	got, err := List(fsys, "ckpt")
	if want := []string{"ckpt/a.weight", "ckpt/b/c.bias"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("List = %q, %v; want %q", got, err, want)
	}
	got, err = List(fsys, "ckpt/a.weight")
	if want := []string{"ckpt/a.weight"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("List(array) = %q, %v; want %q", got, err, want)
	}
	if _, err := List(fsys, "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List(missing): %v", err)
	}
}

func TestDTypeTorchNames(t *testing.T) {
	for dt, want := range map[DType]string{
		"bfloat16": "bfloat16", "<f4": "float32", "<f2": "float16", "<f8": "float64", "<i8": "int64",
		"<i4": "int32", "<i2": "int16", "|i1": "int8", "|u1": "uint8", "|b1": "bool",
		"<c8": "complex64", "<c16": "complex128", "<u2": "uint16",
	} {
		if got, err := dt.Torch(); got != want || err != nil {
			t.Errorf("%s: %q, %v; want %q", dt, got, err, want)
		}
	}
	if _, err := DType("|V2").Torch(); !errors.Is(err, ErrAmbiguousDType) {
		t.Errorf("|V2: %v", err)
	}
	if _, err := DType(">f4").Torch(); !errors.Is(err, ErrUnsupported) {
		t.Errorf(">f4: %v", err)
	}
	if n := DType("nope").ItemSize(); n != 0 {
		t.Errorf("unknown ItemSize %d", n)
	}
}

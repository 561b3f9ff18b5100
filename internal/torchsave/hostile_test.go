package torchsave

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// archiveWith writes an archive whose data.pkl is obj (pickled with
// internal/pickle, persistent ids included) and whose other records are
// given, in order.
func archiveWith(t testing.TB, obj any, records ...any) []byte {
	t.Helper()
	pkl, err := pickle.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := NewWriter(&b, "archive")
	if err := w.WriteRecord("data.pkl", bytes.NewReader(pkl), int64(len(pkl))); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(records); i += 2 {
		data := records[i+1].([]byte)
		if err := w.WriteRecord(records[i].(string), bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pid(class string, key any, numel any) pickle.PersID {
	return pickle.PersID{ID: pickle.Tuple{"storage", pickle.Global{Module: "torch", Name: class}, key, "cpu", numel}}
}

func rebuildV2(storage any, offset int64, shape, stride []int64) *pickle.Object {
	return &pickle.Object{Callable: globalRebuildV2, Args: pickle.Tuple{storage, offset, intsTuple(shape), intsTuple(stride), false, emptyHooks()}}
}

func wantErr(t *testing.T, what string, data []byte, substrs ...string) {
	t.Helper()
	_, err := Open(bytes.NewReader(data), int64(len(data)))
	if err == nil {
		t.Errorf("%s: Open succeeded", what)
		return
	}
	t.Logf("%s: %v", what, err)
	for _, s := range substrs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%s: error %q does not mention %q", what, err, s)
		}
	}
}

var version = []any{"version", []byte("3\n")}

func TestHostileArchives(t *testing.T) {
	eight := make([]byte, 8)
	good := rebuildV2(pid("FloatStorage", "0", int64(2)), 0, []int64{2}, []int64{1})
	if _, err := Open(bytes.NewReader(archiveWith(t, good, "data/0", eight, "version", []byte("3\n"))), 0); err == nil {
		t.Error("size 0 accepted")
	}
	ok := archiveWith(t, good, "data/0", eight, "version", []byte("3\n"))
	openBytes(t, ok) // the baseline opens

	wantErr(t, "missing version", archiveWith(t, good, "data/0", eight), "no version record")
	wantErr(t, "bad version", archiveWith(t, good, "data/0", eight, "version", []byte("x\n")), "version", "\"x\\n\"")
	wantErr(t, "bad byteorder", archiveWith(t, good, "byteorder", []byte("middle"), "data/0", eight, "version", []byte("3\n")), "byteorder", "middle")
	wantErr(t, "missing storage record", archiveWith(t, good, version...), "no record archive/data/0")
	wantErr(t, "storage record too short", archiveWith(t, good, "data/0", eight[:4], "version", []byte("3\n")),
		"archive/data/0 holds 4 bytes", "2 elements of float32")
	wantErr(t, "not a zip", []byte("PK\x03\x04 nonsense"), "zip")
	var only bytes.Buffer
	w := NewWriter(&only, "archive")
	w.WriteRecord("version", strings.NewReader("3\n"), 2)
	w.Close()
	wantErr(t, "no data.pkl", only.Bytes(), "no record archive/data.pkl")
	wantErr(t, "empty input", nil, "zip")

	// Persistent ids that are not storages.
	for name, id := range map[string]pickle.PersID{
		"short tuple":   {ID: pickle.Tuple{"storage", pickle.Global{Module: "torch", Name: "FloatStorage"}, "0"}},
		"not a tuple":   {ID: "storage"},
		"other kind":    {ID: pickle.Tuple{"module", pickle.Global{Module: "torch", Name: "FloatStorage"}, "0", "cpu", int64(2)}},
		"class string":  pid("FloatStorage", "0", int64(2)),
		"unknown class": pid("FancyStorage", "0", int64(2)),
		"int key":       pid("FloatStorage", int64(0), int64(2)),
		"negative":      pid("FloatStorage", "0", int64(-1)),
		"bool numel":    pid("FloatStorage", "0", true),
		"huge numel":    pid("FloatStorage", "0", int64(math.MaxInt64)),
		"wrong module":  {ID: pickle.Tuple{"storage", pickle.Global{Module: "os", Name: "FloatStorage"}, "0", "cpu", int64(2)}},
	} {
		if name == "class string" {
			id.ID.(pickle.Tuple)[1] = "torch.FloatStorage"
		}
		wantErr(t, name, archiveWith(t, rebuildV2(id, 0, []int64{2}, []int64{1}), "data/0", eight, "version", []byte("3\n")), "persistent")
	}

	// Views that reach past their storage are errors, not reads out of range.
	for name, v := range map[string]*pickle.Object{
		"offset":          rebuildV2(pid("FloatStorage", "0", int64(2)), 1, []int64{2}, []int64{1}),
		"stride":          rebuildV2(pid("FloatStorage", "0", int64(2)), 0, []int64{2}, []int64{2}),
		"shape":           rebuildV2(pid("FloatStorage", "0", int64(2)), 0, []int64{3}, []int64{1}),
		"2-d":             rebuildV2(pid("FloatStorage", "0", int64(2)), 0, []int64{2, 2}, []int64{1, 1}),
		"overflow":        rebuildV2(pid("FloatStorage", "0", int64(2)), 0, []int64{1 << 62, 4}, []int64{1, 1}),
		"stride overflow": rebuildV2(pid("FloatStorage", "0", int64(2)), 0, []int64{3}, []int64{math.MaxInt64}),
		"offset overflow": rebuildV2(pid("FloatStorage", "0", int64(2)), math.MaxInt64, []int64{1}, []int64{1}),
	} {
		wantErr(t, name, archiveWith(t, v, "data/0", eight, "version", []byte("3\n")), "_rebuild_tensor_v2", "storage 0")
	}
	for name, v := range map[string]*pickle.Object{
		"negative stride": rebuildV2(pid("FloatStorage", "0", int64(2)), 0, []int64{2}, []int64{-1}),
		"negative size":   rebuildV2(pid("FloatStorage", "0", int64(2)), 0, []int64{-2}, []int64{1}),
		"negative offset": rebuildV2(pid("FloatStorage", "0", int64(2)), -1, []int64{1}, []int64{1}),
		"dims mismatch":   rebuildV2(pid("FloatStorage", "0", int64(2)), 0, []int64{1, 1}, []int64{1}),
		"bool offset":     {Callable: globalRebuildV2, Args: pickle.Tuple{pid("FloatStorage", "0", int64(2)), true, pickle.Tuple{}, pickle.Tuple{}, false, nil}},
		"few args":        {Callable: globalRebuildV2, Args: pickle.Tuple{pid("FloatStorage", "0", int64(2)), int64(0)}},
		"no storage":      {Callable: globalRebuildV2, Args: pickle.Tuple{"x", int64(0), pickle.Tuple{}, pickle.Tuple{}, false, nil}},
		"v3 bad dtype":    {Callable: globalRebuildV3, Args: pickle.Tuple{pid("UntypedStorage", "0", int64(8)), int64(0), pickle.Tuple{}, pickle.Tuple{}, false, nil, pickle.Global{Module: "torch", Name: "float128"}}},
		"param of int":    {Callable: globalRebuildParam, Args: pickle.Tuple{int64(1), false, nil}},
	} {
		wantErr(t, name, archiveWith(t, v, "data/0", eight, "version", []byte("3\n")), "_rebuild_")
	}

	// Tensor data must be stored, not compressed.
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	pkl, _ := pickle.Marshal(good)
	for _, r := range []struct {
		name   string
		data   []byte
		method uint16
	}{{"archive/data.pkl", pkl, zip.Store}, {"archive/data/0", eight, zip.Deflate}, {"archive/version", []byte("3\n"), zip.Store}} {
		f, _ := zw.CreateHeader(&zip.FileHeader{Name: r.name, Method: r.method})
		f.Write(r.data)
	}
	zw.Close()
	wantErr(t, "compressed storage", b.Bytes(), "archive/data/0", "compressed")

	// data.pkl over the cap is refused before it is read.
	big := archiveWith(t, good, "data/0", eight, "version", []byte("3\n"))
	if _, err := (OpenOptions{MaxPickleSize: 16}).Open(bytes.NewReader(big), int64(len(big))); err == nil ||
		!strings.Contains(err.Error(), "archive/data.pkl") || !strings.Contains(err.Error(), "more than the 16 allowed") {
		t.Errorf("small cap: %v", err)
	}
	// A directory that claims a 300 MiB data.pkl: the default cap refuses
	// it without allocating.
	claim := bytes.Clone(big)
	cd := bytes.Index(claim, []byte("PK\x01\x02"))
	binary.LittleEndian.PutUint32(claim[cd+20:], 300<<20)
	binary.LittleEndian.PutUint32(claim[cd+24:], 300<<20)
	wantErr(t, "300 MiB data.pkl", claim, "archive/data.pkl", "more than")
}

// TestTruncated cuts real archives at every length: each cut must fail
// cleanly.
func TestTruncated(t *testing.T) {
	for _, f := range []string{"testdata/tensor_bf16.pt", "testdata/state_dict.pt"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(data); n++ {
			if _, err := Open(bytes.NewReader(data[:n]), int64(n)); err == nil {
				t.Errorf("%s cut to %d bytes opened", f, n)
			}
		}
	}
}

// TestBigEndian reads an archive whose byteorder record says "big": the
// elements come out little-endian, complex numbers swapped per half, and
// DataRange refuses multi-byte elements.
func TestBigEndian(t *testing.T) {
	// float32 [1, 2.5] and complex64 [1+2.5j] as a big-endian machine writes them.
	be := []byte{0x3f, 0x80, 0, 0, 0x40, 0x20, 0, 0}
	le := []byte{0, 0, 0x80, 0x3f, 0, 0, 0x20, 0x40}
	obj := &pickle.List{Items: []any{
		rebuildV2(pid("FloatStorage", "0", int64(2)), 0, []int64{2}, []int64{1}),
		rebuildV2(pid("ComplexFloatStorage", "1", int64(1)), 0, []int64{1}, []int64{1}),
		rebuildV2(pid("FloatStorage", "0", int64(2)), 0, []int64{2}, []int64{0}), // expanded: not contiguous
		rebuildV2(pid("ByteStorage", "2", int64(2)), 0, []int64{2}, []int64{1}),
	}}
	data := archiveWith(t, obj, "byteorder", []byte("big"), "data/0", be, "data/1", be, "data/2", []byte{1, 2}, "version", []byte("3\n"))
	a := openBytes(t, data)
	if !a.BigEndian {
		t.Fatal("byteorder big not seen")
	}
	ts := a.Tensors()
	want := [][]byte{le, le, append(le[:4:4], le[:4]...), {1, 2}}
	for i, tt := range ts {
		got, err := io.ReadAll(tt.Reader())
		if err != nil || !bytes.Equal(got, want[i]) {
			t.Errorf("tensor %d: %x, %v; want %x", i, got, err, want[i])
		}
		_, _, err = tt.DataRange()
		if i < 3 && err == nil {
			t.Errorf("tensor %d: DataRange of big-endian data succeeded", i)
		}
		if i == 0 && !errors.Is(err, ErrBigEndian) {
			t.Errorf("tensor 0: %v, want ErrBigEndian", err)
		}
		if i == 3 && err != nil {
			t.Errorf("bytes need no swapping: %v", err)
		}
	}
}

// TestWriterErrors covers what the writer refuses.
func TestWriterErrors(t *testing.T) {
	var b bytes.Buffer
	if _, err := WriteTensor(&b, TensorSpec{DType: Float32, Shape: []int64{4}}, bytes.NewReader(make([]byte, 10))); err == nil ||
		!strings.Contains(err.Error(), "archive/data/0") || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short data: %v", err)
	}
	if _, err := WriteTensor(&b, TensorSpec{DType: Float32, Shape: []int64{2, 2}, Stride: []int64{1, 2}}, bytes.NewReader(make([]byte, 16))); err == nil {
		t.Error("non-contiguous WriteTensor accepted")
	}
	if _, err := WriteTensor(&b, TensorSpec{DType: "float128", Shape: []int64{1}}, bytes.NewReader(make([]byte, 16))); err == nil {
		t.Error("unknown dtype accepted")
	}
	src := &TensorSource{TensorSpec: TensorSpec{DType: Int8, Shape: []int64{2}, Stride: []int64{3}, StorageNumel: 2}, Data: bytes.NewReader(nil)}
	if _, err := Save(&b, src); err == nil || !strings.Contains(err.Error(), "too small") {
		t.Errorf("storage too small for view: %v", err)
	}
	if _, err := Save(&b, TensorSource{}); err == nil {
		t.Error("TensorSource by value accepted")
	}
	cyc := &pickle.List{}
	cyc.Items = []any{cyc}
	if _, err := Save(&b, cyc); err == nil {
		t.Error("cycle accepted")
	}
	w := NewWriter(&b, "archive")
	w.WriteRecord("x", strings.NewReader("a"), 1)
	if err := w.WriteRecord("x", strings.NewReader("a"), 1); err == nil {
		t.Error("duplicate record accepted")
	}
	if err := w.WriteRecord("/abs", strings.NewReader("a"), 1); err == nil {
		t.Error("absolute record name accepted")
	}
}

// TestZeroCRCs opens real archives whose CRCs are all 0, as torch writes
// them with compute_crc32=False, and refuses a data.pkl whose real CRC
// disagrees with the directory.
func TestZeroCRCs(t *testing.T) {
	data := mustRead(t, "testdata/state_dict.pt")
	a := openBytes(t, withoutCRCs(t, data))
	if err := a.Verify(); err != nil || len(a.Tensors()) != 7 {
		t.Errorf("Verify: %v; %d tensors", err, len(a.Tensors()))
	}
	bad := bytes.Clone(data)
	bad[64+40] ^= 1 // inside data.pkl, which starts at 64
	wantErr(t, "corrupt data.pkl", bad, "archive/data.pkl", "CRC-32")
	bad = bytes.Clone(data)
	off, _, _ := openBytes(t, data).Tensors()[0].DataRange()
	bad[off] ^= 1
	if err := openBytes(t, bad).Verify(); err == nil || !strings.Contains(err.Error(), "CRC-32") {
		t.Errorf("Verify of corrupt tensor data: %v", err)
	}
}

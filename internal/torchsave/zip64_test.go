package torchsave

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// sparseWriter writes to a file, skipping runs of zeros with a seek so
// that multi-gigabyte test archives cost no disk.
type sparseWriter struct {
	f   *os.File
	off int64
}

func (s *sparseWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), 64<<10)
		chunk := p[:k]
		if isZero(chunk) {
			if _, err := s.f.Seek(int64(k), io.SeekCurrent); err != nil {
				return n - len(p), err
			}
		} else if _, err := s.f.Write(chunk); err != nil {
			return n - len(p), err
		}
		s.off += int64(k)
		p = p[k:]
	}
	return n, nil
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestZip64 writes an archive whose first storage is 0xFFFFFFFF bytes
// (where miniz switches to zip64 sizes) and whose second storage's header
// lies past 4 GiB (zip64 offset), into a sparse file, and checks the bytes
// of both records, Go's reader and Python's zipfile.
func TestZip64(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 4 GiB sparse file")
	}
	path := filepath.Join(t.TempDir(), "big.pt")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const bigSize = 0xFFFFFFFF
	big := &TensorSource{TensorSpec: TensorSpec{DType: Uint8, Shape: []int64{bigSize}}, Data: zeros{}}
	small := &TensorSource{TensorSpec: TensorSpec{DType: Int8, Shape: []int64{3}}, Data: strings.NewReader("abc")}
	n, err := Save(&sparseWriter{f: f}, &pickle.List{Items: []any{big, small}})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := f.Stat(); st.Size() != n {
		t.Fatalf("file is %d bytes, Save reported %d", st.Size(), n)
	}
	a, err := Open(f, n)
	if err != nil {
		t.Fatal(err)
	}
	ts := a.Tensors()
	if len(ts) != 2 {
		t.Fatalf("%d tensors", len(ts))
	}
	off0, n0, err := ts[0].DataRange()
	if err != nil || n0 != bigSize || off0%64 != 0 {
		t.Fatalf("big tensor at %d+%d: %v", off0, n0, err)
	}
	off1, n1, err := ts[1].DataRange()
	if err != nil || n1 != 3 || off1%64 != 0 || off1 < 1<<32 {
		t.Fatalf("small tensor at %d+%d: %v", off1, n1, err)
	}
	got, _ := io.ReadAll(ts[1].Reader())
	if string(got) != "abc" {
		t.Errorf("small tensor reads %q", got)
	}
	read := func(off int64, n int) []byte {
		b := make([]byte, n)
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Each record's data descriptor holds 64-bit sizes once it needs zip64.
	for i, r := range []struct{ off, n int64 }{{off0, n0}, {off1, n1}} {
		d := read(r.off+r.n, 24)
		if binary.LittleEndian.Uint32(d) != sigDescriptor || binary.LittleEndian.Uint64(d[8:]) != uint64(r.n) || binary.LittleEndian.Uint64(d[16:]) != uint64(r.n) {
			t.Errorf("record %d: descriptor %x", i, d)
		}
	}
	out := runTorch(t, `
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[2])
res = {i.filename: [i.file_size, i.header_offset] for i in z.infolist()}
res["small"] = z.read("archive/data/1").hex()
json.dump(res, sys.stdout)
`, path)
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	if res["small"] != "616263" {
		t.Errorf("Python reads %v", res["small"])
	}
	if sz := res["archive/data/0"].([]any); sz[0] != float64(bigSize) {
		t.Errorf("Python sees data/0 as %v", sz)
	}
	// Local headers: a zip64 field first (sizes, with compressed size 0 as
	// miniz writes it before compressing; or the header offset), then the
	// FB padding.
	for name, want := range map[string][]uint64{"archive/data/0": {bigSize, 0}, "archive/data/1": nil} {
		hdrOff := int64(res[name].([]any)[1].(float64))
		if name == "archive/data/1" {
			want = []uint64{uint64(hdrOff)}
		}
		h := read(hdrOff, 30+len(name)+4+8*len(want))
		extra := h[30+len(name):]
		if binary.LittleEndian.Uint16(h[28:]) < uint16(4+8*len(want)+4) || binary.LittleEndian.Uint16(extra) != 1 || int(binary.LittleEndian.Uint16(extra[2:])) != 8*len(want) {
			t.Errorf("%s: local header %x", name, h)
			continue
		}
		for i, w := range want {
			if v := binary.LittleEndian.Uint64(extra[4+8*i:]); v != w {
				t.Errorf("%s: zip64 field %d is %d, want %d", name, i, v, w)
			}
		}
	}
	if sz := res["archive/data/1"].([]any); sz[1].(float64) < 1<<32 {
		t.Errorf("Python sees data/1 at %v", sz)
	}
}

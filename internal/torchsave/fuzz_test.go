package torchsave

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/membudget"
	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// FuzzOpen feeds arbitrary bytes to the zip and pickle reader, seeded with
// real torch.save archives from testdata, each also with its CRCs zeroed
// (as torch >= 2.5 writes them with compute_crc32=False) so that mutations
// of data.pkl get past the zip checksum. Open must never panic; whatever
// opens must only describe bytes inside the input, and every tensor must
// read in full. Saving what was read must not panic either, and a saved
// archive that reopens must hold the same tensor bytes.
func FuzzOpen(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.pt")
	if len(seeds) == 0 {
		f.Fatal("no seed archives in testdata")
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(withoutCRCs(f, data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer membudget.Check(t, len(data))()
		a, err := OpenOptions{MaxPickleSize: 1 << 20}.Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		size := int64(len(data))
		for _, s := range a.Storages() {
			if s.Offset < 0 || s.Size < 0 || s.Offset+s.Size > size {
				t.Fatalf("storage %s at %d+%d outside %d bytes", s.Key, s.Offset, s.Size, size)
			}
		}
		var total int64
		var contents [][]byte
		for _, tt := range a.Tensors() {
			total += tt.NumBytes()
			if tt.NumBytes() > 1<<20 || total > 4<<20 {
				return // a view may legitimately repeat a small storage many times
			}
			var b bytes.Buffer
			n, err := tt.WriteTo(&b)
			if err != nil || n != tt.NumBytes() {
				t.Fatalf("tensor %s%v: read %d of %d bytes: %v", tt.DType, tt.Shape, n, tt.NumBytes(), err)
			}
			contents = append(contents, b.Bytes())
			if off, n, err := tt.DataRange(); err == nil && (off < 0 || off+n > size) {
				t.Fatalf("DataRange %d+%d outside %d bytes", off, n, size)
			}
		}
		_ = a.Verify()
		var out bytes.Buffer
		if _, err := Save(&out, a.Object); err != nil {
			return
		}
		b, err := Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			return // e.g. a global name that protocol 2 cannot spell
		}
		again := b.Tensors()
		if len(again) != len(contents) {
			return // tensors nested in values the walk reaches differently
		}
		for i, tt := range again {
			got, err := io.ReadAll(tt.Reader())
			if err != nil || !bytes.Equal(got, contents[i]) {
				t.Fatalf("tensor %d changed after Save: %v", i, err)
			}
		}
	})
}

// withoutCRCs returns a copy of an archive with every CRC-32 zeroed: in the
// data descriptors and in the central directory.
func withoutCRCs(f testing.TB, data []byte) []byte {
	out := bytes.Clone(data)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		f.Fatal(err)
	}
	for _, zf := range zr.File {
		off, err := zf.DataOffset()
		if err != nil {
			f.Fatal(err)
		}
		d := off + int64(zf.CompressedSize64)
		if zf.Flags&flagDescriptor != 0 && binary.LittleEndian.Uint32(out[d:]) == sigDescriptor {
			clear(out[d+4 : d+8])
		}
	}
	eocd64 := bytes.LastIndex(out, []byte("PK\x06\x06"))
	if eocd64 < 0 {
		f.Fatal("no zip64 end record")
	}
	p := int(binary.LittleEndian.Uint64(out[eocd64+48:]))
	for range zr.File {
		if binary.LittleEndian.Uint32(out[p:]) != sigCentral {
			f.Fatalf("no central header at %d", p)
		}
		clear(out[p+16 : p+20])
		p += 46 + int(binary.LittleEndian.Uint16(out[p+28:])) + int(binary.LittleEndian.Uint16(out[p+30:])) + int(binary.LittleEndian.Uint16(out[p+32:]))
	}
	if _, err := Open(bytes.NewReader(out), int64(len(out))); err != nil {
		f.Fatalf("seed without CRCs: %v", err)
	}
	return out
}

// FuzzLoadPlain feeds arbitrary bytes to the plain-pickle reader (TE's
// extra-state tensors), seeded with real pickles from torch. It must never
// panic; every tensor it returns must read within its storage, and what
// reads must pickle again and load back with the same bytes.
func FuzzLoadPlain(f *testing.F) {
	for _, s := range []string{"testdata/plain_fp8.pkl", "testdata/plain_none.pkl"} {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer membudget.Check(t, len(data))()
		v, err := LoadPlain(data)
		if err != nil {
			return
		}
		var want [][]byte
		collect := func(v any) {
			tree := []any{v}
			for len(tree) > 0 {
				x := tree[len(tree)-1]
				tree = tree[:len(tree)-1]
				if tn, ok := x.(*Tensor); ok {
					var b bytes.Buffer
					if _, err := tn.WriteTo(&b); err == nil {
						want = append(want, b.Bytes())
					}
				}
				if d, ok := x.(*pickle.Dict); ok && len(tree) < 1000 {
					for _, it := range d.Items {
						tree = append(tree, it.Value)
					}
				}
			}
		}
		collect(v)
		out, err := PlainPickle(v)
		if err != nil {
			return
		}
		back, err := LoadPlain(out)
		if err != nil {
			t.Fatalf("LoadPlain of PlainPickle's output: %v", err)
		}
		got := want
		want = nil
		collect(back)
		if len(got) != len(want) {
			t.Fatalf("round trip: %d tensors read, %d after", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("round trip changed tensor %d", i)
			}
		}
	})
}

package torchsave

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkWriteTensor64MiB writes a 64 MiB bf16 tensor archive from a
// reader, CRC included.
func BenchmarkWriteTensor64MiB(b *testing.B) {
	const n = 64 << 20
	data := randBytes(1, n)
	spec := TensorSpec{DType: BFloat16, Shape: []int64{8192, n / 2 / 8192}}
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := WriteTensor(io.Discard, spec, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadTransposed gathers transposed float32 views from a file:
// 4 MiB (its span is read in one piece) and 16 MiB (read element by
// element, one ReadAt each).
func BenchmarkReadTransposed(b *testing.B) {
	b.Run("4MiB", func(b *testing.B) { benchTransposed(b, 1024, 1024) })
	b.Run("16MiB", func(b *testing.B) { benchTransposed(b, 2048, 2048) })
}

func benchTransposed(b *testing.B, rows, cols int64) {
	var buf bytes.Buffer
	src := &TensorSource{TensorSpec: TensorSpec{DType: Float32, Shape: []int64{cols, rows}, Stride: []int64{1, cols}},
		Data: bytes.NewReader(randBytes(2, int(rows*cols*4)))}
	if _, err := Save(&buf, src); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "t.pt")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	a, err := Open(f, int64(buf.Len()))
	if err != nil {
		b.Fatal(err)
	}
	t, _ := a.Tensor()
	b.SetBytes(t.NumBytes())
	for b.Loop() {
		if _, err := t.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

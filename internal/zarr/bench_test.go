package zarr

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkChunk streams one 32 MiB uncompressed chunk from an os.DirFS:
// whole (the file as is) and edge (trimmed row by row: 4096 rows of
// 8000 of 8192 bytes), to a plain writer (user-space copy) and to a file
// (ReadFrom, copy_file_range for a whole chunk).
func BenchmarkChunk(b *testing.B) {
	dir := b.TempDir()
	const rows, cols = 4096, 2048 // float32: 32 MiB per chunk
	chunk := make([]byte, rows*cols*4)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	for name, shape := range map[string]string{"whole": "[4096, 2048]", "edge": "[4096, 2000]"} {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		z := megatron(shape, "[4096, 2048]", `"<f4"`)
		if err := os.WriteFile(filepath.Join(d, ".zarray"), []byte(z), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "0.0"), chunk, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	fsys := os.DirFS(dir)
	out, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	for _, name := range []string{"whole", "edge"} {
		a, err := Open(fsys, name)
		if err != nil {
			b.Fatal(err)
		}
		c, err := a.Chunk([]int{0, 0})
		if err != nil {
			b.Fatal(err)
		}
		sinks := []struct {
			name  string
			sink  func() io.Writer
			reset func()
		}{
			{"Writer", func() io.Writer { return writeOnly{} }, func() {}},
			{"File", func() io.Writer { return out }, func() {
				if _, err := out.Seek(0, io.SeekStart); err != nil {
					b.Fatal(err)
				}
			}},
		}
		for _, s := range sinks {
			b.Run(name+"/"+s.name, func(b *testing.B) {
				b.SetBytes(c.Size())
				for b.Loop() {
					s.reset()
					n, err := c.WriteTo(s.sink())
					if err != nil || n != c.Size() {
						b.Fatalf("WriteTo = %d, %v", n, err)
					}
				}
			})
		}
	}
}

// writeOnly is an io.Writer with no ReadFrom that drops its input.
type writeOnly struct{}

func (writeOnly) Write(p []byte) (int, error) { return len(p), nil }

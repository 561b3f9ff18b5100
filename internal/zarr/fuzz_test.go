package zarr

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/nemo-migrate/nemo-migrate/internal/membudget"
)

type seed struct {
	name          string
	zarray, chunk []byte
}

func seeds(tb testing.TB) []seed {
	files, _ := filepath.Glob("testdata/*.zarray")
	if len(files) == 0 {
		tb.Fatal("no seed .zarray files in testdata")
	}
	var out []seed
	for _, f := range files {
		z, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		c, err := os.ReadFile(strings.TrimSuffix(f, ".zarray") + ".chunk0")
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, seed{filepath.Base(f), z, c})
	}
	return out
}

// FuzzMetadata feeds arbitrary bytes to the .zarray parser, seeded with
// files real zarr wrote. Parsing must never panic; whatever parses must
// survive a JSON round trip unchanged, and its chunk addressing must stay
// inside the array.
func FuzzMetadata(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s.zarray)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer membudget.Check(t, len(data))()
		m, err := ParseMetadata(data)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("parsed metadata does not validate: %v", err)
		}
		if m.ItemSize() <= 0 || m.NumChunks() > MaxChunks || m.ChunkBytes() <= 0 {
			t.Fatalf("item %d, %d chunks, chunk bytes %d", m.ItemSize(), m.NumChunks(), m.ChunkBytes())
		}
		_, _ = m.DType.Torch()
		_, _ = m.FillBytes()

		// Without HTML escaping, so raw fill values ("&") come back as written.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(m); err != nil {
			t.Fatalf("marshal: %v", err)
		}
		out := buf.Bytes()
		m2, err := ParseMetadata(out)
		if err != nil {
			t.Fatalf("re-parsing %s: %v", out, err)
		}
		if m.Compressor != nil {
			m.Compressor.Config, m2.Compressor.Config = nil, nil
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed metadata:\n%+v\n%+v", m, m2)
		}

		if m.NumChunks() == 0 {
			return
		}
		grid := m.Grid()
		first, last := make([]int, len(grid)), make([]int, len(grid))
		for d, g := range grid {
			last[d] = g - 1
		}
		for _, idx := range [][]int{first, last} {
			key, err := m.ChunkKey(idx)
			if err != nil || key == "" {
				t.Fatalf("ChunkKey(%v) = %q, %v", idx, key, err)
			}
			off, shape, err := m.ChunkRegion(idx)
			if err != nil {
				t.Fatalf("ChunkRegion(%v): %v", idx, err)
			}
			for d := range off {
				if off[d] < 0 || shape[d] <= 0 || shape[d] > m.Chunks[d] || off[d]+shape[d] > m.Shape[d] {
					t.Fatalf("chunk %v region %v+%v outside shape %v", idx, off, shape, m.Shape)
				}
			}
		}
	})
}

// maxFuzzChunk bounds the chunk size the chunk fuzzer reads, so that a
// fill_value cannot make it produce gigabytes.
const maxFuzzChunk = 1 << 20

// FuzzChunk reads chunks of arbitrary arrays from arbitrary bytes, through
// both access paths: no panic, and every chunk that reads yields exactly
// Size() bytes, the same through Open and WriteTo.
func FuzzChunk(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s.zarray, s.chunk, false)
		f.Add(s.zarray, s.chunk, true)
		if len(s.chunk) > 1 {
			f.Add(s.zarray, s.chunk[:len(s.chunk)-1], true)
		}
	}
	f.Fuzz(func(t *testing.T, zarray, chunk []byte, sequential bool) {
		defer membudget.Check(t, len(zarray)+len(chunk))()
		m, err := ParseMetadata(zarray)
		if err != nil || m.ChunkBytes() > maxFuzzChunk {
			return
		}
		// The data goes in the first chunk and a shifted copy in the last;
		// the chunks between are missing.
		mapFS := fstest.MapFS{"a/.zarray": {Data: zarray}}
		if first, err := m.ChunkKey(make([]int, len(m.Shape))); err == nil {
			mapFS["a/"+first] = &fstest.MapFile{Data: chunk}
		}
		var lastIdx []int
		if m.NumChunks() > 1 {
			g := m.Grid()
			lastIdx = make([]int, len(g))
			for d := range g {
				lastIdx[d] = g[d] - 1
			}
			last, _ := m.ChunkKey(lastIdx)
			if fs.ValidPath("a/" + last) {
				mapFS["a/"+last] = &fstest.MapFile{Data: chunk[min(1, len(chunk)):]}
			}
		}
		var fsys fs.FS = mapFS
		if sequential {
			fsys = seqFS{mapFS}
		}
		a, err := Open(fsys, "a")
		if err != nil {
			t.Fatalf("Open after ParseMetadata succeeded: %v", err)
		}
		check := func(idx []int) {
			c, err := a.Chunk(idx)
			if err != nil {
				t.Fatalf("Chunk(%v): %v", idx, err)
			}
			var viaWriteTo bytes.Buffer
			_, werr := c.WriteTo(struct{ io.Writer }{&viaWriteTo})
			viaOpen, oerr := readAll(c)
			if (werr == nil) != (oerr == nil) {
				t.Fatalf("chunk %v: WriteTo error %v, Open error %v", idx, werr, oerr)
			}
			if werr != nil {
				if errors.Is(werr, fs.ErrNotExist) && !strings.Contains(werr.Error(), c.Key) {
					t.Fatalf("missing-chunk error %q does not name %q", werr, c.Key)
				}
				return
			}
			if int64(viaWriteTo.Len()) != c.Size() || !bytes.Equal(viaWriteTo.Bytes(), viaOpen) {
				t.Fatalf("chunk %v: WriteTo %d bytes, Open %d bytes, Size %d", idx, viaWriteTo.Len(), len(viaOpen), c.Size())
			}
		}
		// The first chunks from the walk, and the last one; a grid of
		// millions of chunks is walked only as far as that needs.
		n := 0
		for idx := range a.ChunkIndexes() {
			n++
			switch {
			case n <= 3 || slices.Equal(idx, lastIdx):
				check(idx)
			case m.NumChunks() > 1<<12:
				if lastIdx != nil {
					check(lastIdx)
				}
				return
			}
		}
	})
}

func readAll(c *Chunk) ([]byte, error) {
	r, err := c.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

package zarr

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"path"
	"strings"
)

// Array is a zarr v2 array stored in a directory of an fs.FS.
type Array struct {
	Metadata // the parsed .zarray

	fsys    fs.FS
	dir     string
	fill    []byte // one element of fill_value; nil for null
	fillErr error  // why fill_value cannot be encoded, reported when needed
}

// Open reads and validates dir/.zarray in fsys. Chunks are read later, on
// demand, from the same fsys; files that implement io.ReaderAt are read at
// offsets, others sequentially.
func Open(fsys fs.FS, dir string) (*Array, error) {
	if !fs.ValidPath(dir) {
		return nil, fmt.Errorf("zarr: open %q: invalid path", dir)
	}
	data, err := readMetadataFile(fsys, path.Join(dir, ".zarray"))
	if err != nil {
		return nil, fmt.Errorf("zarr: array %q: %w", dir, err)
	}
	m, err := parseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("zarr: array %q: .zarray: %w", dir, err)
	}
	a := &Array{Metadata: *m, fsys: fsys, dir: dir}
	a.fill, a.fillErr = m.FillBytes()
	return a, nil
}

func readMetadataFile(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > MaxMetadataSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, MaxMetadataSize)
	}
	return data, nil
}

// Dir returns the array's directory in its fs.FS.
func (a *Array) Dir() string { return a.dir }

// Chunk returns the chunk at grid index idx (one index per dimension; none
// for a 0-d array). It does no I/O.
func (a *Array) Chunk(idx []int) (*Chunk, error) {
	offset, shape, err := a.ChunkRegion(idx)
	if err != nil {
		return nil, fmt.Errorf("zarr: array %q: %w", a.dir, err)
	}
	c := &Chunk{
		Index:  append([]int(nil), idx...),
		Key:    a.key(idx),
		Offset: offset,
		Shape:  shape,
		a:      a,
	}
	for d := range shape {
		if shape[d] != a.Chunks[d] {
			c.Edge = true
		}
	}
	return c, nil
}

// ChunkIndexes yields every grid index in C order (the last dimension
// varies fastest). Each yielded slice is fresh.
func (a *Array) ChunkIndexes() iter.Seq[[]int] {
	return func(yield func([]int) bool) {
		grid := a.Grid()
		for _, g := range grid {
			if g == 0 {
				return
			}
		}
		idx := make([]int, len(grid))
		for {
			if !yield(append([]int(nil), idx...)) {
				return
			}
			d := len(idx) - 1
			for ; d >= 0; d-- {
				if idx[d]++; idx[d] < grid[d] {
					break
				}
				idx[d] = 0
			}
			if d < 0 {
				return
			}
		}
	}
}

// List returns, in lexical order, every directory at or below root in fsys
// that holds a .zarray file, skipping directories whose names end in ".sync"
// (the lock directories Megatron-Core's zarr writer leaves for flattened
// tensors). It does not descend into arrays. Megatron-Core itself looks only
// at the immediate subdirectories of a checkpoint; the walk finds those and
// any nested under keys containing "/".
func List(fsys fs.FS, root string) ([]string, error) {
	var dirs []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if p != root && strings.HasSuffix(d.Name(), ".sync") {
			return fs.SkipDir
		}
		fi, err := fs.Stat(fsys, path.Join(p, ".zarray"))
		switch {
		case err == nil && !fi.IsDir():
			dirs = append(dirs, p)
			return fs.SkipDir
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("zarr: list arrays under %q: %w", root, err)
	}
	return dirs, nil
}

package distckpt

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// OpenRowMajor returns the whole tensor's elements in row-major order, as
// one contiguous tensor would hold them, whatever its chunk grid: rows of
// the last dimension are gathered from the chunks that hold their pieces.
// Each chunk is read once, front to back, and is open only while its rows
// are being read, so memory stays small for any tensor size. It needs the
// chunks to form a grid in every dimension but the last (as Megatron's
// regular shardings do) and to tile the tensor.
func (t *Tensor) OpenRowMajor() (io.ReadCloser, error) {
	rank := len(t.Shape)
	if rank == 0 {
		if len(t.Chunks) != 1 {
			return nil, fmt.Errorf("%s: a scalar stored in %d chunks", t.Key, len(t.Chunks))
		}
		return t.Chunks[0].Open()
	}
	r := &rowReader{t: t, item: t.DType.ItemSize(), rows: 1}
	lead := rank - 1
	r.cuts = make([][]int64, lead)
	for d := 0; d < lead; d++ {
		cuts := []int64{0, t.Shape[d]}
		for _, c := range t.Chunks {
			cuts = append(cuts, c.Offsets[d])
		}
		slices.Sort(cuts)
		r.cuts[d] = slices.Compact(cuts)
		r.rows *= t.Shape[d]
	}
	r.groups = map[string][]*openChunk{}
	for _, c := range t.Chunks {
		cell := make([]int, lead)
		for d := 0; d < lead; d++ {
			i, _ := slices.BinarySearch(r.cuts[d], c.Offsets[d])
			if i+1 >= len(r.cuts[d]) || r.cuts[d][i+1] != c.Offsets[d]+c.Sizes[d] {
				return nil, fmt.Errorf("%s: chunk at %v does not fall on the chunk grid of dimension %d; cannot stream it in row-major order", t.Key, c.Offsets, d)
			}
			cell[d] = i
		}
		k := cellKey(cell)
		r.groups[k] = append(r.groups[k], &openChunk{c: c})
	}
	last := rank - 1
	for k, g := range r.groups {
		slices.SortFunc(g, func(a, b *openChunk) int { return int(a.c.Offsets[last] - b.c.Offsets[last]) })
		var at int64
		for _, oc := range g {
			if oc.c.Offsets[last] != at {
				return nil, fmt.Errorf("%s: the chunks of grid cell %s do not tile the last dimension (gap or overlap at %d)", t.Key, k, at)
			}
			at += oc.c.Sizes[last]
		}
		if at != t.Shape[last] {
			return nil, fmt.Errorf("%s: the chunks of grid cell %s cover %d of %d in the last dimension", t.Key, k, at, t.Shape[last])
		}
	}
	r.idx = make([]int64, lead)
	r.cell = make([]int, lead)
	if t.NumBytes() == 0 {
		r.row = r.rows // nothing to read
	}
	return r, nil
}

func cellKey(cell []int) string {
	parts := make([]string, len(cell))
	for i, c := range cell {
		parts[i] = strconv.Itoa(c)
	}
	return strings.Join(parts, ",")
}

type openChunk struct {
	c    *Chunk
	rc   io.ReadCloser
	br   *bufio.Reader
	left int64 // bytes not yet read; 0 before opening
	done bool
}

type rowReader struct {
	t      *Tensor
	item   int64
	cuts   [][]int64
	groups map[string][]*openChunk
	rows   int64   // rows of the last dimension in the tensor
	row    int64   // rows emitted so far
	idx    []int64 // leading index of the current row
	cell   []int   // grid cell of idx
	cur    []*openChunk
	piece  int   // which chunk of cur is being read
	inRow  int64 // bytes of the current piece already read
	err    error
}

func (r *rowReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n := 0
	for n < len(p) {
		if r.row >= r.rows {
			if n > 0 {
				return n, nil
			}
			return 0, io.EOF
		}
		if r.cur == nil {
			r.cur = r.groups[cellKey(r.cell)]
			r.piece, r.inRow = 0, 0
			if len(r.cur) == 0 {
				r.err = fmt.Errorf("%s: no chunk covers the rows at %v", r.t.Key, r.idx)
				return n, r.err
			}
		}
		oc := r.cur[r.piece]
		if oc.br == nil {
			if oc.done {
				r.err = fmt.Errorf("%s: chunk at %v read past its end", r.t.Key, oc.c.Offsets)
				return n, r.err
			}
			rc, err := oc.c.Open()
			if err != nil {
				r.err = err
				return n, err
			}
			oc.rc, oc.br, oc.left = rc, bufio.NewReaderSize(rc, 64<<10), oc.c.NumBytes()
		}
		rowBytes := oc.c.Sizes[len(oc.c.Sizes)-1] * r.item
		want := min(int64(len(p)-n), rowBytes-r.inRow)
		m, err := io.ReadFull(oc.br, p[n:n+int(want)])
		n += m
		r.inRow += int64(m)
		oc.left -= int64(m)
		if err != nil {
			r.err = fmt.Errorf("%s: chunk at %v: %w", r.t.Key, oc.c.Offsets, err)
			return n, r.err
		}
		if r.inRow < rowBytes {
			continue
		}
		// This chunk's piece of the row is done.
		if oc.left == 0 {
			oc.rc.Close()
			oc.rc, oc.br, oc.done = nil, nil, true
		}
		r.piece++
		r.inRow = 0
		if r.piece < len(r.cur) {
			continue
		}
		r.advance()
	}
	return n, nil
}

// advance moves to the next row in row-major order.
func (r *rowReader) advance() {
	r.row++
	r.piece = 0
	for d := len(r.idx) - 1; d >= 0; d-- {
		r.idx[d]++
		if r.idx[d] < r.t.Shape[d] {
			if r.idx[d] == r.cuts[d][r.cell[d]+1] {
				r.cell[d]++
				r.cur = nil
			}
			return
		}
		r.idx[d], r.cell[d] = 0, 0
		r.cur = nil
	}
}

// Close releases every chunk still open.
func (r *rowReader) Close() error {
	for _, g := range r.groups {
		for _, oc := range g {
			if oc.rc != nil {
				oc.rc.Close()
				oc.rc = nil
			}
		}
	}
	return nil
}

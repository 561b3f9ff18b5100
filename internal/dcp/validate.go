package dcp

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
)

// maxGridCells bounds the cell bitmap used to check tiling, so hostile
// metadata with wildly irregular chunks cannot demand unbounded memory.
const maxGridCells = 1 << 26

// maxProblems bounds how many findings Validate collects.
const maxProblems = 50

// Validate checks what torch and Megatron-Core rely on when loading: every
// tensor's chunks lie inside it and tile it exactly once, every chunk and
// object has a storage entry, every storage entry belongs to an fqn, and
// storage paths are plain relative file names. It reports every problem
// found (up to a limit), joined.
func (m *Metadata) Validate() error {
	var errs []error
	add := func(err error) bool {
		errs = append(errs, err)
		return len(errs) < maxProblems
	}
	used := make(map[string]bool, len(m.Storage))
	for _, e := range m.Entries {
		if e.Tensor == nil {
			k := lookupKey(e.FQN, nil, false)
			if _, ok := m.LookupBytes(e.FQN); !ok {
				if !add(fmt.Errorf("%s: object has no storage entry", e.FQN)) {
					return errors.Join(errs...)
				}
			}
			used[k] = true
			continue
		}
		for i, c := range e.Tensor.Chunks {
			if _, ok := m.Lookup(e.FQN, c.Offsets); !ok {
				if !add(fmt.Errorf("%s: chunk %d at offsets %v has no storage entry", e.FQN, i, c.Offsets)) {
					return errors.Join(errs...)
				}
			}
			used[lookupKey(e.FQN, c.Offsets, true)] = true
		}
		if err := CheckTiling(e.Tensor.Size, e.Tensor.Chunks); err != nil {
			if !add(fmt.Errorf("%s: %w", e.FQN, err)) {
				return errors.Join(errs...)
			}
		}
	}
	for _, s := range m.Storage {
		if !used[lookupKey(s.Index.FQN, s.Index.Offset, s.Index.HasOffset)] {
			if !add(fmt.Errorf("%s: storage entry at offset %v matches no chunk or object", s.Index.FQN, s.Index.Offset)) {
				break
			}
		}
		if !fs.ValidPath(s.Info.RelativePath) || s.Info.RelativePath == "." {
			if !add(fmt.Errorf("%s: storage path %q is not a plain relative path", s.Index.FQN, s.Info.RelativePath)) {
				break
			}
		}
	}
	return errors.Join(errs...)
}

// CheckTiling reports whether chunks cover the tensor of the given size
// exactly once: no chunk outside it, no overlap, no gap.
func CheckTiling(size []int64, chunks []Chunk) error {
	if NumElements(size) < 0 {
		return fmt.Errorf("size %v overflows", size)
	}
	rank := len(size)
	cuts := make([][]int64, rank)
	for d := range rank {
		cuts[d] = []int64{0, size[d]}
	}
	for i, c := range chunks {
		if len(c.Offsets) != rank || len(c.Sizes) != rank {
			return fmt.Errorf("chunk %d has rank %d, tensor has rank %d", i, len(c.Offsets), rank)
		}
		for d := range rank {
			o, s := c.Offsets[d], c.Sizes[d]
			if o < 0 || s < 0 || o > size[d] || s > size[d]-o {
				return fmt.Errorf("chunk %d (offsets %v, sizes %v) lies outside size %v", i, c.Offsets, c.Sizes, size)
			}
			cuts[d] = append(cuts[d], o, o+s)
		}
	}
	if NumElements(size) == 0 {
		return nil // nothing to cover
	}
	if len(chunks) == 0 {
		return fmt.Errorf("no chunks")
	}
	cells := int64(1)
	for d := range rank {
		slices.Sort(cuts[d])
		cuts[d] = slices.Compact(cuts[d])
		n := int64(len(cuts[d]) - 1)
		if n > 0 && cells > maxGridCells/n {
			return fmt.Errorf("chunk grid too irregular to check (%d chunks)", len(chunks))
		}
		cells *= n
	}
	covered := make([]uint64, (cells+63)/64)
	lo, hi := make([]int, rank), make([]int, rank)
	for i, c := range chunks {
		empty := false
		for d := range rank {
			lo[d], _ = slices.BinarySearch(cuts[d], c.Offsets[d])
			hi[d], _ = slices.BinarySearch(cuts[d], c.Offsets[d]+c.Sizes[d])
			if hi[d] == lo[d] {
				empty = true
			}
		}
		if empty {
			continue // an empty chunk covers nothing and overlaps nothing
		}
		// Walk the cells of the chunk's box in row-major order.
		cur := slices.Clone(lo)
		for {
			idx := int64(0)
			for d := range rank {
				idx = idx*int64(len(cuts[d])-1) + int64(cur[d])
			}
			if covered[idx/64]&(1<<(idx%64)) != 0 {
				return fmt.Errorf("chunk %d (offsets %v, sizes %v) overlaps another chunk", i, c.Offsets, c.Sizes)
			}
			covered[idx/64] |= 1 << (idx % 64)
			d := rank - 1
			for ; d >= 0; d-- {
				cur[d]++
				if cur[d] < hi[d] {
					break
				}
				cur[d] = lo[d]
			}
			if d < 0 {
				break
			}
		}
	}
	for idx := int64(0); idx < cells; idx++ {
		if covered[idx/64]&(1<<(idx%64)) == 0 {
			// Report the first uncovered cell's region.
			off := make([]int64, rank)
			rem := idx
			for d := rank - 1; d >= 0; d-- {
				n := int64(len(cuts[d]) - 1)
				off[d] = cuts[d][rem%n]
				rem /= n
			}
			return fmt.Errorf("region at offsets %v is covered by no chunk", off)
		}
	}
	return nil
}

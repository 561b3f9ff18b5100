package torchsave

import (
	"fmt"
	"io"
)

// gatherBufSize bounds the memory a gather holds: runs of storage are read
// through a buffer of about this size, never whole.
const gatherBufSize = 256 << 10

// gatherSpanMax is the largest storage span a gather of short runs reads
// in one piece: a transposed matrix has one-element runs spread over its
// whole storage, and one read of a bounded span beats a read per element.
// Larger views are read run by run.
const gatherSpanMax = 8 << 20

// gather reads a tensor's elements in row-major order from its storage,
// following the strides, and swaps bytes of big-endian archives. It splits
// the tensor into runs: the innermost dimensions that are contiguous in
// storage form one run, repeated over the outer dimensions.
type gather struct {
	r    io.ReaderAt
	name string // record name, for errors

	base     int64   // archive offset of element 0
	span     int64   // bytes from element 0 to the end of the last element
	outer    []int64 // sizes of the outer dimensions
	outerStr []int64 // their strides in bytes
	idx      []int64 // current index over the outer dimensions
	run      int64   // bytes per run
	runPos   int64   // offset of the current run: in the archive, or in mem
	runLeft  int64   // bytes of the current run not yet read
	done     bool
	swap     int64  // byte-swap unit; 0 or 1 for none
	mem      []byte // the span, when read in one piece
	started  bool

	buf    []byte
	lo, hi int // unread bytes are buf[lo:hi]
}

func newGather(t *Tensor) *gather {
	info, _ := t.DType.info()
	g := &gather{
		r:    t.Storage.r,
		name: t.recordName(),
		base: t.Storage.Offset + t.Offset*info.size,
	}
	if t.Storage.bigEndian {
		g.swap = info.swap
	}
	if t.NumBytes() == 0 {
		g.done = true
		return g
	}
	st := t.strides()
	// Fold the innermost dimensions that are contiguous into one run.
	runElems := int64(1)
	d := len(t.Shape) - 1
	for ; d >= 0; d-- {
		if t.Shape[d] == 1 {
			continue
		}
		if st[d] != runElems {
			break
		}
		runElems *= t.Shape[d]
	}
	g.run = runElems * info.size
	g.span = g.run
	for i := 0; i <= d; i++ {
		if t.Shape[i] == 1 {
			continue
		}
		g.outer = append(g.outer, t.Shape[i])
		g.outerStr = append(g.outerStr, st[i]*info.size)
		g.span += (t.Shape[i] - 1) * st[i] * info.size
	}
	g.idx = make([]int64, len(g.outer))
	g.runPos, g.runLeft = g.base, g.run
	// Whole elements per buffer fill keep byte swapping aligned.
	size := max(gatherBufSize-gatherBufSize%int(info.size), int(info.size))
	g.buf = make([]byte, size)
	return g
}

// nextRun advances to the next run, reporting false after the last one.
func (g *gather) nextRun() bool {
	// runPos has moved past the run just read; step back to its start.
	pos := g.runPos - g.run
	for i := len(g.idx) - 1; i >= 0; i-- {
		g.idx[i]++
		pos += g.outerStr[i]
		if g.idx[i] < g.outer[i] {
			g.runPos, g.runLeft = pos, g.run
			return true
		}
		pos -= g.outer[i] * g.outerStr[i]
		g.idx[i] = 0
	}
	return false
}

// start reads the whole span up front when the runs are short and the
// span small.
func (g *gather) start() error {
	g.started = true
	if g.run >= gatherBufSize/4 || g.span > gatherSpanMax {
		return nil
	}
	g.mem = make([]byte, g.span)
	if err := g.readAt(g.mem, g.base); err != nil {
		return err
	}
	g.runPos -= g.base
	return nil
}

func (g *gather) readAt(p []byte, off int64) error {
	m, err := g.r.ReadAt(p, off)
	if m < len(p) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("torchsave: reading %s: %w", g.name, err)
	}
	return nil
}

// fill refills the buffer from as many runs as fit.
func (g *gather) fill() error {
	if !g.started {
		if err := g.start(); err != nil {
			return err
		}
	}
	g.lo, g.hi = 0, 0
	for g.hi < len(g.buf) && !g.done {
		if g.runLeft == 0 {
			if !g.nextRun() {
				g.done = true
				break
			}
		}
		n := int(min(int64(len(g.buf)-g.hi), g.runLeft))
		if g.mem != nil {
			copy(g.buf[g.hi:g.hi+n], g.mem[g.runPos:])
		} else if err := g.readAt(g.buf[g.hi:g.hi+n], g.runPos); err != nil {
			return err
		}
		g.hi += n
		g.runPos += int64(n)
		g.runLeft -= int64(n)
	}
	if g.swap > 1 {
		swapBytes(g.buf[:g.hi], int(g.swap))
	}
	return nil
}

func (g *gather) Read(p []byte) (int, error) {
	if g.lo == g.hi {
		if g.done {
			return 0, io.EOF
		}
		if err := g.fill(); err != nil {
			return 0, err
		}
		if g.lo == g.hi {
			return 0, io.EOF
		}
	}
	n := copy(p, g.buf[g.lo:g.hi])
	g.lo += n
	return n, nil
}

// WriteTo writes the remaining bytes to w.
func (g *gather) WriteTo(w io.Writer) (int64, error) {
	var written int64
	for {
		if g.lo == g.hi {
			if g.done {
				return written, nil
			}
			if err := g.fill(); err != nil {
				return written, err
			}
			continue
		}
		n, err := w.Write(g.buf[g.lo:g.hi])
		g.lo += n
		written += int64(n)
		if err != nil {
			return written, err
		}
	}
}

// swapBytes reverses each unit-byte group of b in place.
func swapBytes(b []byte, unit int) {
	for i := 0; i+unit <= len(b); i += unit {
		e := b[i : i+unit]
		for l, r := 0, unit-1; l < r; l, r = l+1, r-1 {
			e[l], e[r] = e[r], e[l]
		}
	}
}

package zarr

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
)

// copyBufSize is the buffer used to move chunk bytes; chunks are streamed
// through it, never held whole.
const copyBufSize = 1 << 20

// Chunk is one chunk of an [Array]: where its data lies in the array and how
// to read the bytes of that region.
type Chunk struct {
	Index  []int   // grid index
	Key    string  // file name relative to the array directory, e.g. "1.0"
	Offset []int64 // first element of the region the chunk covers
	Shape  []int64 // in-bounds extent of the region
	// Edge reports that Shape is smaller than the array's chunk shape: the
	// chunk sticks out of the array and its stored data is padded.
	Edge bool

	a *Array
}

// Size returns the number of bytes of the chunk's region, which [Chunk.Open]
// and [Chunk.WriteTo] produce.
func (c *Chunk) Size() int64 {
	n := int64(c.a.ItemSize())
	for _, s := range c.Shape {
		n *= s
	}
	return n
}

// Path returns the chunk file's name in the array's fs.FS.
func (c *Chunk) Path() string { return path.Join(c.a.dir, c.Key) }

// Open returns a reader of the C-order bytes of the chunk's region: the
// stored chunk with edge padding trimmed, decompressed when the array is
// compressed, or fill_value repeated when the chunk file does not exist and
// fill_value is not null. It fails at once when the file is missing (and
// fill_value is null) or, uncompressed, has the wrong size; the reader fails
// when the data ends early or, compressed, decompresses to other than the
// chunk's size.
func (c *Chunk) Open() (io.ReadCloser, error) {
	r, err := c.open()
	if err != nil {
		return nil, err
	}
	return r, nil
}

// WriteTo writes the bytes [Chunk.Open] reads to w. A whole uncompressed
// chunk is handed to w's ReadFrom if it has one, so that copies between
// files can use copy_file_range.
func (c *Chunk) WriteTo(w io.Writer) (int64, error) {
	r, err := c.open()
	if err != nil {
		return 0, err
	}
	n, err := r.WriteTo(w)
	if cerr := r.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("zarr: close %s: %w", c.Path(), cerr)
	}
	return n, err
}

// chunkReader yields the bytes of a chunk's region from one of three
// sources: a file read at offsets (ra), a sequential stream (seq: a file
// without ReadAt, or a decompressor), or the fill value.
type chunkReader struct {
	c      *Chunk
	name   string
	file   fs.File
	dec    io.ReadCloser // decompressor, or nil
	ra     io.ReaderAt
	seq    *bufio.Reader
	pos    int64 // bytes consumed from seq
	total  int64 // stored (uncompressed) chunk size
	strict bool  // seq must hold exactly total bytes (compressed data)

	runs      runs
	off, left int64 // current run
	fill      []byte
	fillPos   int64 // bytes of fill produced
	err       error
}

func (c *Chunk) open() (*chunkReader, error) {
	a := c.a
	r := &chunkReader{c: c, name: c.Path(), total: a.ChunkBytes()}
	f, err := a.fsys.Open(r.name)
	if errors.Is(err, fs.ErrNotExist) {
		if a.fill == nil && a.fillErr == nil {
			return nil, fmt.Errorf("zarr: array %q: chunk %q is missing and fill_value is null: %w", a.dir, c.Key, fs.ErrNotExist)
		}
		if a.fillErr != nil {
			return nil, fmt.Errorf("zarr: array %q: chunk %q is missing and cannot be filled: %w", a.dir, c.Key, a.fillErr)
		}
		r.fill = a.fill
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("zarr: array %q: chunk %q: %w", a.dir, c.Key, err)
	}
	r.file = f
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("zarr: stat %s: %w", r.name, err)
	}
	if fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("zarr: chunk file %s is a directory", r.name)
	}
	r.runs = newRuns(a.Chunks, c.Shape, int64(a.ItemSize()))
	if a.Compressor != nil {
		r.dec, err = newDecompressor(a.Compressor.ID, f, r.total)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("zarr: chunk file %s (%s): %w", r.name, a.Compressor.ID, err)
		}
		r.seq = bufio.NewReaderSize(r.dec, int(min(r.total, copyBufSize)))
		r.strict = true
		return r, nil
	}
	if fi.Size() != r.total {
		f.Close()
		return nil, fmt.Errorf("zarr: chunk file %s is %d bytes, want %d (chunks %v of %s)", r.name, fi.Size(), r.total, a.Chunks, a.DType)
	}
	if ra, ok := f.(io.ReaderAt); ok {
		r.ra = ra
	} else {
		r.seq = bufio.NewReaderSize(f, int(min(r.total, copyBufSize)))
	}
	return r, nil
}

func (r *chunkReader) Close() error {
	var err error
	if r.dec != nil {
		err = r.dec.Close()
	}
	if r.file != nil {
		if cerr := r.file.Close(); err == nil {
			err = cerr
		}
	}
	r.file, r.dec = nil, nil
	if r.err == nil {
		r.err = errors.New("zarr: read after close")
	}
	return err
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.fill != nil {
		return r.readFill(p)
	}
	for r.left == 0 {
		off, ok := r.runs.next()
		if !ok {
			r.err = r.finish()
			return 0, r.err
		}
		r.off, r.left = off, r.runs.n
	}
	p = p[:min(int64(len(p)), r.left)]
	var n int
	var err error
	if r.ra != nil {
		n, err = r.ra.ReadAt(p, r.off)
		if n == len(p) {
			err = nil // ReadAt may report EOF along with the last byte
		}
	} else {
		if gap := r.off - r.pos; gap > 0 {
			if derr := r.discard(gap); derr != nil {
				r.err = r.short(derr)
				return 0, r.err
			}
		}
		n, err = io.ReadFull(r.seq, p)
		r.pos += int64(n)
	}
	r.off += int64(n)
	r.left -= int64(n)
	if err != nil {
		r.err = r.short(err)
		return n, r.err
	}
	return n, nil
}

// discard skips n bytes of the sequential source.
func (r *chunkReader) discard(n int64) error {
	for n > 0 {
		d, err := r.seq.Discard(int(min(n, 1<<30)))
		r.pos += int64(d)
		n -= int64(d)
		if err != nil {
			return err
		}
	}
	return nil
}

// short reports a chunk whose data ended (or failed) before total bytes.
func (r *chunkReader) short(err error) error {
	at := r.off // ReadAt: where the failed read ended
	if r.seq != nil {
		at = r.pos
	}
	what := "data"
	if r.dec != nil {
		what = r.c.a.Compressor.ID + " data"
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("zarr: chunk file %s: %s ends after %d of %d bytes: %w", r.name, what, at, r.total, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("zarr: chunk file %s: %s fails after %d of %d bytes: %w", r.name, what, at, r.total, err)
}

// finish checks, after the last run, that compressed data holds exactly
// one chunk, and returns io.EOF if so. Reading to the end also makes the
// decompressor verify its checksum.
func (r *chunkReader) finish() error {
	if !r.strict {
		return io.EOF
	}
	if gap := r.total - r.pos; gap > 0 {
		if err := r.discard(gap); err != nil {
			return r.short(err)
		}
	}
	var one [1]byte
	switch _, err := io.ReadFull(r.seq, one[:]); err {
	case io.EOF:
		return io.EOF
	case nil:
		return fmt.Errorf("zarr: chunk file %s: %s data decompresses to more than %d bytes", r.name, r.c.a.Compressor.ID, r.total)
	default:
		return fmt.Errorf("zarr: chunk file %s: %s data: %w", r.name, r.c.a.Compressor.ID, err)
	}
}

func (r *chunkReader) readFill(p []byte) (int, error) {
	size := r.c.Size()
	if r.fillPos >= size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), size-r.fillPos)]
	k := int(r.fillPos % int64(len(r.fill)))
	for i := range p {
		p[i] = r.fill[k]
		if k++; k == len(r.fill) {
			k = 0
		}
	}
	r.fillPos += int64(len(p))
	return len(p), nil
}

// WriteTo lets io.Copy use [Chunk.WriteTo]'s fast path and buffer size.
func (r *chunkReader) WriteTo(w io.Writer) (int64, error) {
	if r.err == io.EOF {
		return 0, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	size := r.c.Size()
	if size == 0 {
		return 0, nil
	}
	// A whole uncompressed chunk not yet read is the file itself: let w
	// pull it, which *os.File turns into copy_file_range from another
	// *os.File.
	rf, ok := w.(io.ReaderFrom)
	if ok && r.fill == nil && r.dec == nil && !r.c.Edge && r.runs.state == 0 {
		r.runs.state = 2
		n, err := rf.ReadFrom(io.LimitReader(r.file, size))
		r.off, r.pos = n, n
		switch {
		case err != nil:
			err = fmt.Errorf("zarr: copy chunk file %s: %w", r.name, err)
		case n < size:
			err = r.short(io.EOF)
		}
		r.err = err
		if err == nil {
			r.err = io.EOF
		}
		return n, err
	}
	buf := make([]byte, min(size, copyBufSize))
	var written int64
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			written += int64(m)
			if werr != nil {
				return written, werr
			}
		}
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			// ReadFull's own end-of-data; a short chunk is reported by
			// Read as a wrapped error, which lands in default.
			return written, nil
		default:
			return written, err
		}
	}
}

// runs enumerates the in-bounds byte runs of a stored chunk in C order.
// Dimensions after the last trimmed one are whole, so each run covers that
// dimension's in-bounds extent times the rest of the chunk.
type runs struct {
	n      int64   // bytes per run
	extent []int64 // in-bounds extents of the dimensions before the run's
	stride []int64 // their byte strides in the stored chunk
	idx    []int64 // current position (odometer)
	state  int     // 0 before the first run, 1 running, 2 done
}

func newRuns(chunks, shape []int64, item int64) runs {
	k := -1 // last dimension where the region is trimmed
	for d := range shape {
		if shape[d] < chunks[d] {
			k = d
		}
	}
	r := runs{n: item}
	for d := len(chunks) - 1; d > k; d-- {
		r.n *= chunks[d]
	}
	if k < 0 {
		return r
	}
	r.n *= shape[k]
	r.extent = shape[:k]
	r.stride = make([]int64, k)
	r.idx = make([]int64, k)
	s := item
	for d := len(chunks) - 1; d >= 0; d-- {
		if d < k {
			r.stride[d] = s
		}
		s *= chunks[d]
	}
	return r
}

func (r *runs) next() (off int64, ok bool) {
	switch r.state {
	case 0:
		r.state = 1
		for _, e := range r.extent {
			if e == 0 {
				r.state = 2
			}
		}
		if r.n == 0 {
			r.state = 2
		}
	case 1:
		d := len(r.idx) - 1
		for ; d >= 0; d-- {
			if r.idx[d]++; r.idx[d] < r.extent[d] {
				break
			}
			r.idx[d] = 0
		}
		if d < 0 {
			r.state = 2
		}
	}
	if r.state == 2 {
		return 0, false
	}
	for d, i := range r.idx {
		off += i * r.stride[d]
	}
	return off, true
}

package cast

import (
	"fmt"
	"io"
	"math"

	"github.com/nemo-migrate/nemo-migrate/internal/torchsave"
)

// ErrInexact is wrapped by the error of a Shift whose result an element's
// dtype cannot hold exactly.
var ErrInexact = fmt.Errorf("cast: shifted value not representable")

// Shift returns a reader of r's little-endian elements of dtype d, each
// plus delta, and fails (wrapping ErrInexact) at the first element whose
// sum d cannot hold exactly: a shift exists to move a value between two
// conventions (NeMo 1's Gemma norms stored 1 + w; Hugging Face's store
// w), and a rounded one would change what the model computes.
func Shift(r io.Reader, d torchsave.DType, delta float64) (io.Reader, error) {
	if !isFloat(d) {
		return nil, fmt.Errorf("cast: cannot shift %s elements", d)
	}
	if delta == 0 {
		return r, nil
	}
	return &shifter{r: r, d: d, delta: delta}, nil
}

type shifter struct {
	r       io.Reader
	d       torchsave.DType
	delta   float64
	held    []byte // the start of an element split across reads
	index   int64  // elements shifted so far
	pending []byte
	err     error
}

func (s *shifter) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		s.fill(len(p))
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

func (s *shifter) fill(want int) {
	size := int(s.d.ItemSize())
	buf := make([]byte, len(s.held)+max(want, size))
	copy(buf, s.held)
	n, err := s.r.Read(buf[len(s.held):])
	buf = buf[:len(s.held)+n]
	whole := len(buf) / size * size
	for i := 0; i < whole; i += size {
		x := float64(toFloat32(s.d, buf[i:]))
		y := x + s.delta
		fromFloat32(s.d, buf[i:], float32(y))
		if got := float64(toFloat32(s.d, buf[i:])); got != y && !(math.IsNaN(x) && math.IsNaN(got)) {
			s.err = fmt.Errorf("%w: element %d is %v, and %v %+g is not a %s value", ErrInexact, s.index, x, x, s.delta, s.d)
			return
		}
		s.index++
	}
	s.pending = buf[:whole]
	s.held = append([]byte(nil), buf[whole:]...)
	switch {
	case err == io.EOF && len(s.held) > 0:
		s.err = fmt.Errorf("cast: %d trailing bytes are not a whole %s element: %w", len(s.held), s.d, io.ErrUnexpectedEOF)
	case err != nil:
		s.err = err
	}
}

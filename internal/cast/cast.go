// Package cast converts tensor element bytes between the floating-point
// dtypes NeMo checkpoints hold (bfloat16, float16, float32) while they
// stream, rounding exactly as PyTorch's CPU Tensor.to does: to nearest,
// ties to even, through float32.
package cast

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/nemo-migrate/nemo-migrate/internal/torchsave"
)

// Supported reports whether Reader converts from one dtype to the other.
func Supported(from, to torchsave.DType) bool {
	return isFloat(from) && isFloat(to)
}

func isFloat(d torchsave.DType) bool {
	return d == torchsave.BFloat16 || d == torchsave.Float16 || d == torchsave.Float32
}

// Reader returns a reader of r's little-endian elements of dtype from as
// elements of dtype to (r itself when they are the same). It fails with io.ErrUnexpectedEOF when r ends
// inside an element.
func Reader(r io.Reader, from, to torchsave.DType) (io.Reader, error) {
	if from == to {
		return r, nil
	}
	if !Supported(from, to) {
		return nil, fmt.Errorf("cast: cannot convert %s to %s (only between bfloat16, float16 and float32)", from, to)
	}
	return &reader{r: r, from: from, to: to, in: make([]byte, 0, 64<<10)}, nil
}

type reader struct {
	r        io.Reader
	from, to torchsave.DType
	in       []byte // source bytes not yet converted (less than one element after a fill)
	out      []byte // converted bytes not yet returned
	err      error
}

func (c *reader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		c.fill()
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// fill reads one block from the source and converts its whole elements.
func (c *reader) fill() {
	fs, ts := int(c.from.ItemSize()), int(c.to.ItemSize())
	have := len(c.in)
	c.in = c.in[:cap(c.in)]
	n, err := c.r.Read(c.in[have:])
	c.in = c.in[:have+n]
	whole := len(c.in) / fs * fs
	out := make([]byte, whole/fs*ts)
	for i, j := 0, 0; i < whole; i, j = i+fs, j+ts {
		f := toFloat32(c.from, c.in[i:])
		fromFloat32(c.to, out[j:], f)
	}
	c.out = out
	c.in = c.in[:copy(c.in, c.in[whole:])]
	switch {
	case err == io.EOF && len(c.in) > 0:
		c.err = fmt.Errorf("cast: %d trailing bytes are not a whole %s element: %w", len(c.in), c.from, io.ErrUnexpectedEOF)
	case err != nil:
		c.err = err
	}
}

func toFloat32(d torchsave.DType, b []byte) float32 {
	switch d {
	case torchsave.BFloat16:
		return math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16)
	case torchsave.Float16:
		return HalfToFloat32(binary.LittleEndian.Uint16(b))
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(b))
}

func fromFloat32(d torchsave.DType, b []byte, f float32) {
	switch d {
	case torchsave.BFloat16:
		binary.LittleEndian.PutUint16(b, Float32ToBFloat16(f))
	case torchsave.Float16:
		binary.LittleEndian.PutUint16(b, Float32ToHalf(f))
	default:
		binary.LittleEndian.PutUint32(b, math.Float32bits(f))
	}
}

// Float32ToBFloat16 rounds f to bfloat16 to nearest, ties to even; every
// NaN becomes the quiet NaN 0x7FC0 (c10::BFloat16's round_to_nearest_even).
func Float32ToBFloat16(f float32) uint16 {
	if f != f {
		return 0x7FC0
	}
	u := math.Float32bits(f)
	return uint16((u + (u>>16)&1 + 0x7FFF) >> 16)
}

// Float32ToHalf rounds f to IEEE half precision to nearest, ties to even,
// subnormals included; overflow gives infinity and NaN a quiet NaN of the
// same sign. It follows the FP16 library's fp16_ieee_from_fp32_value,
// which PyTorch uses: the float32 additions do the rounding.
func Float32ToHalf(f float32) uint16 {
	const scaleToInf, scaleToZero = 0x1.0p+112, 0x1.0p-110
	// Explicit conversions keep each product rounded on its own (no fused
	// multiply-add, which Go may use on some architectures).
	base := float32(float32(float32(math.Abs(float64(f)))*scaleToInf) * scaleToZero)
	w := math.Float32bits(f)
	shl1 := w + w
	sign := w & 0x80000000
	bias := shl1 & 0xFF000000
	if bias < 0x71000000 {
		bias = 0x71000000
	}
	base = float32(math.Float32frombits((bias>>1)+0x07800000) + base)
	bits := math.Float32bits(base)
	exp := (bits >> 13) & 0x00007C00
	mant := bits & 0x00000FFF
	if shl1 > 0xFF000000 {
		return uint16(sign>>16 | 0x7E00)
	}
	return uint16(sign>>16 | (exp + mant))
}

// HalfToFloat32 widens an IEEE half to float32 exactly.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1F
	mant := uint32(h & 0x3FF)
	switch {
	case exp == 0x1F:
		return math.Float32frombits(sign | 0x7F800000 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: normalize.
	e := uint32(113)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (mant&0x3FF)<<13)
}

package zarr

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// FillBytes returns fill_value encoded as one element of the array's dtype,
// the bytes zarr reads for a chunk that was never written, or nil when
// fill_value is null. Numbers are rounded to the dtype as numpy does
// (float16 and bfloat16 round to nearest even, bfloat16 through float32);
// integers must be exact and in range.
func (m *Metadata) FillBytes() ([]byte, error) {
	if len(m.FillValue) == 0 || isNull(m.FillValue) {
		return nil, nil
	}
	b, err := m.fillBytes()
	if err != nil {
		return nil, fmt.Errorf("fill_value %s for dtype %s: %w", m.FillValue, m.DType, err)
	}
	return b, nil
}

func (m *Metadata) fillBytes() ([]byte, error) {
	code, info, err := m.DType.parse()
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(m.FillValue))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	out := make([]byte, info.size)
	switch code[0] {
	case 'V':
		s, ok := v.(string)
		if !ok {
			return nil, errors.New("want base64 text")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, err
		}
		if len(b) != info.size {
			return nil, fmt.Errorf("decodes to %d bytes, want %d", len(b), info.size)
		}
		return b, nil
	case 'b': // b1; bfloat16's code is "bf16"
		if code != "b1" {
			break
		}
		switch v {
		case true, json.Number("1"):
			out[0] = 1
		case false, json.Number("0"):
		default:
			return nil, errors.New("want true or false")
		}
		return out, nil
	case 'i', 'u':
		u, err := fillInt(v, code[0] == 'u', info.size*8)
		if err != nil {
			return nil, err
		}
		putUint(out, u)
		return out, nil
	case 'c':
		pair, ok := v.([]any)
		if !ok || len(pair) != 2 {
			return nil, errors.New("want [real, imag]")
		}
		half := info.size / 2
		for k, x := range pair {
			f, err := fillFloat(x)
			if err != nil {
				return nil, err
			}
			putFloat(out[k*half:(k+1)*half], code, f)
		}
		return out, nil
	}
	// f2, f4, f8, bf16
	f, err := fillFloat(v)
	if err != nil {
		return nil, err
	}
	putFloat(out, code, f)
	return out, nil
}

// fillInt returns the two's complement bits of an integer fill value.
func fillInt(v any, unsigned bool, bitSize int) (uint64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, errors.New("want an integer")
	}
	s := string(n)
	if unsigned {
		if u, err := strconv.ParseUint(s, 10, bitSize); err == nil {
			return u, nil
		}
	} else if i, err := strconv.ParseInt(s, 10, bitSize); err == nil {
		return uint64(i), nil
	}
	// An integral float such as 1.0 or 1e3, within the exact range of float64.
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, errors.New("not an integer in range")
	}
	lo, hi := -math.Ldexp(1, bitSize-1), math.Ldexp(1, bitSize-1)
	if unsigned {
		lo, hi = 0, math.Ldexp(1, bitSize)
	}
	if f < lo || f >= hi {
		return 0, errors.New("out of range")
	}
	if f < 0 {
		return uint64(int64(f)), nil
	}
	return uint64(f), nil
}

// fillFloat parses a float fill value: a number or zarr's "NaN",
// "Infinity" and "-Infinity".
func fillFloat(v any) (float64, error) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !math.IsInf(f, 0) { // beyond float64: infinite, as numpy reads it
			return 0, err
		}
		return f, nil
	case string:
		switch x {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
	}
	return 0, errors.New(`want a number, "NaN", "Infinity" or "-Infinity"`)
}

func putUint(b []byte, u uint64) {
	for i := range b {
		b[i] = byte(u >> (8 * i))
	}
}

// putFloat encodes f in the float type named by code (f2, f4, f8, bf16, or
// the complex types whose halves are f4 and f8). NaN is written as numpy's
// positive quiet NaN.
func putFloat(b []byte, code string, f float64) {
	switch len(b) {
	case 8:
		u := math.Float64bits(f)
		if math.IsNaN(f) {
			u = 0x7ff8_0000_0000_0000
		}
		binary.LittleEndian.PutUint64(b, u)
	case 4:
		u := math.Float32bits(float32(f))
		if math.IsNaN(f) {
			u = 0x7fc0_0000
		}
		binary.LittleEndian.PutUint32(b, u)
	case 2:
		mant, bias := 10, 15
		if code == "bf16" {
			// bfloat16 libraries (torch, ml_dtypes, tensorstore) convert
			// through float32, so a double is rounded twice.
			mant, bias = 7, 127
			f = float64(float32(f))
		}
		binary.LittleEndian.PutUint16(b, toFloat16(f, mant, bias))
	}
}

// toFloat16 rounds f to nearest even in a 16-bit binary float with mant
// mantissa bits and exponent bias (IEEE half: 10, 15; bfloat16: 7, 127).
func toFloat16(f float64, mant, bias int) uint16 {
	var sign uint16
	if math.Signbit(f) {
		sign, f = 0x8000, -f
	}
	inf := uint16(2*bias+1) << mant
	switch {
	case math.IsNaN(f):
		return inf | 1<<(mant-1)
	case math.IsInf(f, 0):
		return sign | inf
	case f == 0:
		return sign
	}
	_, e := math.Frexp(f) // f = frac * 2^e, frac in [0.5, 1)
	exp := max(e-1, 1-bias)
	// Scaled so one unit is the spacing of the destination at this exponent;
	// scaling by a power of two is exact.
	n := uint64(math.RoundToEven(math.Ldexp(f, mant-exp)))
	// Normal numbers: (exp+bias)<<mant | n-2^mant. This also covers
	// subnormals (n < 2^mant at exp = 1-bias) and a carry into the next
	// exponent when n rounds up to 2^(mant+1).
	u := uint64(exp+bias-1)<<mant + n
	if u >= uint64(inf) {
		return sign | inf
	}
	return sign | uint16(u)
}

package cast

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"
	"testing/iotest"

	"github.com/nemo-migrate/nemo-migrate/internal/torchsave"
)

func bf16s(vals ...float32) []byte {
	b := make([]byte, 2*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint16(b[2*i:], Float32ToBFloat16(v))
	}
	return b
}

// TestShift: 1 + w stored in bfloat16 comes back as w, exactly, read one
// byte at a time; a value whose shift bfloat16 cannot hold is refused,
// naming the element.
func TestShift(t *testing.T) {
	in := bf16s(1.0, 1.5, 0.5, 2.25, 3.0, 100.0, 0.75, -2.0)
	want := bf16s(0, 0.5, -0.5, 1.25, 2.0, 99.0, -0.25, -3.0)
	r, err := Shift(iotest.OneByteReader(bytes.NewReader(in)), torchsave.BFloat16, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got % x, %v; want % x", got, err, want)
	}
	// 0.25 + 2^-9 minus 1 needs a bit bfloat16 does not have at -0.75;
	// 300 - 1 is not a bfloat16 either (spacing 2 there).
	for _, v := range []float32{0.25 + 1.0/512, 300} {
		r, _ := Shift(bytes.NewReader(bf16s(1, v)), torchsave.BFloat16, -1)
		if _, err := io.ReadAll(r); !errors.Is(err, ErrInexact) {
			t.Errorf("%v - 1: err = %v, want ErrInexact", v, err)
		}
	}
	// float32 holds what bfloat16 cannot.
	f32 := make([]byte, 4)
	binary.LittleEndian.PutUint32(f32, math.Float32bits(0.25+1.0/512))
	r, _ = Shift(bytes.NewReader(f32), torchsave.Float32, -1)
	if got, err := io.ReadAll(r); err != nil || math.Float32frombits(binary.LittleEndian.Uint32(got)) != 0.25+1.0/512-1 {
		t.Errorf("float32: %v, %v", got, err)
	}
	if _, err := io.ReadAll(mustShift(t, bytes.NewReader([]byte{1, 2, 3}), torchsave.BFloat16)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a trailing half element: %v", err)
	}
}

func mustShift(t *testing.T, r io.Reader, d torchsave.DType) io.Reader {
	s, err := Shift(r, d, -1)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

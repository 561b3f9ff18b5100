package cast

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
	"github.com/nemo-migrate/nemo-migrate/internal/torchsave"
)

// inputs returns element bytes of dtype d that cover every bfloat16 and
// float16 pattern, and for float32 the rounding boundaries of both narrower
// types (ties, subnormals, overflow, NaN payloads) plus random patterns.
func inputs(d torchsave.DType) []byte {
	var b bytes.Buffer
	switch d {
	case torchsave.BFloat16, torchsave.Float16:
		for i := 0; i < 1<<16; i++ {
			binary.Write(&b, binary.LittleEndian, uint16(i))
		}
	case torchsave.Float32:
		put := func(u uint32) { binary.Write(&b, binary.LittleEndian, u) }
		for i := uint32(0); i < 1<<16; i++ {
			hi := i << 16
			// The pattern, the ties below and above, and its neighbours.
			for _, low := range []uint32{0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF} {
				put(hi | low)
			}
		}
		for h := 0; h < 1<<16; h++ {
			f := HalfToFloat32(uint16(h))
			u := math.Float32bits(f)
			for _, d := range []uint32{0, 1, 1 << 12, 1<<13 - 1, 1 << 13, 1<<13 + 1} {
				put(u + d)
				put(u - d)
			}
		}
		r := rand.New(rand.NewPCG(1, 2))
		for range 1 << 18 {
			put(r.Uint32())
		}
	}
	return b.Bytes()
}

var floats = []torchsave.DType{torchsave.BFloat16, torchsave.Float16, torchsave.Float32}

// TestAgainstTorch converts every pattern of each dtype to each other dtype
// with real torch (Tensor.to on CPU) and with Reader, and compares the
// bits. NaNs compare as NaN, not by payload.
func TestAgainstTorch(t *testing.T) {
	dir := t.TempDir()
	for _, from := range floats {
		in := inputs(from)
		if err := os.WriteFile(filepath.Join(dir, string(from)+".in"), in, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	oracle.Run(t, []string{"torch", "numpy"}, `
import sys, os, numpy as np, torch
d = sys.argv[1]
np_of = {"bfloat16": np.int16, "float16": np.float16, "float32": np.float32}
for src in ("bfloat16", "float16", "float32"):
    raw = open(os.path.join(d, src + ".in"), "rb").read()
    a = torch.from_numpy(np.frombuffer(raw, dtype=np_of[src]).copy())
    if src == "bfloat16":
        a = a.view(torch.bfloat16)
    for dst in ("bfloat16", "float16", "float32"):
        if dst == src:
            continue
        b = a.to(getattr(torch, dst))
        if dst == "bfloat16":
            b = b.view(torch.int16)
        open(os.path.join(d, src + "." + dst), "wb").write(b.numpy().tobytes())
`, dir)
	for _, from := range floats {
		in := inputs(from)
		for _, to := range floats {
			if from == to {
				continue
			}
			want, err := os.ReadFile(filepath.Join(dir, string(from)+"."+string(to)))
			if err != nil {
				t.Fatal(err)
			}
			r, err := Reader(bytes.NewReader(in), from, to)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%s -> %s: %d bytes, torch %d", from, to, len(got), len(want))
			}
			bad := 0
			fs, ts := int(from.ItemSize()), int(to.ItemSize())
			for i, j := 0, 0; j < len(want); i, j = i+fs, j+ts {
				g, w := toFloat32(to, got[j:]), toFloat32(to, want[j:])
				if g != g && w != w {
					continue
				}
				if !bytes.Equal(got[j:j+ts], want[j:j+ts]) {
					if bad < 5 {
						t.Errorf("%s -> %s: input %x gives %x, torch %x", from, to, in[i:i+fs], got[j:j+ts], want[j:j+ts])
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%s -> %s: %d of %d elements differ from torch", from, to, bad, len(want)/ts)
			}
		}
	}
}

func TestReaderStreams(t *testing.T) {
	in := inputs(torchsave.Float16)
	r, _ := Reader(bytes.NewReader(in), torchsave.Float16, torchsave.Float32)
	whole, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	// One byte at a time from the source gives the same bytes.
	r, _ = Reader(iotest.OneByteReader(bytes.NewReader(in)), torchsave.Float16, torchsave.Float32)
	if err := iotest.TestReader(r, whole); err != nil {
		t.Fatal(err)
	}
}

func TestReaderErrors(t *testing.T) {
	r, _ := Reader(bytes.NewReader([]byte{1, 2, 3}), torchsave.Float16, torchsave.BFloat16)
	if _, err := io.ReadAll(r); err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("odd byte count: err = %v", err)
	}
	if _, err := Reader(nil, torchsave.Int64, torchsave.Float32); err == nil {
		t.Error("int64 -> float32 accepted")
	}
	same := bytes.NewReader(nil)
	if r, _ := Reader(same, torchsave.Float32, torchsave.Float32); r != io.Reader(same) {
		t.Error("identity cast wraps the reader")
	}
}

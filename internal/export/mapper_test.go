package export

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// TestConcat: an output tensor made of several source tensors holds their
// bytes in order; parts of different dtypes or shapes are refused, and a
// source byte taken twice is found, across parts as within one.
func TestConcat(t *testing.T) {
	s := openExample(t)
	const qkv, proj = "decoder.layers.self_attention.linear_qkv.layer_norm_weight", "decoder.layers.mlp.linear_fc1.layer_norm_weight"
	a, b := s.byName[qkv], s.byName[proj]
	m := newMapper(s, "")
	m.concat("both", qkv, proj)
	if m.err != nil || len(m.out) != 1 {
		t.Fatalf("concat: %v, %d outputs", m.err, len(m.out))
	}
	o := m.out[0]
	if o.Shape[0] != a.Shape[0]+b.Shape[0] || o.Source != a.Key+" + "+b.Key {
		t.Errorf("shape %v, source %q", o.Shape, o.Source)
	}
	var got bytes.Buffer
	err := stream(context.Background(), m.out, func(*Tensor) (int64, bool) { return 0, true }, func(pc piece, r io.Reader) error {
		// Pieces come by source; each lands at its own offset.
		buf, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if int64(got.Len()) < pc.dst+int64(len(buf)) {
			got.Write(make([]byte, pc.dst+int64(len(buf))-int64(got.Len())))
		}
		copy(got.Bytes()[pc.dst:], buf)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := append(readAll(t, a), readAll(t, b)...); !bytes.Equal(got.Bytes(), want) {
		t.Error("the concatenation's bytes are not the parts' in order")
	}

	m = newMapper(s, "")
	m.concat("twice", qkv, qkv)
	if err := checkOverlaps(m.out); err == nil || !strings.Contains(err.Error(), "both take bytes") {
		t.Errorf("a source taken twice: %v", err)
	}
	m = newMapper(s, "")
	m.concat("mixed", qkv, "decoder.layers.self_attention.linear_qkv.weight")
	if m.err == nil || !strings.Contains(m.err.Error(), "does not stack") {
		t.Errorf("parts of other shapes: %v", m.err)
	}
}

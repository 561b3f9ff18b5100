package export

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/distckpt"
	"github.com/nemo-migrate/nemo-migrate/internal/safetensors"
)

// span is a byte range of a source tensor's elements in row-major order.
type span struct{ off, n int64 }

// Tensor is one tensor of the output and where its bytes come from: the
// concatenation of byte ranges of source tensors, in order. Every
// transform export makes (a layer of a stack, q/k/v rows of each query
// group, the gate and up halves of a SwiGLU fc1, an expert of a stack,
// the vocabulary rows without their padding, a Mamba mixer's in_proj
// from its parts) is such a concatenation.
type Tensor struct {
	Name   string  `json:"name"`
	DType  string  `json:"dtype"` // torch spelling
	Shape  []int64 `json:"shape"`
	Bytes  int64   `json:"bytes"`
	Source string  `json:"source"`         // the source tensors' keys, joined by " + "
	From   string  `json:"from,omitempty"` // what part of the source, in words
	File   string  `json:"file"`
	// Shift is added to every element (exactly, or export fails): NeMo 1's
	// Gemma stores its norm weights as 1 + w where Hugging Face stores w.
	Shift float64 `json:"shift,omitempty"`

	parts []part
}

// part is the byte ranges an output tensor takes from one source tensor.
type part struct {
	src   *distckpt.Tensor
	spans []span
}

// mapper collects a family's output tensors, checking each against its
// source and accounting for every source byte.
type mapper struct {
	src     *Source
	dtype   string // output dtype
	out     []*Tensor
	used    map[*distckpt.Tensor]int64
	dropped map[*distckpt.Tensor]string // why the unused bytes of a tensor are dropped
	err     error
}

func newMapper(src *Source, dtype string) *mapper {
	return &mapper{src: src, dtype: dtype, used: map[*distckpt.Tensor]int64{}, dropped: map[*distckpt.Tensor]string{}}
}

func (m *mapper) fail(format string, args ...any) {
	if m.err == nil {
		m.err = fmt.Errorf(format, args...)
	}
}

// tensor returns the source tensor with a Megatron name.
func (m *mapper) tensor(name string) *distckpt.Tensor {
	t, ok := m.src.byName[name]
	if !ok {
		m.fail("the source has no %s", name)
	}
	return t
}

// has reports whether the source holds a tensor with a Megatron name.
func (m *mapper) has(name string) bool {
	_, ok := m.src.byName[name]
	return ok
}

// rows returns the span of rows [r0, r0+n) of t at the leading indices
// lead: rows are along the first dimension after lead.
func (m *mapper) rows(t *distckpt.Tensor, lead []int64, r0, n int64) span {
	if t == nil {
		return span{}
	}
	k := len(lead)
	if k >= len(t.Shape) {
		m.fail("%s: shape %v has no dimension %d", t.Key, t.Shape, k)
		return span{}
	}
	var flat int64
	for i, x := range lead {
		if x < 0 || x >= t.Shape[i] {
			m.fail("%s: index %d out of dimension %d of shape %v", t.Key, x, i, t.Shape)
			return span{}
		}
		flat = flat*t.Shape[i] + x
	}
	R := t.Shape[k]
	if r0 < 0 || n < 0 || r0+n > R {
		m.fail("%s: rows %d:%d out of %d", t.Key, r0, r0+n, R)
		return span{}
	}
	row := t.DType.ItemSize()
	for _, d := range t.Shape[k+1:] {
		row *= d
	}
	return span{off: (flat*R + r0) * row, n: n * row}
}

// add records an output tensor of the given shape made of spans of t.
func (m *mapper) add(name string, t *distckpt.Tensor, shape []int64, from string, spans ...span) {
	if t == nil {
		return
	}
	m.addParts(name, shape, from, part{t, spans})
}

// addParts records an output tensor of the given shape made of the parts,
// in order; the sources must share a dtype.
func (m *mapper) addParts(name string, shape []int64, from string, parts ...part) {
	if m.err != nil || len(parts) == 0 {
		return
	}
	t := parts[0].src
	var n int64
	keys := make([]string, len(parts))
	for i, p := range parts {
		if p.src == nil {
			return
		}
		if p.src.DType != t.DType {
			m.fail("%s: %s is %s, %s is %s", name, t.Key, t.DType, p.src.Key, p.src.DType)
			return
		}
		for _, s := range p.spans {
			n += s.n
		}
		keys[i] = p.src.Key
	}
	want := t.DType.ItemSize()
	for _, d := range shape {
		want *= d
	}
	if n != want {
		m.fail("%s from %s: %d bytes for shape %v of %s", name, strings.Join(keys, " + "), n, shape, t.DType)
		return
	}
	if safetensors.DTypeOf(m.outDType(t)) == "" {
		m.fail("%s is %s, which safetensors cannot hold", t.Key, t.DType)
		return
	}
	for _, p := range parts {
		for _, s := range p.spans {
			m.used[p.src] += s.n
		}
	}
	m.out = append(m.out, &Tensor{Name: name, DType: m.outDType(t), Shape: shape, Source: strings.Join(keys, " + "), From: from, parts: parts})
}

func (m *mapper) outDType(t *distckpt.Tensor) string {
	if m.dtype != "" && string(t.DType) == m.src.DType {
		return m.dtype
	}
	return string(t.DType)
}

// whole maps a source tensor unchanged.
func (m *mapper) whole(name, src string) {
	t := m.tensor(src)
	if t == nil {
		return
	}
	m.add(name, t, t.Shape, "", span{0, t.NumBytes()})
}

// perLayer maps layer l of a layer-stacked tensor for every layer; format
// holds one %d for the layer.
func (m *mapper) perLayer(format, src string) {
	t := m.tensor(src)
	if t == nil {
		return
	}
	for l := int64(0); l < t.Shape[0]; l++ {
		m.add(fmt.Sprintf(format, l), t, t.Shape[1:], fmt.Sprintf("layer %d", l), m.rows(t, nil, l, 1))
	}
}

// vocabRows maps the first vocab rows of an embedding-shaped tensor; the
// rest is vocabulary padding.
func (m *mapper) vocabRows(name, src string, vocab int64) {
	t := m.tensor(src)
	if t == nil {
		return
	}
	from := ""
	if vocab < t.Shape[0] {
		from = fmt.Sprintf("rows 0:%d (%d padding rows dropped)", vocab, t.Shape[0]-vocab)
		m.dropped[t] = "vocabulary padding"
	}
	m.add(name, t, append([]int64{vocab}, t.Shape[1:]...), from, m.rows(t, nil, 0, vocab))
}

// qkv splits Megatron's fused linear_qkv (weight or bias) of every layer
// into q, k and v: per query group it holds the group's query heads, then
// its key head, then its value head, kv rows each. format holds %d for the
// layer and %s for "q", "k" or "v".
func (m *mapper) qkv(format, src string, heads, groups, kv int64) {
	t := m.tensor(src)
	if t == nil {
		return
	}
	for l := int64(0); l < t.Shape[0]; l++ {
		name := func(x string) string { return fmt.Sprintf(format, l, x) }
		m.qkvAt(name, t, []int64{l}, fmt.Sprintf("layer %d, ", l), heads, groups, kv)
	}
}

// qkvAt splits the fused linear_qkv rows of t at the leading indices lead
// into q, k and v, named by name("q"), name("k"), name("v").
func (m *mapper) qkvAt(name func(string) string, t *distckpt.Tensor, lead []int64, where string, heads, groups, kv int64) {
	per := heads / groups
	var q, k, v []span
	for g := int64(0); g < groups; g++ {
		base := g * (per + 2) * kv
		q = append(q, m.rows(t, lead, base, per*kv))
		k = append(k, m.rows(t, lead, base+per*kv, kv))
		v = append(v, m.rows(t, lead, base+(per+1)*kv, kv))
	}
	rest := t.Shape[len(lead)+1:]
	from := where + fmt.Sprintf("%%s rows of each of %d query groups", groups)
	m.add(name("q"), t, append([]int64{heads * kv}, rest...), fmt.Sprintf(from, "query"), q...)
	m.add(name("k"), t, append([]int64{groups * kv}, rest...), fmt.Sprintf(from, "key"), k...)
	m.add(name("v"), t, append([]int64{groups * kv}, rest...), fmt.Sprintf(from, "value"), v...)
}

// concat maps source tensors, whole and in order, to one output tensor
// whose first dimension is the sum of theirs.
func (m *mapper) concat(name string, srcs ...string) {
	var parts []part
	var rows int64
	var rest []int64
	for _, sn := range srcs {
		t := m.tensor(sn)
		if t == nil {
			return
		}
		if len(t.Shape) == 0 || (rest != nil && !slices.Equal(rest, t.Shape[1:])) {
			m.fail("%s: %s %v does not stack with the other parts", name, t.Key, t.Shape)
			return
		}
		rest = t.Shape[1:]
		rows += t.Shape[0]
		parts = append(parts, part{t, []span{{0, t.NumBytes()}}})
	}
	m.addParts(name, append([]int64{rows}, rest...), fmt.Sprintf("%d parts", len(srcs)), parts...)
}

// halves splits the rows of lead's slice of t into two equal halves (a
// SwiGLU fc1: gate, then up).
func (m *mapper) halves(t *distckpt.Tensor, lead []int64, first, second, where string) {
	k := len(lead)
	R := t.Shape[k]
	if R%2 != 0 {
		m.fail("%s: %d rows do not split into gate and up halves", t.Key, R)
		return
	}
	shape := append([]int64{R / 2}, t.Shape[k+1:]...)
	m.add(first, t, shape, where+", gate half", m.rows(t, lead, 0, R/2))
	m.add(second, t, slices.Clone(shape), where+", up half", m.rows(t, lead, R/2, R/2))
}

// shift adds delta to every element of the output tensors taken from the
// source tensor src (by its Megatron name).
func (m *mapper) shift(delta float64, src string) {
	t := m.tensor(src)
	for _, o := range m.out {
		if len(o.parts) == 1 && o.parts[0].src == t {
			o.Shift = delta
			o.From = strings.TrimPrefix(fmt.Sprintf("%s, %+g", o.From, delta), ", ")
		}
	}
}

// check fails if a source tensor is not used completely (other than a
// drop the family declared) or parts of it twice.
func (m *mapper) check() error {
	if m.err != nil {
		return m.err
	}
	for _, t := range m.src.Weights.Tensors {
		used, total := m.used[t], t.NumBytes()
		switch {
		case used == 0 && total > 0:
			return fmt.Errorf("source tensor %s %v has no place in the output; nemo-migrate does not drop weights silently", t.Key, t.Shape)
		case used > total:
			return fmt.Errorf("source tensor %s: %d of its %d bytes are mapped (parts twice)", t.Key, used, total)
		case used < total && m.dropped[t] == "":
			return fmt.Errorf("source tensor %s: only %d of its %d bytes have a place in the output", t.Key, used, total)
		}
	}
	return nil
}

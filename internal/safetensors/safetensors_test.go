package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// writeFile lays out specs and fills each tensor with bytes that name it.
func writeFile(t *testing.T, path string, specs []Spec) *File {
	t.Helper()
	f, err := Layout(specs, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	b := append([]byte(nil), f.Header()...)
	for i, tn := range f.Tensors {
		for j := int64(0); j < tn.Size(); j++ {
			b = append(b, byte(i*31+int(j)))
		}
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLayoutRoundTrip(t *testing.T) {
	specs := []Spec{{"b.weight", "BF16", []int64{3, 5}}, {"a", "F32", []int64{7}}, {"scalar", "I64", nil}, {"empty", "F16", []int64{0, 4}}}
	path := filepath.Join(t.TempDir(), "x.safetensors")
	want := writeFile(t, path, specs)
	if want.HeaderSize%8 != 0 {
		t.Errorf("header of %d bytes: data not 8-byte aligned", want.HeaderSize)
	}
	data, _ := os.ReadFile(path)
	got, err := Read(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Metadata["format"] != "pt" || got.HeaderSize != want.HeaderSize || len(got.Tensors) != len(specs) {
		t.Fatalf("read back %+v", got)
	}
	for _, s := range specs {
		tn, ok := got.Tensor(s.Name)
		w, _ := want.Tensor(s.Name)
		if !ok || tn.DType != s.DType || tn.Begin != w.Begin || tn.End != w.End || len(tn.Shape) != len(s.Shape) {
			t.Errorf("%s: read %+v, laid out %+v", s.Name, tn, w)
		}
	}
	if !bytes.Contains(want.Header(), []byte(`"b.weight":{"dtype":"BF16","shape":[3,5],"data_offsets":[0,30]}`)) {
		t.Errorf("header %s", want.Header()[8:])
	}
}

func TestLayoutRefuses(t *testing.T) {
	for _, specs := range [][]Spec{
		{{"a", "BF16", []int64{1}}, {"a", "BF16", []int64{1}}},
		{{"a", "Q4", []int64{1}}},
		{{"__metadata__", "F32", []int64{1}}},
		{{"a", "F32", []int64{-1}}},
		{{"a", "F32", []int64{1 << 40, 1 << 40}}},
	} {
		if _, err := Layout(specs, nil); err == nil {
			t.Errorf("Layout(%v) succeeded", specs)
		}
	}
}

// header builds a file from a raw JSON header and data length.
func header(js string, data int) []byte {
	b := make([]byte, 8, 8+len(js)+data)
	binary.LittleEndian.PutUint64(b, uint64(len(js)))
	b = append(b, js...)
	return append(b, make([]byte, data)...)
}

func TestReadHostile(t *testing.T) {
	for name, b := range map[string][]byte{
		"short":        {1, 2, 3},
		"huge length":  binary.LittleEndian.AppendUint64(nil, 1<<62),
		"not json":     header("{nope", 0),
		"array":        header("[]", 0),
		"gap":          header(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, 4),
		"overlap":      header(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}`, 3),
		"wrong size":   header(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 4),
		"past end":     header(`{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, 4),
		"trailing":     header(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 5),
		"bad dtype":    header(`{"a":{"dtype":"X","shape":[2],"data_offsets":[0,2]}}`, 2),
		"extra field":  header(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"x":1}}`, 2),
		"bad metadata": header(`{"__metadata__":{"a":1}}`, 0),
		"overflow":     header(`{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, 0),
	} {
		_, err := Read(bytes.NewReader(b), int64(len(b)))
		if err == nil {
			t.Errorf("%s: Read succeeded", name)
		} else if name != "short" && !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v does not wrap ErrFormat", name, err)
		}
	}
}

func TestSplit(t *testing.T) {
	got := Split([]int64{4, 4, 4, 10, 1, 1}, 8)
	want := []int{0, 2, 3, 4}
	if len(got) != len(want) {
		t.Fatalf("Split = %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("Split = %v, want %v", got, want)
		}
	}
	if ShardName(1, 3) != "model-00002-of-00003.safetensors" {
		t.Error(ShardName(1, 3))
	}
}

// TestRealSafetensors writes a file that the real safetensors library
// must load with the same values, and reads one it wrote.
func TestRealSafetensors(t *testing.T) {
	for _, st := range oracle.StacksWith(t, "safetensors", "torch") {
		t.Run(st.Name, func(t *testing.T) {
			dir := t.TempDir()
			ours := filepath.Join(dir, "ours.safetensors")
			writeFile(t, ours, []Spec{{"b.weight", "BF16", []int64{3, 5}}, {"a", "F32", []int64{7}}, {"i", "I64", []int64{2}}})
			theirs := filepath.Join(dir, "theirs.safetensors")
			out := oracle.RunWith(t, st.Python, []string{"safetensors", "torch"}, `
import sys, torch
from safetensors.torch import load_file, save_file
ours, theirs = sys.argv[1], sys.argv[2]
raw = open(ours, "rb").read()
hl = int.from_bytes(raw[:8], "little")
data = raw[8 + hl:]
sd = load_file(ours)
at = 0
for name in ["b.weight", "a", "i"]:
    t = sd[name]
    n = t.numel() * t.element_size()
    assert bytes(t.contiguous().view(torch.uint8).reshape(-1).tolist()) == data[at:at + n], name
    at += n
print(sorted((k, str(v.dtype), list(v.shape)) for k, v in sd.items()))
save_file({"x": torch.arange(6, dtype=torch.float16).reshape(2, 3), "y": torch.ones(5, dtype=torch.bfloat16)}, theirs, metadata={"format": "pt"})
`, ours, theirs)
			if !strings.Contains(string(out), "('b.weight', 'torch.bfloat16', [3, 5])") {
				t.Errorf("safetensors loaded %s", out)
			}
			data, err := os.ReadFile(theirs)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Read(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			x, ok := f.Tensor("x")
			if !ok || x.DType != "F16" || x.Size() != 12 || f.Metadata["format"] != "pt" {
				t.Errorf("read %+v", f)
			}
		})
	}
}

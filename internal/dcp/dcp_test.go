package dcp

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// describe renders m like torchshim.describe_metadata does in Python.
func describe(m *Metadata) any {
	var entries []any
	for _, e := range m.Entries {
		if e.Tensor == nil {
			entries = append(entries, map[string]any{"fqn": e.FQN, "bytes": true})
			continue
		}
		var chunks []any
		for _, c := range e.Tensor.Chunks {
			chunks = append(chunks, []any{c.Offsets, c.Sizes})
		}
		mf := []string{"torch.contiguous_format", "torch.channels_last", "torch.preserve_format"}[e.Tensor.Properties.MemoryFormat]
		entries = append(entries, map[string]any{
			"fqn": e.FQN, "dtype": e.Tensor.Properties.DType, "layout": e.Tensor.Properties.Layout,
			"requires_grad": e.Tensor.Properties.RequiresGrad, "pin_memory": e.Tensor.Properties.PinMemory,
			"memory_format": mf, "size": e.Tensor.Size, "chunks": chunks,
		})
	}
	var storage []any
	for _, s := range m.Storage {
		var off any
		if s.Index.HasOffset {
			off = s.Index.Offset
		}
		var idx any
		if s.Index.Pos >= 0 {
			idx = s.Index.Pos
		}
		storage = append(storage, map[string]any{
			"fqn": s.Index.FQN, "offset": off, "index": idx,
			"path": s.Info.RelativePath, "off": s.Info.Offset, "len": s.Info.Length,
		})
	}
	out := map[string]any{"entries": entries, "storage": storage}
	if m.Version != "" {
		out["version"] = m.Version
	}
	return out
}

// normJSON round-trips v through JSON so Go and Python values compare.
func normJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func pyJSON(t *testing.T, out []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("python output is not JSON: %v\n%s", err, out)
	}
	return v
}

// testdata/write_metadata.py builds Metadata objects with torch 1.13's real
// classes: as save_state_dict writes them, with many chunks per tensor, under
// torch >= 2.3 module paths, and as Megatron-Core's MCoreMetadata.
func pyWriteMetadata(t *testing.T) string {
	b, err := os.ReadFile("testdata/write_metadata.py")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseTorchWritten(t *testing.T) {
	dir := t.TempDir()
	want := pyJSON(t, oracle.Run(t, []string{"torch"}, pyWriteMetadata(t), dir)).(map[string]any)
	check := func(name string, wantKey string) *Metadata {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		m, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := normJSON(t, describe(m)).(map[string]any)
		delete(got, "version")
		w := want[wantKey].(map[string]any)
		delete(w, "version")
		if !reflect.DeepEqual(got, w) {
			gb, _ := json.MarshalIndent(got, "", " ")
			wb, _ := json.MarshalIndent(w, "", " ")
			t.Errorf("%s: parsed metadata differs from what torch holds\n got %s\nwant %s", name, gb, wb)
		}
		if err := m.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", name, err)
		}
		return m
	}
	check("saved.metadata", "saved")
	for _, p := range []string{"2", "3", "4", "5"} {
		check("big_p"+p+".metadata", "big")
	}
	m := check("modern.metadata", "big")
	if m.Version != "1.0.0" {
		t.Errorf("version = %q, want 1.0.0", m.Version)
	}
	m = check("mcore.metadata", "big")
	if m.MCoreData == nil || m.MCoreData.Len() != 2 {
		t.Errorf("mcore_data not kept: %v", m.MCoreData)
	}
	found := false
	for _, it := range m.Extra {
		if it.Key == "all_local_plans" {
			found = true
		}
	}
	if !found {
		t.Error("all_local_plans not kept in Extra")
	}
	info, ok := m.Lookup("decoder.fc1", []int64{5, 8, 0})
	if !ok || info.RelativePath != "__1_1.distcp" || info.Offset != 1<<33+11*5000 || info.Length != 1005 {
		t.Errorf("Lookup = %+v, %v", info, ok)
	}
	if _, ok := m.LookupBytes("te/shard_0_1"); !ok {
		t.Error("bytes object not found by Lookup")
	}
}

// TestMarshalLoadsInTorch writes metadata with Go and has real torch
// unpickle it (through the module aliases torch 1.13 needs) and report
// exactly what it holds.
func TestMarshalLoadsInTorch(t *testing.T) {
	m := &Metadata{Version: "1.0.0"}
	props := TensorProperties{DType: "bfloat16"}
	for l := int64(0); l < 3; l++ {
		for h := int64(0); h < 2; h++ {
			info := StorageInfo{RelativePath: "__0_0.distcp", Offset: 1<<32 + 1000*(2*l+h), Length: 999}
			if err := m.AddTensorChunk("module.decoder.layers.mlp.linear_fc1.weight", props, []int64{3, 8, 4},
				Chunk{Offsets: []int64{l, 4 * h, 0}, Sizes: []int64{1, 4, 4}}, info); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, dt := range []string{"float32", "float16", "int64", "float8_e4m3fn"} {
		if err := m.AddTensorChunk("t_"+dt, TensorProperties{DType: dt}, []int64{2}, Chunk{Offsets: []int64{0}, Sizes: []int64{2}},
			StorageInfo{RelativePath: "__0_1.distcp", Offset: 0, Length: 10}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.AddTensorChunk("scalar", props, []int64{}, Chunk{Offsets: []int64{}, Sizes: []int64{}}, StorageInfo{RelativePath: "__0_1.distcp", Offset: 10, Length: 5}); err != nil {
		t.Fatal(err)
	}
	if err := m.AddBytes("module.decoder.layers.self_attention.core_attention._extra_state/shard_0_3", StorageInfo{RelativePath: "__0_0.distcp", Offset: 0, Length: 500}); err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	data, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), ".metadata")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := oracle.Run(t, []string{"torch"}, `
import json, sys, torch
import torchshim
# float8 dtypes do not exist in torch 1.13: give the unpickler a stand-in.
if not hasattr(torch, "float8_e4m3fn"):
    torch.float8_e4m3fn = "float8_e4m3fn-standin"
md = torchshim.load_metadata(sys.argv[1])
assert type(md).__name__ == "Metadata", type(md)
d = torchshim.describe_metadata(md)
for e in d["entries"]:
    if e.get("dtype") == "float8_e4m3fn-standin":
        e["dtype"] = "float8_e4m3fn"
print(json.dumps(d))
`, path)
	got := pyJSON(t, out)
	want := normJSON(t, describe(m))
	if !reflect.DeepEqual(got, want) {
		gb, _ := json.MarshalIndent(got, "", " ")
		wb, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("torch read back something else\n torch %s\n    go %s", gb, wb)
	}
	// And our own parser reads our output.
	back, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normJSON(t, describe(back)), want) {
		t.Error("Parse(Marshal(m)) differs from m")
	}
}

func TestMarshalRejectsDuplicateStorage(t *testing.T) {
	m := &Metadata{}
	m.Storage = []StorageEntry{
		{Index: Index{FQN: "a", Offset: []int64{0}, HasOffset: true}},
		{Index: Index{FQN: "a", Offset: []int64{0}, HasOffset: true}},
	}
	if _, err := Marshal(m); err == nil {
		t.Error("duplicate storage keys marshalled without error")
	}
}

func TestCheckTiling(t *testing.T) {
	c := func(off, size []int64) Chunk { return Chunk{Offsets: off, Sizes: size} }
	tests := []struct {
		name   string
		size   []int64
		chunks []Chunk
		want   string
	}{
		{"one chunk", []int64{4, 3}, []Chunk{c([]int64{0, 0}, []int64{4, 3})}, ""},
		{"grid", []int64{4, 6}, []Chunk{c([]int64{0, 0}, []int64{2, 3}), c([]int64{2, 0}, []int64{2, 3}), c([]int64{0, 3}, []int64{2, 3}), c([]int64{2, 3}, []int64{2, 3})}, ""},
		{"irregular", []int64{4, 6}, []Chunk{c([]int64{0, 0}, []int64{4, 1}), c([]int64{0, 1}, []int64{1, 5}), c([]int64{1, 1}, []int64{3, 5})}, ""},
		{"scalar", []int64{}, []Chunk{c([]int64{}, []int64{})}, ""},
		{"empty tensor", []int64{0, 3}, []Chunk{c([]int64{0, 0}, []int64{0, 3})}, ""},
		{"gap", []int64{4, 3}, []Chunk{c([]int64{0, 0}, []int64{2, 3})}, "region at offsets [2 0] is covered by no chunk"},
		{"overlap", []int64{4, 3}, []Chunk{c([]int64{0, 0}, []int64{3, 3}), c([]int64{2, 0}, []int64{2, 3})}, "overlaps"},
		{"duplicate", []int64{4}, []Chunk{c([]int64{0}, []int64{4}), c([]int64{0}, []int64{4})}, "overlaps"},
		{"outside", []int64{4}, []Chunk{c([]int64{2}, []int64{4})}, "outside"},
		{"negative", []int64{4}, []Chunk{c([]int64{-1}, []int64{4})}, "outside"},
		{"rank", []int64{4}, []Chunk{c([]int64{0, 0}, []int64{4, 1})}, "rank"},
		{"no chunks", []int64{4}, nil, "no chunks"},
		{"scalar twice", []int64{}, []Chunk{c([]int64{}, []int64{}), c([]int64{}, []int64{})}, "overlaps"},
	}
	for _, tt := range tests {
		err := CheckTiling(tt.size, tt.chunks)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestValidateFindsEveryProblem(t *testing.T) {
	m := &Metadata{}
	props := TensorProperties{DType: "float32"}
	m.AddTensorChunk("a", props, []int64{4}, Chunk{Offsets: []int64{0}, Sizes: []int64{2}}, StorageInfo{RelativePath: "f", Length: 1})
	m.AddBytes("b", StorageInfo{RelativePath: "../escape", Length: 1})
	m.Storage = append(m.Storage, StorageEntry{Index: Index{FQN: "ghost", Offset: []int64{0}, HasOffset: true}, Info: StorageInfo{RelativePath: "f"}})
	m.Entries = append(m.Entries, Entry{FQN: "c"})
	err := m.Validate()
	if err == nil {
		t.Fatal("no problems found")
	}
	for _, want := range []string{"a: region at offsets [2]", `"../escape" is not a plain relative path`, "ghost: storage entry", "c: object has no storage entry"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate missed %q in:\n%v", want, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	notMeta, _ := pickle.Marshal(pickle.NewDict("a", int64(1)))
	wrongClass, _ := pickle.Marshal(&pickle.Object{Callable: pickle.Global{Module: "x", Name: "Other"}, Args: pickle.Tuple{}, NewObj: true})
	noSDM, _ := pickle.Marshal(&pickle.Object{Callable: pickle.Global{Module: metadataModule, Name: "Metadata"}, Args: pickle.Tuple{}, NewObj: true, Built: true, State: pickle.NewDict()})
	badEntry, _ := pickle.Marshal(newObj(metadataModule, "Metadata", pickle.NewDict(
		"state_dict_metadata", pickle.NewDict("w", int64(3)), "storage_data", pickle.NewDict())))
	for name, data := range map[string][]byte{"not a pickle": []byte("hello"), "dict": notMeta, "other class": wrongClass, "no state_dict_metadata": noSDM, "bad entry": badEntry} {
		_, err := Parse(data)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if name != "not a pickle" && name != "bad entry" && !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v does not wrap ErrFormat", name, err)
		}
	}
	if _, err := ReadMetadata(strings.NewReader(""), MaxMetadataSize+1); err == nil {
		t.Error("oversized .metadata accepted")
	}
	if _, err := ReadMetadata(strings.NewReader("abc"), 10); err == nil {
		t.Error("short read accepted")
	}
}

package torchsave

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// TestWriteTensorMatchesTorch compares WriteTensor's output byte for byte
// with torch 1.13's torch.save(tensor, buffer) for the same tensor.
func TestWriteTensorMatchesTorch(t *testing.T) {
	dir := t.TempDir()
	const script = `
import io, json, os, sys
import torch
from torchdesc import rand_tensor, tensor_bytes
out = sys.argv[2]
g = torch.Generator().manual_seed(3)
cases = [("bf16", torch.bfloat16, (2, 3)), ("scalar", torch.float32, ()), ("empty", torch.float32, (0, 3)),
         ("five_dims", torch.int64, (2, 1, 3, 1, 2)), ("u8_70000", torch.uint8, (70000,)),
         ("bool", torch.bool, (7,)), ("c128", torch.complex128, (2, 2)), ("f16_300", torch.float16, (300,)),
         ("f64", torch.float64, (1,)), ("i8_256", torch.int8, (256,)), ("i32_col", torch.int32, (3, 1)),
         ("i16_row", torch.int16, (1, 3)), ("c64", torch.complex64, (4,)), ("grad", torch.float32, (2,))]
res = []
for name, dt, shape in cases:
    x = rand_tensor(shape, dt, g)
    if name == "grad":
        x.requires_grad_()
    buf = io.BytesIO()
    torch.save(x, buf)
    open(os.path.join(out, name + ".pt"), "wb").write(buf.getvalue())
    open(os.path.join(out, name + ".raw"), "wb").write(tensor_bytes(x))
    res.append({"name": name, "dtype": str(dt)[6:], "shape": list(shape), "grad": x.requires_grad})
json.dump(res, sys.stdout)
`
	var cases []struct {
		Name, DType string
		Shape       []int64
		Grad        bool
	}
	if err := json.Unmarshal(runTorch(t, script, dir), &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		ref := mustRead(t, filepath.Join(dir, c.Name+".pt"))
		raw := mustRead(t, filepath.Join(dir, c.Name+".raw"))
		spec := TensorSpec{DType: DType(c.DType), Shape: c.Shape, RequiresGrad: c.Grad}
		var b bytes.Buffer
		n, err := SaveOptions{NoByteOrder: true}.WriteTensor(&b, spec, bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if n != int64(b.Len()) || !bytes.Equal(b.Bytes(), ref) {
			t.Errorf("%s: Go wrote %d bytes that differ from torch's %d\n go: %x\nref: %x", c.Name, b.Len(), len(ref), head(b.Bytes()), head(ref))
		}
	}
}

func head(b []byte) []byte { return b[:min(len(b), 400)] }

// TestWriteLayoutInPython checks the default layout (with a byteorder
// record) with Python's zipfile: record order, 64-byte alignment of every
// record's data, CRCs; then torch loads the archive.
func TestWriteLayoutInPython(t *testing.T) {
	dir := t.TempDir()
	data := randBytes(1, 6*4)
	var b bytes.Buffer
	if _, err := WriteTensor(&b, TensorSpec{DType: Float32, Shape: []int64{2, 3}}, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "t.pt")
	os.WriteFile(path, b.Bytes(), 0o644)
	const script = `
import io, json, struct, sys, zipfile
import torch
from torchdesc import tensor_bytes
raw = open(sys.argv[2], "rb").read()
z = zipfile.ZipFile(io.BytesIO(raw))
assert z.testzip() is None  # every CRC checks
out = {"names": [], "aligned": [], "flags": []}
for i in z.infolist():
    n, e = struct.unpack("<HH", raw[i.header_offset + 26:i.header_offset + 30])
    start = i.header_offset + 30 + n + e
    out["names"].append(i.filename)
    out["aligned"].append(start % 64 == 0)
    out["flags"].append(i.flag_bits)
out["byteorder"] = z.read("archive/byteorder").decode()
t = torch.load(io.BytesIO(raw), weights_only=True)
out["hex"] = tensor_bytes(t).hex()
out["dtype"] = str(t.dtype)
json.dump(out, sys.stdout)
`
	var got struct {
		Names     []string
		Aligned   []bool
		Flags     []int
		ByteOrder string
		Hex       string
		DType     string
	}
	if err := json.Unmarshal(runTorch(t, script, path), &got); err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"archive/data.pkl", "archive/byteorder", "archive/data/0", "archive/version"}
	if strings.Join(got.Names, ",") != strings.Join(wantNames, ",") {
		t.Errorf("records %v, want %v", got.Names, wantNames)
	}
	for i, al := range got.Aligned {
		if !al || got.Flags[i] != 0x808 {
			t.Errorf("record %s: aligned %v flags %#x", got.Names[i], al, got.Flags[i])
		}
	}
	if got.ByteOrder != "little" || got.DType != "torch.float32" || got.Hex != hex.EncodeToString(data) {
		t.Errorf("torch loaded %+v", got)
	}
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// tensorJSON is the description torchdesc.py gives a tensor.
func tensorJSON(d DType, shape, stride []int64, offset int64, grad, param bool, elems []byte) map[string]any {
	return map[string]any{"tensor": map[string]any{
		"dtype": string(d), "shape": shape, "stride": stride, "offset": offset,
		"requires_grad": grad, "param": param, "hex": hex.EncodeToString(elems),
	}}
}

func str(s string) any  { return map[string]any{"str": s} }
func num(v any) any     { return map[string]any{"int": fmt.Sprint(v)} }
func list(v ...any) any { return map[string]any{"list": append([]any{}, v...)} }
func dict(kv ...any) any {
	pairs := []any{}
	for i := 0; i < len(kv); i += 2 {
		pairs = append(pairs, []any{kv[i], kv[i+1]})
	}
	return map[string]any{"dict": pairs}
}

// saveTree builds a tree of tensors of every dtype torch 1.13 has, a
// strided view with a storage offset, a Parameter, 0-d and empty tensors,
// a tensor that appears twice, and plain values; want is how torchdesc.py
// must describe what torch loads. Floats and bytes are left out when safe:
// torch 1.13's weights_only unpickler has neither BINFLOAT nor
// _codecs.encode (later versions allow both).
func saveTree(safe bool) (obj any, want any) {
	var items []pickle.Item
	var wantItems []any
	add := func(k string, v, w any) {
		items = append(items, pickle.Item{Key: k, Value: v})
		wantItems = append(wantItems, k, w)
	}
	dtypes := []DType{BFloat16, Float16, Float32, Float64, Int8, Int16, Int32, Int64, Uint8, Bool, Complex64, Complex128}
	model := &pickle.Object{Callable: globalOrderedDict, Args: pickle.Tuple{}}
	var modelWant []any
	for i, d := range dtypes {
		shape := []int64{2, 3}
		data := randBytes(uint64(i), int(6*d.ItemSize()))
		if d == Bool {
			for j := range data {
				data[j] &= 1
			}
		}
		src := &TensorSource{TensorSpec: TensorSpec{DType: d, Shape: shape}, Data: bytes.NewReader(data)}
		model.DictItems = append(model.DictItems, pickle.Item{Key: string(d), Value: src})
		modelWant = append(modelWant, []any{str(string(d)), tensorJSON(d, shape, []int64{3, 1}, 0, false, false, data)})
	}
	add("model", model, map[string]any{"odict": modelWant})

	// A (3, 2) view with stride (1, 4) at offset 1 of a 12-element storage.
	storage := randBytes(99, 12*4)
	var elems []byte
	for i := range int64(3) {
		for j := range int64(2) {
			k := 1 + i*1 + j*4
			elems = append(elems, storage[k*4:k*4+4]...)
		}
	}
	strided := &TensorSource{TensorSpec: TensorSpec{DType: Int32, Shape: []int64{3, 2}, Stride: []int64{1, 4}, Offset: 1, StorageNumel: 12},
		Data: bytes.NewReader(storage)}
	add("strided", strided, tensorJSON(Int32, []int64{3, 2}, []int64{1, 4}, 1, false, false, elems))

	pdata := randBytes(5, 4*4)
	param := &TensorSource{TensorSpec: TensorSpec{DType: Float32, Shape: []int64{4}, RequiresGrad: true}, Data: bytes.NewReader(pdata), Parameter: true}
	add("param", param, tensorJSON(Float32, []int64{4}, []int64{1}, 0, true, true, pdata))

	sdata := randBytes(6, 8)
	add("scalar", &TensorSource{TensorSpec: TensorSpec{DType: Int64, Shape: []int64{}}, Data: bytes.NewReader(sdata)},
		tensorJSON(Int64, []int64{}, []int64{}, 0, false, false, sdata))
	add("empty", &TensorSource{TensorSpec: TensorSpec{DType: Float16, Shape: []int64{0, 4}}, Data: bytes.NewReader(nil)},
		tensorJSON(Float16, []int64{0, 4}, []int64{4, 1}, 0, false, false, nil))

	tdata := randBytes(7, 3*2)
	tied := &TensorSource{TensorSpec: TensorSpec{DType: BFloat16, Shape: []int64{3}}, Data: bytes.NewReader(tdata)}
	tiedWant := tensorJSON(BFloat16, []int64{3}, []int64{1}, 0, false, false, tdata)
	add("tied", &pickle.List{Items: []any{tied, tied}}, list(tiedWant, tiedWant))

	p70 := new(big.Int).Lsh(big.NewInt(1), 70)
	m70 := new(big.Int).Neg(p70)
	ints := []any{int64(0), int64(255), int64(256), int64(65536), int64(1<<31 - 1), int64(1 << 31), int64(-1 << 31), int64(-1<<31 - 1),
		int64(1 << 40), int64(math.MaxInt64), int64(math.MinInt64), p70, m70}
	var intsWant []any
	for _, v := range ints {
		intsWant = append(intsWant, num(v))
	}
	add("ints", &pickle.List{Items: ints}, list(intsWant...))
	strs := []any{"", "ascii", "\u00fc\u20ac\U0001F600", "with\nnewline", strings.Repeat("x", 300)}
	var strsWant []any
	for _, s := range strs {
		strsWant = append(strsWant, str(s.(string)))
	}
	add("strs", &pickle.List{Items: strs}, list(strsWant...))
	add("nested", pickle.NewDict("a", &pickle.List{Items: []any{pickle.Tuple{int64(1), pickle.Tuple{}}, pickle.NewDict("b", &pickle.List{})}}, int64(5), "int key"),
		dict(str("a"), list(map[string]any{"tuple": []any{num(int64(1)), map[string]any{"tuple": []any{}}}}, dict(str("b"), list())), num(int64(5)), str("int key")))
	add("none", nil, map[string]any{"none": true})
	add("bools", pickle.Tuple{true, false}, map[string]any{"tuple": []any{map[string]any{"bool": true}, map[string]any{"bool": false}}})
	if !safe {
		add("bytes", pickle.Bytes{0, 255, 128}, map[string]any{"bytes": "00ff80"})
		fl := []any{1.5, math.Inf(-1), math.Copysign(0, -1), 1e-310}
		var flWant []any
		for _, f := range fl {
			flWant = append(flWant, map[string]any{"float": hex.EncodeToString(binaryBE(math.Float64bits(f.(float64))))})
		}
		add("floats", &pickle.List{Items: fl}, list(flWant...))
	}
	d := &pickle.Dict{}
	for _, it := range items {
		d.Set(it.Key, it.Value)
	}
	var pairs []any
	for i := 0; i < len(wantItems); i += 2 {
		pairs = append(pairs, []any{str(wantItems[i].(string)), wantItems[i+1]})
	}
	return d, map[string]any{"dict": pairs}
}

func binaryBE(v uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (56 - 8*i))
	}
	return b
}

// TestSaveLoadsInTorch writes trees with Save and has torch 1.13 load them
// with weights_only=False and (without floats and bytes, which 1.13's
// weights_only unpickler lacks) weights_only=True, checking every value and
// byte. Go's reader must read the same.
func TestSaveLoadsInTorch(t *testing.T) {
	dir := t.TempDir()
	wants := map[string]any{}
	for _, c := range []struct {
		name string
		safe bool
	}{{"full", false}, {"safe", true}} {
		obj, want := saveTree(c.safe)
		var b bytes.Buffer
		n, err := Save(&b, obj)
		if err != nil || n != int64(b.Len()) {
			t.Fatalf("%s: Save: %d, %v", c.name, n, err)
		}
		os.WriteFile(filepath.Join(dir, c.name+".pt"), b.Bytes(), 0o644)
		wants[c.name] = want
		// Go reads back what torch must load.
		sameJSON(t, c.name+" (Go round trip)", treeJSON(t, openBytes(t, b.Bytes()).Object), want)
	}
	const script = `
import json, os, sys
import torch
from torchdesc import desc
d = sys.argv[2]
json.dump({
  "full": desc(torch.load(os.path.join(d, "full.pt"), weights_only=False)),
  "safe": desc(torch.load(os.path.join(d, "safe.pt"), weights_only=True)),
}, sys.stdout)
`
	var got map[string]any
	if err := json.Unmarshal(runTorch(t, script, dir), &got); err != nil {
		t.Fatal(err)
	}
	for name, want := range wants {
		sameJSON(t, name+" (torch.load)", want, got[name])
	}
}

// TestSaveOptions covers the archive name and the byteorder switch.
func TestSaveOptions(t *testing.T) {
	var b bytes.Buffer
	if _, err := (SaveOptions{Name: "common", NoByteOrder: true}).Save(&b, pickle.NewDict("a", int64(1))); err != nil {
		t.Fatal(err)
	}
	a := openBytes(t, b.Bytes())
	if a.Name != "common" || strings.Join(a.Records(), ",") != "data.pkl,version" {
		t.Errorf("name %q records %v", a.Name, a.Records())
	}
	b.Reset()
	if _, err := Save(&b, nil); err != nil {
		t.Fatal(err)
	}
	a = openBytes(t, b.Bytes())
	if a.Name != "archive" || strings.Join(a.Records(), ",") != "data.pkl,byteorder,version" || a.Object != nil {
		t.Errorf("name %q records %v object %v", a.Name, a.Records(), a.Object)
	}
	if _, err := (SaveOptions{Name: "a/b"}).Save(&b, nil); err == nil {
		t.Error("archive name with a slash accepted")
	}
}

// TestCopyThroughTorch reads torch-written archives (views, a Parameter,
// a Tensor subclass with attributes, plain values), saves what was read
// with Save and has torch compare the copy with the original: same
// values, types and attributes, with views now compact.
func TestCopyThroughTorch(t *testing.T) {
	dir := t.TempDir()
	const mk = `
import io, sys, torch
from torchdesc import rand_tensor
class MyT(torch.Tensor):
    pass
g = torch.Generator().manual_seed(5)
sub = rand_tensor((2, 3), torch.bfloat16, g).as_subclass(MyT)
sub.note = "kept"
torch.save({"sub": sub, "sd": torch.load(sys.argv[3])}, sys.argv[2])
`
	orig := filepath.Join(dir, "orig.pt")
	runTorch(t, mk, orig, "testdata/state_dict.pt")
	a := openBytes(t, mustRead(t, orig))
	var b bytes.Buffer
	if _, err := Save(&b, a.Object); err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(dir, "copy.pt")
	os.WriteFile(cp, b.Bytes(), 0o644)
	const check = `
import sys, torch
from torchdesc import desc
class MyT(torch.Tensor):
    pass
a, b = torch.load(sys.argv[2]), torch.load(sys.argv[3])
def strip(d):
    if isinstance(d, dict):
        if "tensor" in d:
            d = dict(d["tensor"]); d.pop("stride"); d.pop("offset"); return d
        return {k: strip(v) for k, v in d.items()}
    if isinstance(d, list):
        return [strip(x) for x in d]
    return d
assert strip(desc(a)) == strip(desc(b)), (desc(a), desc(b))
for k, x in b["sd"].items():
    if isinstance(x, torch.Tensor):
        assert x.is_contiguous() and x.storage_offset() == 0, k
        assert type(x) is type(a["sd"][k]), k
assert type(b["sub"]) is MyT and b["sub"].note == "kept", (type(b["sub"]), b["sub"].__dict__)
print("ok")
`
	if out := runTorch(t, check, orig, cp); strings.TrimSpace(string(out)) != "ok" {
		t.Errorf("torch says %s", out)
	}
}

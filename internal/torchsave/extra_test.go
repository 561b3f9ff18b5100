package torchsave

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// TestBytesIOPickle checks that BytesIO encodes io.BytesIO exactly as
// Python's pickle does at protocol 2, once the memo opcodes Python adds
// (and pickletools.optimize removes) are discounted.
func TestBytesIOPickle(t *testing.T) {
	payload := []byte{'a', 'b', 0, 0xff, 0x80}
	got, err := pickle.Marshal(BytesIO(payload))
	if err != nil {
		t.Fatal(err)
	}
	out := runTorch(t, `
import io, pickle, pickletools, sys
print(pickletools.optimize(pickle.dumps(io.BytesIO(bytes.fromhex(sys.argv[2])), protocol=2)).hex())
`, hex.EncodeToString(payload))
	if want := strings.TrimSpace(string(out)); hex.EncodeToString(got) != want {
		t.Errorf("Go pickles io.BytesIO as\n%x\nPython as\n%s", got, want)
	}
	v, err := pickle.Unmarshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := BytesIOData(v); !ok || !bytes.Equal(b, payload) {
		t.Errorf("BytesIOData = %x, %v", b, ok)
	}
}

// TestExtraStateInTorch writes Transformer Engine's non-fp8 extra state,
// a one-element list holding an io.BytesIO of torch.save(None), and has
// torch 1.13 load it. weights_only=True must refuse it, naming
// _io.BytesIO: torch only accepts it where io.BytesIO is allow-listed.
func TestExtraStateInTorch(t *testing.T) {
	var inner, outer bytes.Buffer
	if _, err := Save(&inner, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Save(&outer, &pickle.List{Items: []any{BytesIO(inner.Bytes())}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "extra.pt")
	os.WriteFile(path, outer.Bytes(), 0o644)
	out := runTorch(t, `
import io, json, sys
import torch
obj = torch.load(sys.argv[2], weights_only=False)
res = {"type": type(obj).__name__, "len": len(obj), "item": type(obj[0]).__name__}
res["inner_full"] = repr(torch.load(obj[0], weights_only=False))
obj[0].seek(0)
res["inner_safe"] = repr(torch.load(obj[0], weights_only=True))
try:
    torch.load(sys.argv[2], weights_only=True)
    res["safe_error"] = ""
except Exception as e:
    res["safe_error"] = str(e)
json.dump(res, sys.stdout)
`, path)
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got["type"] != "list" || got["len"] != 1.0 || got["item"] != "BytesIO" || got["inner_full"] != "None" || got["inner_safe"] != "None" {
		t.Errorf("torch loaded %v", got)
	}
	if e, _ := got["safe_error"].(string); !strings.Contains(e, "_io.BytesIO") {
		t.Errorf("weights_only=True: %q, want a refusal naming _io.BytesIO", e)
	}
	// Go reads the structure back.
	a := openBytes(t, outer.Bytes())
	l, ok := a.Object.(*pickle.List)
	if !ok || len(l.Items) != 1 {
		t.Fatalf("read back %s", pickle.TypeName(a.Object))
	}
	b, ok := BytesIOData(l.Items[0])
	if !ok || !bytes.Equal(b, inner.Bytes()) {
		t.Fatalf("BytesIO payload not read back")
	}
	if in := openBytes(t, b); in.Object != nil {
		t.Errorf("inner archive holds %v", in.Object)
	}
}

// TestV3DTypes covers the dtypes torch 1.13 cannot produce (float8,
// uint16/32/64), which torch 2.x pickles with _rebuild_tensor_v3 and an
// UntypedStorage counted in bytes. Python's own unpickler, with stand-ins
// for the torch names, must see the intended call, and Go must read it back.
func TestV3DTypes(t *testing.T) {
	for _, c := range []struct {
		d     DType
		shape []int64
	}{{Float8E4M3FN, []int64{2, 3}}, {Float8E5M2, []int64{4}}, {Uint16, []int64{3, 2}}, {Uint32, []int64{2}}, {Uint64, []int64{}}} {
		data := randBytes(11, int(c.d.ItemSize()*(&TensorSpec{Shape: c.shape}).Numel()))
		var b bytes.Buffer
		if _, err := WriteTensor(&b, TensorSpec{DType: c.d, Shape: c.shape}, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		a := openBytes(t, b.Bytes())
		tt, err := a.Tensor()
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		tt.WriteTo(&got)
		if tt.DType != c.d || !bytes.Equal(got.Bytes(), data) || tt.Storage.Class != "UntypedStorage" || tt.Storage.Numel != int64(len(data)) {
			t.Errorf("%s: read back %s %v, storage %s of %d", c.d, tt.DType, tt.Shape, tt.Storage.Class, tt.Storage.Numel)
		}
		pkl, err := a.ReadRecord("data.pkl", 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		out := runTorch(t, `
import io, json, pickle, sys
class U(pickle.Unpickler):
    def find_class(self, mod, name):
        if mod == "torch._utils" and name == "_rebuild_tensor_v3":
            return lambda *a: {"fn": name, "args": list(a)}
        if mod == "collections" and name == "OrderedDict":
            return lambda: "OrderedDict()"
        return mod + "." + name
    def persistent_load(self, pid):
        return list(pid)
print(json.dumps(U(io.BytesIO(bytes.fromhex(sys.argv[2]))).load()))
`, hex.EncodeToString(pkl))
		var call struct {
			Fn   string
			Args []any
		}
		if err := json.Unmarshal(out, &call); err != nil {
			t.Fatal(err)
		}
		shape := []any{}
		for _, s := range c.shape {
			shape = append(shape, float64(s))
		}
		want := []any{
			[]any{"storage", "torch.UntypedStorage", "0", "cpu", float64(len(data))},
			0.0, shape, anyInts(contiguousStrides(c.shape)), false, "OrderedDict()", "torch." + string(c.d),
		}
		sameJSON(t, string(c.d), call.Args, want)
		if call.Fn != "_rebuild_tensor_v3" {
			t.Errorf("%s: pickled with %s", c.d, call.Fn)
		}
	}
	// Save picks the same form for a tensor inside a tree.
	var b bytes.Buffer
	src := &TensorSource{TensorSpec: TensorSpec{DType: Float8E4M3FNUZ, Shape: []int64{2}}, Data: bytes.NewReader([]byte{1, 2})}
	if _, err := Save(&b, pickle.NewDict("x", src)); err != nil {
		t.Fatal(err)
	}
	ts := openBytes(t, b.Bytes()).Tensors()
	if len(ts) != 1 || ts[0].DType != Float8E4M3FNUZ || ts[0].Storage.Class != "UntypedStorage" {
		t.Errorf("Save of float8 read back as %+v", ts)
	}
}

func anyInts(v []int64) []any {
	out := []any{}
	for _, x := range v {
		out = append(out, float64(x))
	}
	return out
}

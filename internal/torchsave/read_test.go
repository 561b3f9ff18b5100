package torchsave

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// readCases is run by torch 1.13: it saves each case to argv[2]/<name>.pt
// (to a stream, or to the path itself for names starting "path_") and
// prints {name: description of torch.load's result}.
const readCases = `
import collections, io, json, os, sys
import torch
from torchdesc import desc, rand_tensor
out = sys.argv[2]
g = torch.Generator().manual_seed(7)
cases = {}
dtypes = [torch.bfloat16, torch.float16, torch.float32, torch.float64, torch.int8, torch.int16,
          torch.int32, torch.int64, torch.uint8, torch.bool, torch.complex64, torch.complex128]
for dt in dtypes:
    cases["dtype_" + str(dt)[6:]] = rand_tensor((3, 5), dt, g)
big = rand_tensor((300, 700), torch.float32, g)         # 840 KB: gathers cross buffer fills
cases["transposed"] = big.t()
cases["sliced"] = big[7:200, 3:500]
cases["stepped"] = big[::3, 1::7]
cases["wide_slice"] = rand_tensor((4, 40000), torch.float32, g)[:, 100:39000]  # long runs, read one by one
cases["permuted"] = rand_tensor((3, 4, 5), torch.bfloat16, g).permute(2, 0, 1)
cases["expanded"] = torch.arange(4, dtype=torch.int64).expand(3, 4)
cases["narrow_bf16"] = rand_tensor((6, 8), torch.bfloat16, g).narrow(1, 2, 3)
cases["contiguous_offset"] = rand_tensor((10,), torch.int32, g)[4:]
cases["scalar"] = torch.tensor(2.5, dtype=torch.float64)
cases["empty"] = torch.zeros(0, 3)
cases["empty3"] = torch.zeros(2, 0, 4, dtype=torch.bfloat16)
cases["param"] = torch.nn.Parameter(rand_tensor((2, 2), torch.float32, g))
cases["param_nograd"] = torch.nn.Parameter(rand_tensor((2,), torch.float16, g), requires_grad=False)
cases["requires_grad"] = rand_tensor((3,), torch.float32, g).requires_grad_()
shared = rand_tensor((4, 4), torch.float16, g)
cases["nested"] = {
    "model": collections.OrderedDict([("w", rand_tensor((2, 3), torch.bfloat16, g)), ("b", shared[0])]),
    "opt": [1, 2**40, -5, -2**63, 2**70, 1.5, float("inf"), "s\u00fc", b"\x00\xff", None, True, (1, (2, 3))],
    "deep": {"a": [shared, {"b": shared[1:, 1:]}]},
    "tied": [shared, shared],
    "bytesio": io.BytesIO(b"abc"),
    7: "int key",
}
cases["many"] = collections.OrderedDict((str(i), torch.full((i + 1,), i, dtype=torch.int16)) for i in range(13))
class MyT(torch.Tensor):
    pass
sub = rand_tensor((2, 2), torch.float32, g).as_subclass(MyT)
sub.note = "kept"
cases["subclass"] = sub  # pickled with torch._tensor._rebuild_from_type_v2
cases["path_common"] = {"content_metadata": {}, "w": torch.ones(2)}
result = {}
for name, obj in cases.items():
    path = os.path.join(out, name + ".pt")
    if name.startswith("path_"):
        torch.save(obj, path)
    else:
        buf = io.BytesIO()
        torch.save(obj, buf)
        open(path, "wb").write(buf.getvalue())
    result[name] = desc(torch.load(path))
json.dump(result, sys.stdout)
`

// TestReadTorch has torch 1.13 save tensors of every dtype it has, views
// with strides and offsets, Parameters, 0-d and empty tensors and nested
// containers, and checks that Go reads the same values and bytes.
func TestReadTorch(t *testing.T) {
	dir := t.TempDir()
	var want map[string]any
	if err := json.Unmarshal(runTorch(t, readCases, dir), &want); err != nil {
		t.Fatal(err)
	}
	if len(want) < 25 {
		t.Fatalf("only %d cases", len(want))
	}
	for name, w := range want {
		data, err := os.ReadFile(filepath.Join(dir, name+".pt"))
		if err != nil {
			t.Fatal(err)
		}
		a := openBytes(t, data)
		sameJSON(t, name, treeJSON(t, a.Object), w)
		if err := a.Verify(); err != nil {
			t.Errorf("%s: Verify: %v", name, err)
		}
		wantName := "archive"
		if name == "path_common" {
			wantName = name
		}
		if a.Name != wantName {
			t.Errorf("%s: archive name %q, want %q", name, a.Name, wantName)
		}
		// Contiguous tensors: the byte range holds exactly the elements.
		for _, tt := range a.Tensors() {
			var b bytes.Buffer
			if _, err := tt.WriteTo(&b); err != nil {
				t.Fatal(err)
			}
			off, n, err := tt.DataRange()
			if !tt.IsContiguous() {
				if err == nil {
					t.Errorf("%s: DataRange of a non-contiguous tensor succeeded", name)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: DataRange: %v", name, err)
				continue
			}
			if !bytes.Equal(data[off:off+n], b.Bytes()) {
				t.Errorf("%s: DataRange bytes differ from WriteTo", name)
			}
			r, err := io.ReadAll(tt.Reader())
			if err != nil || !bytes.Equal(r, b.Bytes()) {
				t.Errorf("%s: Reader differs from WriteTo: %v", name, err)
			}
		}
	}
	// The subclass keeps its class and Python attributes.
	sub, err := openBytes(t, mustRead(t, filepath.Join(dir, "subclass.pt"))).Tensor()
	if err != nil || sub.Class.Name != "MyT" {
		t.Fatalf("subclass: %v, class %v", err, sub.Class)
	}
	if d, ok := sub.State.(*pickle.Dict); !ok {
		t.Errorf("subclass state %s", pickle.TypeName(sub.State))
	} else if v, _ := d.Get("note"); v != "kept" {
		t.Errorf("subclass state %v", d.Items)
	}
	// The transposed view is gathered, not copied as a range.
	tr := openBytes(t, mustRead(t, filepath.Join(dir, "transposed.pt")))
	tt, err := tr.Tensor()
	if err != nil || tt.IsContiguous() {
		t.Fatalf("transposed: %v contiguous=%v", err, tt.IsContiguous())
	}
	// Small reads through Reader give the same bytes as WriteTo.
	var whole bytes.Buffer
	tt.WriteTo(&whole)
	small, err := io.ReadAll(io.LimitReader(oneByteReader{tt.Reader()}, 1<<30))
	if err != nil || !bytes.Equal(small, whole.Bytes()) {
		t.Errorf("byte-at-a-time Reader differs: %v", err)
	}
}

type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGatherPaths checks both ways a view is gathered, against elements
// picked by their index formula: short runs over a small span (read in one
// piece) and over a span too large for that (read run by run).
func TestGatherPaths(t *testing.T) {
	for _, n := range []int64{300, 1500} { // spans of 360 KB and 9 MB
		storage := randBytes(uint64(n), int(n*n*2))
		src := &TensorSource{TensorSpec: TensorSpec{DType: BFloat16, Shape: []int64{n, n - 1}, Stride: []int64{1, n}, Offset: 1, StorageNumel: n * n},
			Data: bytes.NewReader(storage)}
		var b bytes.Buffer
		if _, err := Save(&b, src); err != nil {
			t.Fatal(err)
		}
		tt, err := openBytes(t, b.Bytes()).Tensor()
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, 0, n*(n-1)*2)
		for i := range n {
			for j := range n - 1 {
				k := 1 + i + j*n
				want = append(want, storage[2*k:2*k+2]...)
			}
		}
		var got bytes.Buffer
		if _, err := tt.WriteTo(&got); err != nil || !bytes.Equal(got.Bytes(), want) {
			t.Errorf("n=%d: gathered bytes differ (%v)", n, err)
		}
		small, err := io.ReadAll(oneByteReader{tt.Reader()})
		if err != nil || !bytes.Equal(small, want) {
			t.Errorf("n=%d: byte-at-a-time Reader differs (%v)", n, err)
		}
	}
}

package teextra

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
	"github.com/nemo-migrate/nemo-migrate/internal/torchsave"
)

// writeCases has real torch save every form of extra state TE wrote, each
// as torch.save(obj) in DIR/<case>.pt.
const writeCases = `
import io, os, pickle, sys, torch
d = sys.argv[1]
def bio(obj):
    b = io.BytesIO(); torch.save(obj, b); b.seek(0); return b
def as_tensor(obj):
    return torch.frombuffer(bytearray(pickle.dumps(obj)), dtype=torch.uint8)
g = torch.Generator().manual_seed(3)
# TE 1.x delayed-scaling state (module/base.py get_extra_state), and the
# TE 2.x one (no scale_inv_*).
te1 = {"scale_fwd": torch.rand(3, generator=g), "scale_inv_fwd": torch.rand(3, generator=g),
       "amax_history_fwd": torch.rand(16, 3, generator=g), "scale_bwd": torch.rand(2, generator=g),
       "scale_inv_bwd": torch.rand(2, generator=g), "amax_history_bwd": torch.rand(16, 2, generator=g),
       "extra_fp8_variables": {"num_gemms": 1, "fp8_max_fwd": 448.0, "fp8_max_bwd": 57344.0, "autocast_id_fwd": (1, 2)}}
te2 = {k: v for k, v in te1.items() if not k.startswith("scale_inv")}
# A strided view: the plain pickle must keep offset and stride.
te2["amax_history_bwd"] = torch.rand(4, 16, generator=g).t()[1:]
cases = {
    "none": None,
    "bytesio_none": bio(None),
    "bytesio_plain": bio({"fp8": False, "tag": 3}),
    "bytesio_fp8": bio(te1),
    "tensor_none": as_tensor(None),
    "tensor_empty_dict": as_tensor({}),
    "tensor_fp8": as_tensor(te2),
    "empty_uint8": torch.empty(0, dtype=torch.uint8),
    "empty_float": torch.Tensor(),
}
for k, v in cases.items():
    torch.save(v, os.path.join(d, k + ".pt"))
torch.save({"bytesio_fp8": te1, "tensor_fp8": te2}, os.path.join(d, "expected.pt"))
`

// checkCases loads each DIR/<case>.out.pt with weights_only=True and
// unpickles the uint8 tensor's bytes as TE does (pickle.loads).
const checkCases = `
import json, os, pickle, sys, torch
d, cases = sys.argv[1], json.loads(sys.argv[2])
exp = torch.load(os.path.join(d, "expected.pt"))
def same(a, b):
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) == type(b) and a == b
problems = []
for k in cases:
    t = torch.load(os.path.join(d, k + ".out.pt"), weights_only=True)
    if not (isinstance(t, torch.Tensor) and t.dtype == torch.uint8 and t.dim() == 1):
        problems.append("%s: stored %r, want a 1-D uint8 tensor" % (k, t))
        continue
    state = pickle.loads(t.numpy().tobytes())
    want = exp.get(k)
    if not same(want, state):
        problems.append("%s: loads as %r, want %r" % (k, state, want))
print(json.dumps(problems))
`

func TestNormalizeAgainstTorch(t *testing.T) {
	dir := t.TempDir()
	oracle.Run(t, []string{"torch"}, writeCases, dir)
	cases := []string{"none", "bytesio_none", "bytesio_plain", "bytesio_fp8", "tensor_none", "tensor_empty_dict", "tensor_fp8", "empty_uint8", "empty_float"}
	fp8 := map[string]bool{"bytesio_fp8": true, "tensor_fp8": true}
	for _, c := range cases {
		src := loadObject(t, filepath.Join(dir, c+".pt"))
		p, err := Normalize(src)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if p.FP8 != fp8[c] {
			t.Errorf("%s: FP8 = %v", c, p.FP8)
		}
		if !p.FP8 && !bytes.Equal(p.Pickle, NoState) {
			t.Errorf("%s: pickle %x, want pickle.dumps(None)", c, p.Pickle)
		}
		var out bytes.Buffer
		if _, err := torchsave.Save(&out, p.Tensor()); err != nil {
			t.Fatal(err)
		}
		outPath := filepath.Join(dir, c+".out.pt")
		if err := os.WriteFile(outPath, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		// The written state means what the source meant.
		a, err := Canonical(src)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Canonical(loadObject(t, outPath))
		if err != nil {
			t.Fatal(err)
		}
		if !pickle.Equal(a, b) {
			t.Errorf("%s: canonical state changed: %v -> %v", c, a, b)
		}
	}
	arg, _ := json.Marshal(cases)
	check := func(t *testing.T, python string) {
		var problems []string
		out := oracle.RunWith(t, python, []string{"torch"}, checkCases, dir, string(arg))
		if err := json.Unmarshal(out, &problems); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		for _, p := range problems {
			t.Error(p)
		}
	}
	t.Run("host", func(t *testing.T) { check(t, oracle.Python(t, "torch")) })
	for _, s := range oracle.Stacks(t, "torch") {
		t.Run(s.Name, func(t *testing.T) { check(t, s.Python) })
	}
}

func loadObject(t *testing.T, path string) any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	a, err := torchsave.Open(f, st.Size())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return a.Object
}

func TestNormalizeRejects(t *testing.T) {
	for name, v := range map[string]any{
		"string":      "x",
		"dict":        pickle.NewDict("a", int64(1)),
		"not a torch": torchsave.BytesIO([]byte("not a zip")),
	} {
		if _, err := Normalize(v); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

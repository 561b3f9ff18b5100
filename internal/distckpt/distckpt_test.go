package distckpt

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
	"github.com/nemo-migrate/nemo-migrate/internal/torchsave"
)

type manifest struct {
	Tensors map[string]struct {
		DType string  `json:"dtype"`
		Shape []int64 `json:"shape"`
	} `json:"tensors"`
	Objects map[string]string `json:"objects"`
}

// fixture has Python write a NeMo-1-shaped weights directory with real torch
// (and zarr) and dump the expected bytes of every tensor and object.
func fixture(t *testing.T, args ...string) (weights, expected string, man manifest) {
	t.Helper()
	dir := t.TempDir()
	oracle.Run(t, []string{"torch", "zarr"}, `
import sys, runpy
sys.argv = ["nemo1fixture.py"] + sys.argv[1:]
runpy.run_module("nemo1fixture", run_name="__main__")
`, append([]string{dir, "--form", "dir"}, args...)...)
	expected = filepath.Join(dir, "expected")
	out := oracle.Run(t, []string{"torch", "zarr"}, `
import sys, nemo2check
nemo2check.dump_expected(sys.argv[1] + "/expected.pt", sys.argv[2])
if sys.argv[3] == "torch_dist":
    # The fixture itself must be a checkpoint torch's own reader loads.
    print("bad:", nemo2check.load_dcp(sys.argv[1] + "/extracted/model_weights", sys.argv[1] + "/expected.pt"))
`, dir, expected, backendOf(args))
	if strings.Contains(string(out), "bad:") && !strings.Contains(string(out), "bad: []") {
		t.Fatalf("torch cannot load the fixture: %s", out)
	}
	b, err := os.ReadFile(filepath.Join(expected, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "extracted", "model_weights"), expected, man
}

func backendOf(args []string) string {
	for i, a := range args {
		if a == "--backend" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return "torch_dist"
}

// assemble reads every chunk of t into one row-major buffer.
func assemble(t *testing.T, tn *Tensor) []byte {
	t.Helper()
	item := tn.DType.ItemSize()
	buf := make([]byte, tn.NumBytes())
	strides := make([]int64, len(tn.Shape))
	s := item
	for d := len(tn.Shape) - 1; d >= 0; d-- {
		strides[d] = s
		s *= tn.Shape[d]
	}
	for _, ch := range tn.Chunks {
		r, err := ch.Open()
		if err != nil {
			t.Fatalf("%s chunk %v: %v", tn.Key, ch.Offsets, err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatalf("%s chunk %v: %v", tn.Key, ch.Offsets, err)
		}
		if int64(len(data)) != ch.NumBytes() {
			t.Fatalf("%s chunk %v: %d bytes, want %d", tn.Key, ch.Offsets, len(data), ch.NumBytes())
		}
		// Copy rows of the last dimension into place.
		rank := len(tn.Shape)
		if rank == 0 {
			copy(buf, data)
			continue
		}
		row := ch.Sizes[rank-1] * item
		idx := make([]int64, rank)
		for pos := int64(0); pos < int64(len(data)); pos += row {
			off := int64(0)
			for d := 0; d < rank; d++ {
				off += (ch.Offsets[d] + idx[d]) * strides[d]
			}
			copy(buf[off:off+row], data[pos:pos+row])
			for d := rank - 2; d >= 0; d-- {
				idx[d]++
				if idx[d] < ch.Sizes[d] {
					break
				}
				idx[d] = 0
			}
		}
	}
	return buf
}

func checkAgainst(t *testing.T, c *Checkpoint, expected string, man manifest) {
	t.Helper()
	if len(c.Tensors) != len(man.Tensors) {
		t.Errorf("%d tensors, python wrote %d", len(c.Tensors), len(man.Tensors))
	}
	for key, want := range man.Tensors {
		tn, ok := c.Tensor(key)
		if !ok {
			t.Errorf("tensor %s missing", key)
			continue
		}
		if string(tn.DType) != want.DType || !slices.Equal(tn.Shape, want.Shape) {
			t.Errorf("%s: %s %v, want %s %v", key, tn.DType, tn.Shape, want.DType, want.Shape)
			continue
		}
		wantBytes, err := os.ReadFile(filepath.Join(expected, key+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		if got := assemble(t, tn); !bytes.Equal(got, wantBytes) {
			t.Errorf("%s: bytes differ from what torch wrote", key)
		}
		rm, err := tn.OpenRowMajor()
		if err != nil {
			t.Errorf("%s: OpenRowMajor: %v", key, err)
			continue
		}
		got, err := io.ReadAll(iotest.OneByteReader(rm))
		rm.Close()
		if err != nil || !bytes.Equal(got, wantBytes) {
			t.Errorf("%s: row-major stream differs from what torch wrote (%v)", key, err)
		}
	}
	if len(c.Objects) != len(man.Objects) {
		t.Errorf("%d objects, python wrote %d", len(c.Objects), len(man.Objects))
	}
	for key, wantHex := range man.Objects {
		o, ok := c.Object(key)
		if !ok {
			t.Errorf("object %s missing", key)
			continue
		}
		v, closer, err := o.Value()
		if err != nil {
			t.Errorf("object %s: %v", key, err)
			continue
		}
		data, ok := torchsave.BytesIOData(v)
		closer.Close()
		if !ok || hex.EncodeToString(data) != wantHex {
			t.Errorf("object %s: payload is not the BytesIO python saved", key)
		}
	}
}

func TestReadPythonCheckpoints(t *testing.T) {
	for _, args := range [][]string{
		{"--arch", "llama", "--backend", "torch_dist"},
		{"--arch", "llama", "--backend", "torch_dist", "--tp", "2", "--ranks", "2", "--mcore"},
		{"--arch", "mixtral", "--backend", "torch_dist"},
		{"--arch", "nemotron", "--backend", "zarr"},
		{"--arch", "mixtral", "--backend", "zarr", "--tp", "2"},
		{"--arch", "gpt", "--backend", "zarr"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			weights, expected, man := fixture(t, args...)
			c, err := Open(os.DirFS(weights), ".")
			if err != nil {
				t.Fatal(err)
			}
			if c.Config.ShardedBackend != backendOf(args) {
				t.Errorf("backend %q", c.Config.ShardedBackend)
			}
			checkAgainst(t, c, expected, man)
			if !c.HasCommon() {
				t.Error("common.pt not found")
			}
			a, closer, err := c.Common()
			if err != nil {
				t.Fatal(err)
			}
			closer.Close()
			if _, ok := a.Object.(interface{ Len() int }); !ok {
				t.Errorf("common.pt is %T", a.Object)
			}
		})
	}
}

func TestShardKeys(t *testing.T) {
	k := ShardKey("a.b._extra_state", []int64{3, 5}, []int64{32, 64})
	if k != "a.b._extra_state/shard_3.5_32.64" {
		t.Errorf("ShardKey = %q", k)
	}
	base, off, shape, ok := ParseShardKey(k)
	if !ok || base != "a.b._extra_state" || !slices.Equal(off, []int64{3, 5}) || !slices.Equal(shape, []int64{32, 64}) {
		t.Errorf("ParseShardKey = %q %v %v %v", base, off, shape, ok)
	}
	for _, bad := range []string{"noshard", "a/shard_x_1", "a/shard_1", "a/shard_-1_2"} {
		if _, _, _, ok := ParseShardKey(bad); ok {
			t.Errorf("ParseShardKey(%q) accepted", bad)
		}
	}
}

func TestNotACheckpoint(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(os.DirFS(dir), "."); err == nil || !strings.Contains(err.Error(), "metadata.json") {
		t.Errorf("empty dir: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(`{"sharded_backend": "tensorstore"}`), 0o644)
	if _, err := Open(os.DirFS(dir), "."); err == nil || !strings.Contains(err.Error(), "tensorstore") {
		t.Errorf("unknown backend: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(`{"sharded_backend": "torch_dist"}`), 0o644)
	if _, err := Open(os.DirFS(dir), "."); err == nil || !strings.Contains(err.Error(), ".metadata") {
		t.Errorf("missing .metadata: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(`{not json`), 0o644)
	if _, err := Open(os.DirFS(dir), "."); err == nil {
		t.Error("bad json accepted")
	}
}

func TestConfigEncode(t *testing.T) {
	got := string(NeMo2Config.Encode())
	want := `{"sharded_backend": "torch_dist", "sharded_backend_version": 1, "common_backend": "torch", "common_backend_version": 1}`
	if got != want {
		t.Errorf("Encode = %s", got)
	}
}

// TestUnrewrittenBF16Arrays: arrays whose .zarray still says "|V2" (a save
// whose bfloat16 rewrite did not happen) read as bfloat16, bit for bit, and
// the user hears of them once, not once per array.
func TestUnrewrittenBF16Arrays(t *testing.T) {
	weights, expected, man := fixture(t, "--arch", "llama", "--backend", "zarr")
	zarrays, _ := filepath.Glob(filepath.Join(weights, "*", ".zarray"))
	changed := 0
	for _, p := range zarrays {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if nb := bytes.Replace(b, []byte(`"bfloat16"`), []byte(`"|V2"`), 1); !bytes.Equal(nb, b) {
			os.WriteFile(p, nb, 0o644)
			changed++
		}
	}
	if changed < 3 {
		t.Fatalf("only %d bfloat16 arrays in the fixture", changed)
	}
	c, err := Open(os.DirFS(weights), ".")
	if err != nil {
		t.Fatal(err)
	}
	checkAgainst(t, c, expected, man)
	var v2 []string
	for _, n := range c.Notes {
		if strings.Contains(n, "|V2") {
			v2 = append(v2, n)
		}
	}
	if len(v2) != 1 || !strings.HasPrefix(v2[0], fmt.Sprintf("%d arrays (", changed)) {
		t.Errorf("notes about |V2 arrays: %q, want one counting %d", v2, changed)
	}
}

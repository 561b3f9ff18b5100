package verify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/convert"
	"github.com/nemo-migrate/nemo-migrate/internal/dcp"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo1"
	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// converted has real torch write a NeMo 1.0 checkpoint and converts it.
func converted(t *testing.T, args ...string) (input, out string) {
	t.Helper()
	dir := t.TempDir()
	oracle.Run(t, []string{"torch", "zarr"}, `
import sys, runpy
sys.argv = ["nemo1fixture.py"] + sys.argv[1:]
runpy.run_module("nemo1fixture", run_name="__main__")
`, append([]string{dir, "--form", "nemo"}, args...)...)
	input = filepath.Join(dir, "model.nemo")
	out = filepath.Join(t.TempDir(), "out")
	if _, err := convert.Run(context.Background(), convert.Options{Input: input, Output: out}); err != nil {
		t.Fatal(err)
	}
	return input, out
}

func verifyAll(t *testing.T, input, out string) *Report {
	t.Helper()
	root, err := os.OpenRoot(out)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	rep, ck, err := Weights(context.Background(), root.FS(), "weights", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ck != nil {
		src, err := convert.Open(t.Context(), input, nemo1.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if err := Against(context.Background(), ck, src.Weights, convert.TargetKey(src.Weights), convert.ReplacedObject, rep, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	return rep
}

func TestVerifyPassesOnConvertedCheckpoints(t *testing.T) {
	for _, args := range [][]string{
		{"--backend", "torch_dist"}, {"--backend", "zarr"},
		// Local-spec norms, written under other names than stored.
		{"--backend", "torch_dist", "--local"},
	} {
		backend := strings.Join(args, " ")
		input, out := converted(t, append([]string{"--arch", "mixtral"}, args...)...)
		rep := verifyAll(t, input, out)
		if !rep.OK() {
			t.Errorf("%s: findings on a correct conversion: %v", backend, rep.Findings)
		}
		if rep.Compared == 0 || rep.Chunks == 0 {
			t.Errorf("%s: nothing compared: %+v", backend, rep)
		}
	}
}

func hasFinding(rep *Report, key, text string) bool {
	for _, f := range rep.Findings {
		if strings.Contains(f.Key, key) && strings.Contains(f.Problem, text) {
			return true
		}
	}
	return false
}

// TestVerifyCatchesAChangedByte flips one byte inside one tensor's data in
// the output: verify must name that tensor.
func TestVerifyCatchesAChangedByte(t *testing.T) {
	input, out := converted(t, "--arch", "llama", "--backend", "zarr")
	md := readIndex(t, out)
	key := "module.decoder.layers.mlp.linear_fc2.weight"
	e, _ := md.Entry(key)
	info, _ := md.Lookup(key, e.Tensor.Chunks[1].Offsets)
	path := filepath.Join(out, "weights", info.RelativePath)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The item's data lies in its second 64-byte-aligned record; change a
	// byte 2000 bytes before the item ends: inside the 20 KiB of data, past the zip trailer.
	pos := info.Offset + info.Length - 2000
	data[pos] ^= 0x40
	os.WriteFile(path, data, 0o644)
	rep := verifyAll(t, input, out)
	if !hasFinding(rep, key, "differs from the source at byte") {
		t.Errorf("the changed byte went unnoticed by --source: %v", rep.Findings)
	}
	if !hasFinding(rep, key, "CRC") {
		t.Errorf("the changed byte went unnoticed by the CRC check: %v", rep.Findings)
	}
}

// TestVerifyCatchesARemovedChunk drops one chunk from the index.
func TestVerifyCatchesARemovedChunk(t *testing.T) {
	input, out := converted(t, "--arch", "llama", "--backend", "torch_dist")
	md := readIndex(t, out)
	key := "module.decoder.layers.self_attention.linear_qkv.weight"
	for i := range md.Entries {
		if md.Entries[i].FQN == key {
			md.Entries[i].Tensor.Chunks = md.Entries[i].Tensor.Chunks[1:]
		}
	}
	var kept []dcp.StorageEntry
	dropped := false
	for _, s := range md.Storage {
		if s.Index.FQN == key && !dropped {
			dropped = true
			continue
		}
		kept = append(kept, s)
	}
	md.Storage = kept
	b, err := dcp.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(out, "weights", ".metadata"), b, 0o644)
	rep := verifyAll(t, input, out)
	if !hasFinding(rep, key, "covered by no chunk") {
		t.Errorf("the removed chunk went unnoticed: %v", rep.Findings)
	}
	if !hasFinding(rep, key, "chunks") {
		t.Errorf("--source did not notice the missing chunk: %v", rep.Findings)
	}
}

func TestVerifyIncomplete(t *testing.T) {
	input, out := converted(t, "--arch", "gpt", "--backend", "torch_dist")
	os.Remove(filepath.Join(out, "weights", "metadata.json"))
	rep := verifyAll(t, input, out)
	if !hasFinding(rep, "metadata.json", "incomplete") {
		t.Errorf("missing metadata.json: %v", rep.Findings)
	}
}

func readIndex(t *testing.T, out string) *dcp.Metadata {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "weights", ".metadata"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := dcp.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// TestVerifyAcrossChunkGrids compares an output stored in one chunk grid
// with a source stored in another (as NeMo's own converter re-chunks a
// TP=2 checkpoint), streaming both in row-major order.
func TestVerifyAcrossChunkGrids(t *testing.T) {
	_, out := converted(t, "--arch", "mixtral", "--backend", "torch_dist", "--seed", "3")
	dir := t.TempDir()
	oracle.Run(t, []string{"torch", "zarr"}, `
import sys, runpy
sys.argv = ["nemo1fixture.py"] + sys.argv[1:]
runpy.run_module("nemo1fixture", run_name="__main__")
`, dir, "--form", "nemo", "--arch", "mixtral", "--backend", "zarr", "--tp", "2", "--seed", "3")
	tp2 := filepath.Join(dir, "model.nemo")
	rep := verifyAll(t, tp2, out)
	if !rep.OK() {
		t.Fatalf("same values in another grid: %v", rep.Findings)
	}
	if rep.Compared == 0 {
		t.Fatal("nothing compared")
	}
	// One changed byte is found and placed.
	md := readIndex(t, out)
	key := "module.decoder.layers.self_attention.linear_proj.weight"
	e, _ := md.Entry(key)
	info, _ := md.Lookup(key, e.Tensor.Chunks[0].Offsets)
	path := filepath.Join(out, "weights", info.RelativePath)
	data, _ := os.ReadFile(path)
	data[info.Offset+info.Length-2000] ^= 1
	os.WriteFile(path, data, 0o644)
	rep = verifyAll(t, tp2, out)
	if !hasFinding(rep, key, "differs from the source at element [0 ") {
		t.Errorf("changed byte not found across grids: %v", rep.Findings)
	}
}

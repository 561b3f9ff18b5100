package export

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/convert"
	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
	"github.com/nemo-migrate/nemo-migrate/internal/verify"
)

// runScript runs one of internal/oracle/py's scripts as __main__.
func runScript(t *testing.T, python string, modules []string, script string, args ...string) string {
	t.Helper()
	return string(oracle.RunWith(t, python, modules, `
import sys, runpy
name = sys.argv[1]
sys.argv = [name + ".py"] + sys.argv[2:]
runpy.run_module(name, run_name="__main__")
`, append([]string{script}, args...)...))
}

var hfModules = []string{"torch", "transformers", "safetensors", "sentencepiece", "tokenizers"}

// TestHuggingFace is the proof the export issue asks for: transformers
// itself builds a small random model of each family; the host's torch 1.13
// writes it as a NeMo 1 checkpoint the way NeMo 1's HF importers lay it out
// (padded vocabulary included); convert turns that into NeMo 2, and current
// torch's DCP writes a NeMo 2 checkpoint as NeMo 2's importer lays it out.
// Each of the three is exported, and transformers loads the result with
// from_pretrained and finds every tensor, the logits of a prompt and the
// tokenizer's ids equal to the original's.
func TestHuggingFace(t *testing.T) {
	stacks := oracle.StacksWith(t, hfModules...)
	if len(stacks) == 0 {
		return
	}
	host := oracle.Interpreter()
	sid := stacks[len(stacks)-1].Python
	for _, c := range []struct {
		arch    string
		fixture []string // nemo1fixture.py flags: backends, TP, forms
		n2      []string // nemo2fromhf.py flags
		name    string   // the subtest, when not arch
	}{
		{arch: "llama", fixture: []string{"--tp", "2"}},
		{arch: "llama31", fixture: []string{"--backend", "zarr"}},
		{arch: "mistral"},
		{arch: "mixtral", fixture: []string{"--backend", "zarr"}},
		{arch: "qwen2", fixture: []string{"--tp", "2"}},
		{arch: "starcoder2", fixture: []string{"--backend", "zarr", "--tp", "2"}},
		{arch: "nemotron"},
		{arch: "gpt", fixture: []string{"--form", "dir"}},
		{arch: "starcoder", fixture: []string{"--tp", "2"}},
		// Gemma's norms as NeMo 1's importer stored them (1 + w: export
		// subtracts 1) and as NeMo 2 and Hugging Face store them.
		{arch: "gemma", fixture: []string{"--tp", "2"}, n2: []string{"--nemo1-norms"}},
		{arch: "gemma", fixture: []string{"--zero-centered", "--backend", "zarr"}, name: "gemma-zero-centered"},
		{arch: "gemma2", fixture: []string{"--tp", "2"}},
		{arch: "glm", fixture: []string{"--tp", "2"}}, // ChatGLM's computation
		// A Mamba hybrid: NemotronHForCausalLM from MambaModel's per-layer,
		// split mixer tensors.
		{arch: "nemotronh", fixture: []string{"--backend", "zarr", "--tp", "2"}},
	} {
		if c.name == "" {
			c.name = c.arch
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // mostly Python processes: two at a time fit two cores
			dir := t.TempDir()
			hf := filepath.Join(dir, "hf")
			runScript(t, sid, hfModules, "hfmodel", dir, "--arch", c.arch)
			runScript(t, host, []string{"torch", "zarr"}, "nemo1fixture", append([]string{filepath.Join(dir, "n1"), "--from-hf", hf}, c.fixture...)...)
			nemo1 := filepath.Join(dir, "n1", "model.nemo")
			if slices.Contains(c.fixture, "dir") {
				nemo1 = filepath.Join(dir, "n1", "extracted")
			}
			n2c := filepath.Join(dir, "n2c")
			if _, err := convert.Run(context.Background(), convert.Options{Input: nemo1, Output: n2c, Target: &convert.TargetOptions{ModelID: "auto"}}); err != nil {
				t.Fatal(err)
			}
			n2 := filepath.Join(dir, "n2")
			runScript(t, sid, hfModules, "nemo2fromhf", append([]string{hf, n2, "--context", n2c}, c.n2...)...)
			var outs []string
			for _, in := range []struct{ name, path string }{{"nemo1", nemo1}, {"nemo2-converted", n2c}, {"nemo2-importer", n2}} {
				out := filepath.Join(dir, "out-"+in.name)
				opts := Options{Input: in.path, Output: out, ShardSize: 40 << 10}
				if c.arch == "qwen2" {
					// The checkpoint's SentencePiece tokenizer cannot be a
					// qwen2 model's (transformers forces Qwen2Tokenizer):
					// refused; the model's own tokenizer directory exports.
					if _, err := Run(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "Qwen2Tokenizer") {
						t.Errorf("%s: a SentencePiece tokenizer for qwen2: %v", in.name, err)
					}
					opts.Tokenizer = convert.TargetOptions{TokenizerPath: hf}
				}
				res, err := Run(context.Background(), opts)
				if err != nil {
					t.Fatalf("%s: %v", in.name, err)
				}
				if len(res.Files) < 2 {
					t.Errorf("%s: files %v", in.name, res.Files)
				}
				if rep, err := Verify(context.Background(), out, in.path, opts.Tokenizer, verify.Options{}); err != nil || !rep.OK() || rep.Compared != rep.Tensors {
					t.Errorf("%s: verify: %+v, %v", in.name, rep, err)
				}
				outs = append(outs, out)
			}
			// One run checks the three exports against one load of the
			// original: transformers' start-up is most of a check's time.
			got := runScript(t, sid, hfModules, "hfcheck", append([]string{outs[0], hf, "--also"}, outs[1:]...)...)
			if n := strings.Count("\n"+got, "\nok: "); n != len(outs) {
				t.Errorf("%d of %d exports check out:\n%s", n, len(outs), got)
			}
		})
	}
}

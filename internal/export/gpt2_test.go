package export

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/convert"
	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
	"github.com/nemo-migrate/nemo-migrate/internal/verify"
)

// TestExportGPT2BPE exports a NeMo 1 checkpoint with megatron_gpt_config's
// default tokenizer (library megatron, GPT2BPETokenizer over vocab.json and
// merges.txt artifacts), and the NeMo 2 checkpoint convert makes of it.
// transformers builds a GPTBigCode model (learned positions, GeLU, biases:
// NeMo 1's default GPT) with GPT-2's tokenizer over the seed vocabulary;
// the host's torch writes it as NeMo 1 does. Each export must load in
// transformers with every tensor, the logits and the tokenizer's ids equal
// to the original's (hfcheck.py), and encode texts as GPT-2's BPE over the
// same two files does, loaded every way transformers and tokenizers load
// it (gpt2check.py). A qwen2 model, whose tokenizer class transformers
// forces, is refused the GPT-2 tokenizer.
func TestExportGPT2BPE(t *testing.T) {
	modules := append([]string{"regex", "yaml"}, hfModules...)
	stacks := oracle.StacksWith(t, modules...)
	if len(stacks) == 0 {
		return
	}
	host, sid := oracle.Interpreter(), stacks[len(stacks)-1].Python
	dir := t.TempDir()
	// Copies under /tmp, which the chroot sees.
	var seed []string
	for _, name := range []string{"gpt2bpe_vocab.json", "gpt2bpe_merges.txt"} {
		data, err := os.ReadFile(filepath.Join("..", "tokenizer", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		seed = append(seed, p)
	}
	for _, arch := range []string{"gpt", "qwen2"} {
		t.Run(arch, func(t *testing.T) {
			dir := filepath.Join(dir, arch)
			hf := filepath.Join(dir, "hf")
			runScript(t, sid, hfModules, "hfmodel", dir, "--arch", arch, "--gpt2", seed[0], seed[1])
			runScript(t, host, []string{"torch", "zarr"}, "nemo1fixture", filepath.Join(dir, "n1"), "--from-hf", hf,
				"--gpt2-vocab", seed[0], "--gpt2-merges", seed[1])
			nemo1 := filepath.Join(dir, "n1", "model.nemo")
			if arch == "qwen2" {
				_, err := Run(context.Background(), Options{Input: nemo1, Output: filepath.Join(dir, "out")})
				if err == nil || !strings.Contains(err.Error(), "Qwen2Tokenizer") || !strings.Contains(err.Error(), "--tokenizer_path") {
					t.Errorf("a GPT-2 tokenizer for qwen2: %v", err)
				}
				return
			}
			n2 := filepath.Join(dir, "n2")
			if _, err := convert.Run(context.Background(), convert.Options{Input: nemo1, Output: n2, Target: &convert.TargetOptions{ModelID: "auto"}}); err != nil {
				t.Fatal(err)
			}
			var outs []string
			for _, in := range []struct{ name, path string }{{"nemo1", nemo1}, {"nemo2", n2}} {
				out := filepath.Join(dir, "out-"+in.name)
				opts := Options{Input: in.path, Output: out, ShardSize: 40 << 10}
				res, err := Run(context.Background(), opts)
				if err != nil {
					t.Fatalf("%s: %v", in.name, err)
				}
				for _, name := range []string{"vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json"} {
					if !strings.Contains(strings.Join(res.Files, " "), name) {
						t.Errorf("%s: files %v lack %s", in.name, res.Files, name)
					}
				}
				for i, name := range []string{"vocab.json", "merges.txt"} {
					want, _ := os.ReadFile(seed[i])
					if got, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(got) != string(want) {
						t.Errorf("%s: %s is not the checkpoint's: %v", in.name, name, err)
					}
				}
				if rep, err := Verify(context.Background(), out, in.path, opts.Tokenizer, verify.Options{}); err != nil || !rep.OK() || rep.Compared != rep.Tensors {
					t.Errorf("%s: verify: %+v, %v", in.name, rep, err)
				}
				if got := runScript(t, sid, hfModules, "hfcheck", out, hf); !strings.HasPrefix(got, "ok: ") {
					t.Errorf("%s: %s", in.name, got)
				}
				outs = append(outs, out)
			}
			got := runScript(t, sid, modules, "gpt2check", append(seed, outs...)...)
			if !strings.HasPrefix(got, "ok: 8 tokenizers") {
				t.Errorf("gpt2check: %s", got)
			}
		})
	}
}

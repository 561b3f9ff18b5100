package convert

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle/fiddletest"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo2"
	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
	"github.com/nemo-migrate/nemo-migrate/internal/tokenizer"
)

// gpt2Seed returns the absolute paths of the tokenizer package's GPT-2
// vocab.json and merges.txt, which the tokenizers library trained.
func gpt2Seed(t *testing.T) (vocab, merges string) {
	t.Helper()
	vocab, err := filepath.Abs("../tokenizer/testdata/gpt2bpe_vocab.json")
	if err != nil {
		t.Fatal(err)
	}
	merges, _ = filepath.Abs("../tokenizer/testdata/gpt2bpe_merges.txt")
	return vocab, merges
}

// gpt2Fixture writes a NeMo 1 checkpoint (Llama-shaped) whose model_config.yaml has
// megatron_gpt_config.yaml's tokenizer block (library megatron, type
// GPT2BPETokenizer, vocab_file and merge_file as nemo: artifacts); its
// embedding has 512 rows for the 421 tokens.
func gpt2Fixture(t *testing.T, form string) (dir, input string) {
	vocab, merges := gpt2Seed(t)
	return writeFixture(t, "--arch", "llama", "--dims", "2,64,160,4,2,512", "--form", form,
		"--gpt2-vocab", vocab, "--gpt2-merges", merges)
}

// modelYAMLTokenizerScript prints context/model.yaml's tokenizer as
// yaml.safe_load reads it (NeMo's exporters read it so, without fiddle).
const modelYAMLTokenizerScript = `
import json, sys, yaml
print(json.dumps(yaml.safe_load(open(sys.argv[1]))["tokenizer"]))
`

// TestMegatronGPT2Tokenizer converts a checkpoint with NeMo 1's default
// GPT tokenizer. io.json and model.yaml must describe the AutoTokenizer
// NeMo 2 builds offline into NeMo 1's GPT2Tokenizer, naming a directory of
// context/ that holds the checkpoint's vocabulary and merges byte for
// byte; tokenizer.TestGPT2BPETransformers proves those files encode as
// NeMo 1 did.
func TestMegatronGPT2Tokenizer(t *testing.T) {
	dir, input := gpt2Fixture(t, "nemo")
	out := filepath.Join(t.TempDir(), "out")
	res, err := Run(context.Background(), Options{Input: input, Output: out, Target: &TargetOptions{ModelID: "auto"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tokenizer != string(tokenizer.Megatron) {
		t.Errorf("tokenizer %q", res.Tokenizer)
	}
	ctx := filepath.Join(out, "context")
	report := fiddletest.Walk(t, filepath.Join(ctx, "io.json"))
	tok := report["<root>.model.tokenizer"]
	if tok.Class != tokenizer.AutoTokenizerClass || len(tok.Args) != 2 || tok.Args["use_fast"] != false {
		t.Errorf("io.json tokenizer %+v", tok)
	}
	name, _ := tok.Args["pretrained_model_name"].(string)
	var y map[string]any
	if err := json.Unmarshal(oracle.Run(t, []string{"yaml"}, modelYAMLTokenizerScript, filepath.Join(ctx, "model.yaml")), &y); err != nil {
		t.Fatal(err)
	}
	if y["_target_"] != tokenizer.AutoTokenizerClass || y["pretrained_model_name"] != name || y["use_fast"] != false ||
		y["vocab_file"] != nil || y["merges_file"] != nil {
		t.Errorf("model.yaml tokenizer %v, io.json names %q", y, name)
	}
	vocab, merges := gpt2Seed(t)
	for file, src := range map[string]string{"vocab.json": vocab, "merges.txt": merges} {
		want, _ := os.ReadFile(src)
		got, err := os.ReadFile(filepath.Join(ctx, name, file))
		if err != nil || string(got) != string(want) {
			t.Errorf("context/%s/%s is not the checkpoint's artifact: %v", name, file, err)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(ctx, name, "tokenizer_config.json"))
	if err != nil || !strings.Contains(string(cfg), `"tokenizer_class": "GPT2Tokenizer"`) {
		t.Errorf("tokenizer_config.json: %v\n%s", err, cfg)
	}
	if _, err := os.Stat(filepath.Join(ctx, name, "tokenizer.json")); err != nil {
		t.Error(err)
	}
	// Read back as export and --model_id DIR read a context.
	info, err := nemo2.ReadTokenizer(out)
	if err != nil || info.VocabSize != 421 || info.EOS != 420 {
		t.Errorf("context tokenizer read back: %+v, %v", info, err)
	}
	checkWithTorch(t, out, dir, true)

	// NeMo 2's AutoTokenizer as model.yaml describes it, with real
	// transformers, encodes as GPT-2's BPE over the artifacts (their
	// copies in context/, equal as checked above: the chroot sees /tmp).
	modules := []string{"transformers", "tokenizers", "regex", "yaml"}
	for _, s := range oracle.StacksWith(t, modules...) {
		stdout, stderr, err := oracle.RunErrWith(t, s.Python, modules, `
import sys, runpy
sys.argv = ["gpt2check.py"] + sys.argv[1:]
runpy.run_module("gpt2check", run_name="__main__")
`, filepath.Join(ctx, name, "vocab.json"), filepath.Join(ctx, name, "merges.txt"), ctx)
		if err != nil || !strings.HasPrefix(string(stdout), "ok: ") {
			t.Errorf("%s: gpt2check: %v\n%s%s", s.Name, err, stdout, stderr)
		}
	}
}

func TestMegatronTokenizerErrors(t *testing.T) {
	_, input := gpt2Fixture(t, "dir")
	cfgPath := filepath.Join(input, "model_config.yaml")
	orig, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	convert := func(t *testing.T, edit func(string) string, opts TargetOptions) error {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(edit(string(orig))), 0o644); err != nil {
			t.Fatal(err)
		}
		opts.ModelID = "auto"
		_, err := Run(context.Background(), Options{Input: input, Output: filepath.Join(t.TempDir(), "o"), Target: &opts})
		return err
	}
	replace := func(old, new string) func(string) string {
		return func(s string) string {
			if !strings.Contains(s, old) {
				t.Fatalf("model_config.yaml has no %q", old)
			}
			return strings.Replace(s, old, new, 1)
		}
	}
	vocab, merges := gpt2Seed(t)
	gpt2Dir := t.TempDir()
	for name, src := range map[string]string{"vocab.json": vocab, "merges.txt": merges} {
		data, _ := os.ReadFile(src)
		os.WriteFile(filepath.Join(gpt2Dir, name), data, 0o644)
	}
	noVocab := func(s string) string {
		i := strings.Index(s, "  vocab_file: ")
		j := strings.Index(s[i:], "\n")
		return s[:i] + "  vocab_file: null" + s[i+j:]
	}
	for _, c := range []struct {
		name string
		edit func(string) string
		opts TargetOptions
		want []string // empty: converts
	}{
		{"null vocab_file", noVocab, TargetOptions{}, []string{"vocab_file", "downloaded GPT-2's", "--tokenizer_library megatron --tokenizer_path"}},
		{"null vocab_file, files passed", noVocab, TargetOptions{TokenizerPath: gpt2Dir, TokenizerLibrary: "megatron"}, nil},
		{"special tokens", replace("  delimiter: null", "  special_tokens: {pad_token: '<pad>'}"), TargetOptions{}, []string{"tokenizer.special_tokens", "--tokenizer_path"}},
		{"additional special tokens", replace("  delimiter: null", "  additional_special_tokens: ['<x>']"), TargetOptions{}, []string{"tokenizer.additional_special_tokens"}},
		{"empty special tokens", replace("  delimiter: null", "  special_tokens: {}"), TargetOptions{}, nil},
		{"bert", replace("GPT2BPETokenizer", "BertWordPieceCase"), TargetOptions{}, []string{`type "BertWordPieceCase" is not supported`, "--tokenizer_path"}},
		{"missing merges artifact", replace("_gpt2-merges.txt", "_other-merges.txt"), TargetOptions{}, []string{"tokenizer.merge_file", "_other-merges.txt", "not in the checkpoint"}},
		{"bad merges artifact", func(s string) string {
			return strings.Replace(s, "9e8d7c6b5a4f43e2a1b0c9d8e7f6a5b4_gpt2-merges.txt", "5c3b0d4e9a8f47a2b1c6d7e8f9a0b1c2_gpt2-vocab.json", 1)
		}, TargetOptions{}, []string{"GPT-2 merges", "_gpt2-vocab.json", "line 1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := convert(t, c.edit, c.opts)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("converted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

package convert

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/distckpt"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo1"
)

// A model id whose architecture differs from model_config.yaml is refused
// before anything is written, naming the fields and suggesting auto.
func TestModelIDMismatchNamesFields(t *testing.T) {
	_, input := writeFixture(t, "--arch", "llama", "--backend", "torch_dist", "--form", "nemo")
	parent := t.TempDir()
	_, err := Run(context.Background(), Options{Input: input, Output: filepath.Join(parent, "out"),
		Target: &TargetOptions{ModelID: "meta-llama/Meta-Llama-3-8B"}})
	if err == nil {
		t.Fatal("a 2-layer checkpoint converted as Llama-3-8B")
	}
	for _, want := range []string{"num_layers", "hidden_size", "auto"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("wrote %v", entries)
	}
}

// Without a model_config.yaml to cross-check, the tensors themselves are
// checked against the model's manifest: the error names the key and both
// shapes.
func TestShapeMismatchNamesKeyAndShapes(t *testing.T) {
	dir, input := writeFixture(t, "--arch", "llama", "--backend", "zarr", "--form", "dir")
	tok := filepath.Join(dir, "extracted", "0123456789abcdef0123456789abcdef_tokenizer.model")
	parent := t.TempDir()
	_, err := Run(context.Background(), Options{Input: filepath.Join(input, "model_weights"), Output: filepath.Join(parent, "out"),
		Target: &TargetOptions{ModelID: "meta-llama/Llama-2-7b-hf", TokenizerPath: tok}})
	if err == nil {
		t.Fatal("converted with the wrong shapes")
	}
	for _, want := range []string{"module.decoder.layers.self_attention.linear_qkv.weight", "(32, 12288, 4096)", "(2, 128, 64)", "--model_id auto"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("wrote %v", entries)
	}
}

func TestAutoNeedsConfig(t *testing.T) {
	_, input := writeFixture(t, "--arch", "gpt", "--backend", "torch_dist", "--form", "weights")
	_, err := Run(context.Background(), Options{Input: input, Output: filepath.Join(t.TempDir(), "out"), Target: &TargetOptions{ModelID: "auto"}})
	if err == nil || !strings.Contains(err.Error(), "model_config.yaml") {
		t.Errorf("auto on bare weights: %v", err)
	}
}

func TestRejectsLegacyGPT(t *testing.T) {
	_, input := writeFixture(t, "--arch", "gpt", "--backend", "torch_dist", "--form", "dir")
	cfg := filepath.Join(input, "model_config.yaml")
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(data), "mcore_gpt: true", "mcore_gpt: false", 1)), 0o644)
	_, err := Run(context.Background(), Options{Input: input, Output: filepath.Join(t.TempDir(), "out"), Target: &TargetOptions{ModelID: "auto"}})
	if err == nil || !strings.Contains(err.Error(), "mcore_gpt: false") {
		t.Errorf("mcore_gpt: false: %v", err)
	}
}

// --model_id may name a NeMo 2.0 checkpoint whose context gives the model,
// as NeMo's converter allows.
func TestModelIDCheckpointDir(t *testing.T) {
	dir, input := writeFixture(t, "--arch", "nemotron", "--backend", "torch_dist", "--form", "nemo")
	first := filepath.Join(t.TempDir(), "first")
	if _, err := Run(context.Background(), Options{Input: input, Output: first, Target: &TargetOptions{ModelID: "auto"}}); err != nil {
		t.Fatal(err)
	}
	second := filepath.Join(t.TempDir(), "second")
	res, err := Run(context.Background(), Options{Input: input, Output: second, Target: &TargetOptions{ModelID: first}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Config != "nemo.collections.llm.gpt.model.nemotron.NemotronConfig" {
		t.Errorf("config %s", res.Config)
	}
	for _, name := range []string{"io.json", "model.yaml"} {
		a, _ := os.ReadFile(filepath.Join(first, "context", name))
		b, _ := os.ReadFile(filepath.Join(second, "context", name))
		if len(a) == 0 || string(a) != string(b) {
			t.Errorf("context/%s differs between the auto conversion and the one reusing it", name)
		}
	}
	checkWithTorch(t, second, dir, true)
}

// TestUnexpectedTensorRefused: a tensor the NeMo 2 model does not load
// (shared-expert weights, say) fails before writing; TE 1.6-1.8's
// attention-submodule extra states are the one tolerated leftover.
func TestUnexpectedTensorRefused(t *testing.T) {
	src, err := Open(t.Context(), "../../examples/tiny-llama.nemo", nemo1.Options{SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	src.Weights.Tensors = append(src.Weights.Tensors, &distckpt.Tensor{Key: "model.decoder.layers.mlp.shared_experts.linear_fc1.weight", DType: "bfloat16", Shape: []int64{2, 8, 64}})
	_, err = ResolveTarget(context.Background(), src, TargetOptions{ModelID: "auto"})
	if err == nil || !strings.Contains(err.Error(), "shared_experts.linear_fc1.weight") {
		t.Fatalf("unexpected tensor: %v", err)
	}
	src.Weights.Tensors = src.Weights.Tensors[:len(src.Weights.Tensors)-1]
	src.Weights.Objects = append(src.Weights.Objects, &distckpt.Object{Key: "model.decoder.layers.self_attention.core_attention.fused_attention._extra_state/shard_0_2"})
	tg, err := ResolveTarget(context.Background(), src, TargetOptions{ModelID: "auto"})
	if err != nil {
		t.Fatalf("TE 1.6 attention extra state: %v", err)
	}
	defer tg.Close()
	if !strings.Contains(strings.Join(tg.Warnings, "\n"), "1 extra states of TransformerEngine 1.6-1.8") {
		t.Errorf("warnings %v", tg.Warnings)
	}
}

package convert

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo2"
)

// TestFullTELayer: a checkpoint of NeMo 1's full TransformerEngine layer
// (name: megatron_gpt_full_te_layer_autocast) converts with auto to
// GPTConfig with use_transformer_engine_full_layer_spec, the same module
// in NeMo 2: real torch loads every tensor back under its name.
func TestFullTELayer(t *testing.T) {
	for _, args := range [][]string{
		{"--arch", "gpt_full_te", "--backend", "torch_dist", "--form", "nemo"},
		{"--arch", "gpt_full_te", "--backend", "zarr", "--form", "dir"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir, input := writeFixture(t, args...)
			out := filepath.Join(t.TempDir(), "out")
			res, err := Run(context.Background(), Options{Input: input, Output: out, Target: &TargetOptions{ModelID: "auto"}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Config != "nemo.collections.llm.gpt.model.base.GPTConfig" {
				t.Errorf("config %s", res.Config)
			}
			checkWithTorch(t, out, dir, true)
			_, cfg, err := nemo2.ReadModel(out)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]any{
				"use_transformer_engine_full_layer_spec": true, "normalization": "LayerNorm", "num_layers": 3,
				"hidden_size": 48, "ffn_hidden_size": 192, "num_attention_heads": 6, "add_bias_linear": true,
				"share_embeddings_and_output_weights": true, "layernorm_zero_centered_gamma": false,
			} {
				if v, _ := cfg.Value(name); !models.SameValue(v, want) {
					t.Errorf("%s = %v, want %v", name, v, want)
				}
			}
		})
	}
}

package convert

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo2"
)

// TestNemotronH: a Mamba hybrid as NeMo 1's MegatronMambaModel saves it
// (a key per layer, the mixer's in_proj and conv1d in parts) converts with
// auto to MambaModel/SSMConfig: real torch loads every tensor back, and
// the config holds every field of model_config.yaml that changes the
// network, with what MegatronMambaModel ignores (rope, tying, bias) left
// at MambaModel's values.
func TestNemotronH(t *testing.T) {
	for _, args := range [][]string{
		{"--arch", "nemotronh", "--backend", "zarr", "--form", "nemo"},
		{"--arch", "nemotronh", "--backend", "torch_dist", "--form", "dir", "--tp", "2"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir, input := writeFixture(t, args...)
			out := filepath.Join(t.TempDir(), "out")
			res, err := Run(context.Background(), Options{Input: input, Output: out, Target: &TargetOptions{ModelID: "auto"}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Config != "nemo.collections.llm.gpt.model.ssm.SSMConfig" {
				t.Errorf("config %s", res.Config)
			}
			checkWithTorch(t, out, dir, true)
			m, cfg, err := nemo2.ReadModel(out)
			if err != nil {
				t.Fatal(err)
			}
			if m.Class.Name() != "nemo.collections.llm.gpt.model.ssm.MambaModel" {
				t.Errorf("model %s", m.Class.Name())
			}
			for name, want := range map[string]any{
				"hybrid_override_pattern": "M*-M-", "num_layers": 5, "hidden_size": 64, "ffn_hidden_size": 96,
				"num_attention_heads": 4, "num_query_groups": 2, "kv_channels": nil,
				"mamba_num_groups": 2, "mamba_state_dim": 16, "mamba_head_dim": 16, "mamba_num_heads": nil,
				"normalization": "RMSNorm", "layernorm_epsilon": 1e-5, "gated_linear_unit": false,
				"add_bias_linear": false, "position_embedding_type": "none",
				"share_embeddings_and_output_weights": false,
				// 100 tokens padded to the stored 256 rows.
				"make_vocab_size_divisible_by": 256,
			} {
				if v, _ := cfg.Value(name); !models.SameValue(v, want) {
					t.Errorf("%s = %v, want %v", name, v, want)
				}
			}
			a, err := cfg.Arch()
			if err != nil {
				t.Fatal(err)
			}
			if a.ActivationName() != "squared_relu" {
				t.Errorf("activation %s", a.Activation)
			}
		})
	}
}

// TestNemotronHWhole: mixers saved whole (Megatron-Core 0.8) are refused
// before writing, saying how to get the parts NeMo 2 loads.
func TestNemotronHWhole(t *testing.T) {
	_, input := writeFixture(t, "--arch", "nemotronh_whole", "--backend", "torch_dist", "--form", "nemo")
	out := filepath.Join(t.TempDir(), "out")
	_, err := Run(context.Background(), Options{Input: input, Output: out, Target: &TargetOptions{ModelID: "auto"}})
	if err == nil || !strings.Contains(err.Error(), "Megatron-Core 0.8") || !strings.Contains(err.Error(), "missing tensor module.decoder.layers.0.mixer.in_proj.weight.z") {
		t.Fatalf("whole mixers: %v", err)
	}
	if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
		t.Errorf("output written: %v", statErr)
	}
}

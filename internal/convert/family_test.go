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

// convertAuto has real torch write a NeMo 1 fixture (nemo1fixture.py
// flags args), converts it with --model_id auto, checks the config class
// and has the host's torch load every tensor back. It returns the output
// and the result.
func convertAuto(t *testing.T, wantConfig string, args ...string) (out string, res *Result) {
	t.Helper()
	dir, input := writeFixture(t, args...)
	out = filepath.Join(t.TempDir(), "out")
	res, err := Run(context.Background(), Options{Input: input, Output: out, Target: &TargetOptions{ModelID: "auto"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Config != wantConfig {
		t.Errorf("config %s, want %s", res.Config, wantConfig)
	}
	checkWithTorch(t, out, dir, true)
	return out, res
}

// checkConfig reads the NeMo 2 config of out back and fails t for every
// field whose value is not want's.
func checkConfig(t *testing.T, out string, want map[string]any) (models.Model, *models.Config) {
	t.Helper()
	m, cfg, err := nemo2.ReadModel(out)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		if v, _ := cfg.Value(name); !models.SameValue(v, w) {
			t.Errorf("%s = %v, want %v", name, v, w)
		}
	}
	return m, cfg
}

// TestSharedExperts: a MoE checkpoint with a shared expert converts with
// its weights, and the NeMo 2 config records the shared expert's size.
func TestSharedExperts(t *testing.T) {
	out, _ := convertAuto(t, "nemo.collections.llm.gpt.model.mixtral.MixtralConfig",
		"--arch", "mixtral_shared", "--backend", "torch_dist", "--form", "nemo", "--tp", "2")
	checkConfig(t, out, map[string]any{"moe_shared_expert_intermediate_size": 80})
}

// TestChatGLM: a ChatGLM checkpoint as convert_chatglm_hf_to_nemo.py lays
// it out (q/k/v biases, interleaved partial RoPE) converts to
// ChatGLMConfig with every tensor intact and its RoPE settings recorded.
func TestChatGLM(t *testing.T) {
	out, _ := convertAuto(t, "nemo.collections.llm.gpt.model.chatglm.ChatGLMConfig",
		"--arch", "chatglm", "--backend", "zarr", "--form", "nemo")
	checkConfig(t, out, map[string]any{"rotary_interleaved": true, "rotary_percent": 0.5, "add_qkv_bias": true, "add_bias_linear": false, "num_query_groups": 2})
}

// TestNemotronH: a Mamba hybrid as NeMo 1's MegatronMambaModel saves it
// (a key per layer, the mixer's in_proj and conv1d in parts) converts with
// auto to MambaModel/SSMConfig with every tensor intact, and the config
// holds every field of model_config.yaml that changes the network, with
// what MegatronMambaModel ignores (rope, tying, bias) left at MambaModel's
// values.
func TestNemotronH(t *testing.T) {
	for _, args := range [][]string{
		{"--arch", "nemotronh", "--backend", "zarr", "--form", "nemo"},
		{"--arch", "nemotronh", "--backend", "torch_dist", "--form", "dir", "--tp", "2"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, _ := convertAuto(t, "nemo.collections.llm.gpt.model.ssm.SSMConfig", args...)
			m, cfg := checkConfig(t, out, map[string]any{
				"hybrid_override_pattern": "M*-M-", "num_layers": 5, "hidden_size": 64, "ffn_hidden_size": 96,
				"num_attention_heads": 4, "num_query_groups": 2, "kv_channels": nil,
				"mamba_num_groups": 2, "mamba_state_dim": 16, "mamba_head_dim": 16, "mamba_num_heads": nil,
				"normalization": "RMSNorm", "layernorm_epsilon": 1e-5, "gated_linear_unit": false,
				"add_bias_linear": false, "position_embedding_type": "none",
				"share_embeddings_and_output_weights": false, "bias_activation_fusion": false,
				// 100 tokens padded to the stored 256 rows.
				"make_vocab_size_divisible_by": 256,
			})
			if m.Class.Name() != "nemo.collections.llm.gpt.model.ssm.MambaModel" {
				t.Errorf("model %s", m.Class.Name())
			}
			if a, err := cfg.Arch(); err != nil || a.ActivationName() != "squared_relu" {
				t.Errorf("activation %v, %v", a.Activation, err)
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

// TestFullTELayer: a checkpoint of NeMo 1's full TransformerEngine layer
// (name: megatron_gpt_full_te_layer_autocast) converts with auto to
// GPTConfig with use_transformer_engine_full_layer_spec, the same module
// in NeMo 2: every tensor loads back under its name.
func TestFullTELayer(t *testing.T) {
	for _, args := range [][]string{
		{"--arch", "gpt_full_te", "--backend", "torch_dist", "--form", "nemo"},
		{"--arch", "gpt_full_te", "--backend", "zarr", "--form", "dir"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, _ := convertAuto(t, "nemo.collections.llm.gpt.model.base.GPTConfig", args...)
			checkConfig(t, out, map[string]any{
				"use_transformer_engine_full_layer_spec": true, "normalization": "LayerNorm", "num_layers": 3,
				"hidden_size": 48, "ffn_hidden_size": 192, "num_attention_heads": 6, "add_bias_linear": true,
				"share_embeddings_and_output_weights": true, "layernorm_zero_centered_gamma": false,
			})
		})
	}
}

// TestLocalSpec: checkpoints of Megatron-Core's local layer spec convert
// with their norms under the names NeMo 2's TransformerEngine layer loads:
// dense layers' input_layernorm/pre_mlp_layernorm as the fused
// layer_norm_* of linear_qkv/linear_fc1, and a MoE layer's norm, which the
// local spec's keys map saves as mlp.linear_fc1.layer_norm_*, as
// pre_mlp_layernorm. Real torch finds every tensor under its NeMo 2 name
// (the fixture's expected.pt names them so), and the extra states the
// local spec lacks are written empty.
func TestLocalSpec(t *testing.T) {
	for _, c := range []struct {
		config string
		args   []string
		want   string
	}{
		{"llama.LlamaConfig", []string{"--arch", "llama", "--backend", "torch_dist", "--form", "nemo", "--local"},
			"decoder.layers.input_layernorm.weight -> decoder.layers.self_attention.linear_qkv.layer_norm_weight"},
		{"nemotron.NemotronConfig", []string{"--arch", "nemotron", "--backend", "zarr", "--form", "nemo", "--local"},
			"decoder.layers.input_layernorm.bias -> decoder.layers.self_attention.linear_qkv.layer_norm_bias"},
		{"mixtral.MixtralConfig", []string{"--arch", "mixtral", "--backend", "torch_dist", "--form", "dir", "--tp", "2", "--local"},
			"decoder.layers.mlp.linear_fc1.layer_norm_weight -> decoder.layers.pre_mlp_layernorm.weight"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, res := convertAuto(t, "nemo.collections.llm.gpt.model."+c.config, c.args...)
			if !strings.Contains(strings.Join(res.Notes, "\n"), c.want) {
				t.Errorf("notes %q lack %q", res.Notes, c.want)
			}
		})
	}
}

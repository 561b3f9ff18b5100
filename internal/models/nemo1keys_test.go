package models

import (
	"errors"
	"strings"
	"testing"
)

// TestNEMO1KeysRefused: each key that changes the network and has no
// mapping fails auto and the cross-check, naming itself, when it holds
// anything but NeMo 1's default; with the default it converts.
func TestNEMO1KeysRefused(t *testing.T) {
	for _, c := range []struct{ yaml, key string }{
		{"mcore_customization_config:\n  final_logit_softcapping: 30.0", "mcore_customization_config"},
		{"softmax_scale: 0.0625", "softmax_scale"},
		{"name: megatron_gemma2", "name"}, // without embedding scaling and its soft-capping values
		{"mcore_gpt: false", "mcore_gpt"},
		{"multi_latent_attention: true", "multi_latent_attention"},
		{"drop_layers: [3]", "drop_layers"},
		{"moe_expert_capacity_factor: 1.25", "moe_expert_capacity_factor"},
		{"moe_router_score_function: sigmoid", "moe_router_score_function"},
	} {
		y := decode(t, strings.Replace(llama2YAML, "mcore_gpt: true\n", "", 1)+c.yaml+"\n")
		_, _, err := Auto(y)
		if err == nil || !strings.Contains(err.Error(), c.key+":") {
			t.Errorf("%q: auto: %v", c.yaml, err)
		}
		m, _ := Lookup("meta-llama/Llama-2-7b-hf")
		if _, err := CrossCheck(NewConfig(m.Config), m.ID, y); err == nil || !strings.Contains(err.Error(), c.key+":") {
			t.Errorf("%q: cross-check: %v", c.yaml, err)
		}
	}
	for _, ok := range []string{
		"apply_embedding_scaling: false", "mcore_customization_config: {}", "softmax_scale: null",
		"name: te_gpt", "mcore_gpt: true", "moe_token_drop_policy: probs", "transformer_block_type: post_ln",
		"moe_layer_freq: 2",
	} {
		if _, _, err := Auto(decode(t, strings.Replace(llama2YAML, "mcore_gpt: true\n", "", 1)+ok+"\n")); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

// TestLlama31: NeMo 1's scale_positional_embedding becomes Llama31Config
// with NeMo 1's defaults, and a seed id without RoPE scaling refuses it.
func TestLlama31(t *testing.T) {
	y := decode(t, llama2YAML+"scale_positional_embedding: true\nscale_factor: 32\n")
	m, cfg, err := Auto(y)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Name() != llamaModule+"Llama31Config" {
		t.Fatalf("auto chose %s", m.Config.Name())
	}
	for name, want := range map[string]any{"scale_factor": 32, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "old_context_len": 8192} {
		if v, _ := cfg.Value(name); !sameValue(v, want) {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	l3, _ := Lookup("meta-llama/Meta-Llama-3-8B")
	c := NewConfig(l3.Config)
	for _, f := range []string{"num_layers", "hidden_size", "ffn_hidden_size", "num_attention_heads", "num_query_groups"} {
		v, _ := cfg.Value(f)
		c.Set(f, v)
	}
	c.Set("rotary_base", 10000.0)
	c.Set("seq_length", 4096)
	var mm *ArchMismatchError
	if _, err := CrossCheck(c, l3.ID, y); !errors.As(err, &mm) || !strings.Contains(err.Error(), "scale_factor") {
		t.Errorf("Llama 3 id for a Llama 3.1 source: %v", err)
	}
	if _, _, err := Auto(decode(t, strings.Replace(llama2YAML, "activation: fast-swiglu", "activation: gelu", 1)+"scale_positional_embedding: true\n")); err == nil {
		t.Error("RoPE scaling on a non-Llama architecture accepted")
	}
}

// TestRotaryInterleaved is carried into the config, not dropped.
func TestRotaryInterleaved(t *testing.T) {
	_, cfg, err := Auto(decode(t, llama2YAML+"rotary_interleaved: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := cfg.Value("rotary_interleaved"); v != true {
		t.Errorf("rotary_interleaved = %v", v)
	}
}

// TestFamilies: auto picks the family class whose defaults describe the
// architecture.
func TestFamilies(t *testing.T) {
	base := strings.Replace(llama2YAML, "mcore_gpt: true\n", "", 1)
	for _, c := range []struct{ edit, want string }{
		{"qkv_bias: true\n", "qwen2.Qwen2Config"},
		{"normalization: layernorm\nactivation: gelu\nbias: true\n", "starcoder2.Starcoder2Config"},
		{"scale_positional_embedding: true\n", "llama.Llama31Config"},
		{"", "llama.LlamaConfig"},
	} {
		y := base
		for _, line := range strings.Split(strings.TrimSpace(c.edit), "\n") {
			if k, _, ok := strings.Cut(line, ":"); ok {
				y = removeKey(y, k)
			}
		}
		_, cfg, err := Auto(decode(t, y+c.edit))
		if err != nil || !strings.HasSuffix(cfg.Class.Name(), c.want) {
			t.Errorf("%q: %v, %v", c.edit, cfg, err)
		}
	}
}

func removeKey(y, key string) string {
	var out []string
	for _, l := range strings.Split(y, "\n") {
		if !strings.HasPrefix(l, key+":") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestEmbeddingScalingChecked: apply_embedding_scaling maps to GemmaModel,
// and a model id whose model does not scale is refused, naming the key.
func TestEmbeddingScalingChecked(t *testing.T) {
	y := decode(t, llama2YAML+"apply_embedding_scaling: true\n")
	m, cfg, err := Auto(y)
	if err != nil {
		t.Fatal(err)
	}
	if m.Class.Name() != gemmaModule+"GemmaModel" {
		t.Errorf("auto chose %s", m.Class.Name())
	}
	a, err := cfg.Arch()
	if err != nil || !a.EmbeddingScaling || a.Normalization != "RMSNorm" || a.ActivationName() != "silu" || a.KVChannels != 128 {
		t.Errorf("arch %+v, %v: want Llama's layout with embedding scaling", a, err)
	}
	ll, _ := Lookup("meta-llama/Llama-2-7b-hf")
	if _, err := CrossCheck(NewConfig(ll.Config), ll.ID, y); err == nil || !strings.Contains(err.Error(), "apply_embedding_scaling: model_config.yaml has true") {
		t.Errorf("cross-check against %s: %v", ll.ID, err)
	}
}

// TestOtherFamiliesNamed: a checkpoint of a family NeMo 2 has no GPT model
// for is refused with the family named, not a list of missing tensors.
func TestOtherFamiliesNamed(t *testing.T) {
	base := strings.Replace(llama2YAML, "mcore_gpt: true\n", "", 1)
	for extra, want := range map[string]string{
		"name: megatron_falcon_gpt": "Falcon",
		"name: te_gpt_hyena":        "Hyena",
		"is_hybrid_model: true":     "MegatronMambaModel",
		"target: nemo.collections.nlp.models.language_modeling.megatron_griffin_model.MegatronGriffinModel": "RecurrentGemma",
		"target: nemo.collections.nlp.models.language_modeling.megatron_t5_model.MegatronT5Model":           "T5",
		"target: some.Other":             "not NeMo 1's GPT model",
		"position_embedding_type: alibi": "ALiBi",
	} {
		y := decode(t, strings.Replace(base, "position_embedding_type: rope\n", "", 1)+extra+"\n")
		if _, _, err := Auto(y); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want it to say %q", extra, err, want)
		}
	}
	for _, ok := range []string{
		"target: nemo.collections.nlp.models.language_modeling.megatron_gpt_model.MegatronGPTModel",
		"target: nemo.collections.nlp.models.language_modeling.megatron_gpt_sft_model.MegatronGPTSFTModel",
	} {
		if _, _, err := Auto(decode(t, base+ok+"\n")); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

package models

import (
	"strings"
	"testing"
)

// TestFullTELayer: name: megatron_gpt_full_te_layer_autocast maps to
// GPTConfig with use_transformer_engine_full_layer_spec, whose manifest is
// TransformerEngine's TransformerLayer under transformer_layer.; an
// RMSNorm model cannot have been built with it; a model id with the
// Megatron-Core layer is another network.
func TestFullTELayer(t *testing.T) {
	gptYAML := strings.NewReplacer("normalization: rmsnorm", "normalization: layernorm", "activation: fast-swiglu", "activation: gelu",
		"bias: false", "bias: true", "num_query_groups: 32", "num_query_groups: null").Replace(llama2YAML)
	y := decode(t, gptYAML+"name: megatron_gpt_full_te_layer_autocast\n")
	m, cfg, err := Auto(y)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Name() != gptModule+"base.GPTConfig" || !cfg.IsSet("use_transformer_engine_full_layer_spec") {
		t.Fatalf("auto chose %s with %v", m.Config.Name(), cfg.Args)
	}
	a, err := cfg.Arch()
	if err != nil || a.LayerSpec != FullTELayer {
		t.Fatalf("arch %v, %v", a.LayerSpec, err)
	}
	man, err := a.Manifest(32000, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const tl = "module.decoder.layers.transformer_layer."
	for key, shape := range map[string]string{
		tl + "self_attention.layernorm_qkv.weight": "(32, 12288, 4096)",
		tl + "self_attention.layernorm_qkv.bias":   "(32, 12288)",
		tl + "self_attention.proj.weight":          "(32, 4096, 4096)",
		tl + "layernorm_mlp.fc1_weight":            "(32, 11008, 4096)",
		tl + "layernorm_mlp.fc2_bias":              "(32, 4096)",
		tl + "layernorm_mlp.layer_norm_bias":       "(32, 4096)",
		"module.decoder.final_layernorm.bias":      "(4096,)",
	} {
		if got, ok := man.Tensor(key); !ok || formatShape(got.Shape) != shape {
			t.Errorf("%s: %v, %v; want %s", key, got.Shape, ok, shape)
		}
	}
	objects := map[string]bool{}
	for _, o := range man.Objects {
		objects[o.Key] = true
	}
	for _, k := range []string{tl + "self_attention.core_attention._extra_state/shard_31_32", tl + "layernorm_mlp._extra_state/shard_0_32"} {
		if !objects[k] {
			t.Errorf("no object %s", k)
		}
	}
	if objects["module.decoder.final_layernorm._extra_state/shard_0_1"] || len(man.Objects) != 4*32 {
		t.Errorf("%d objects", len(man.Objects))
	}

	// RMSNorm: FusedLayerNorm, the final norm, would not build.
	if _, _, err := Auto(decode(t, llama2YAML+"name: megatron_gpt_full_te_layer_autocast\n")); err == nil || !strings.Contains(err.Error(), "asserts LayerNorm") {
		t.Errorf("rmsnorm: %v", err)
	}
	// Against the plain GPT layer of the same sizes.
	_, plain, err := Auto(decode(t, gptYAML))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CrossCheck(plain, "plain", y); err == nil || !strings.Contains(err.Error(), "name (layer spec): model_config.yaml has megatron_gpt_full_te_layer_autocast") {
		t.Errorf("cross-check: %v", err)
	}
}

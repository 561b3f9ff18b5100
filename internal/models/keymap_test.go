package models

import (
	"slices"
	"testing"
)

func TestKeyMap(t *testing.T) {
	dense := []string{
		"model.decoder.layers.input_layernorm.weight", "model.decoder.layers.pre_mlp_layernorm.weight",
		"model.decoder.layers.pre_mlp_layernorm._extra_state/shard_0_2", "model.decoder.final_layernorm.weight",
	}
	key, renamed := KeyMap(dense)
	for from, to := range map[string]string{
		"model.decoder.layers.input_layernorm.weight":                   "module.decoder.layers.self_attention.linear_qkv.layer_norm_weight",
		"model.decoder.layers.pre_mlp_layernorm.weight":                 "module.decoder.layers.mlp.linear_fc1.layer_norm_weight",
		"model.decoder.layers.pre_mlp_layernorm._extra_state/shard_0_2": "module.decoder.layers.pre_mlp_layernorm._extra_state/shard_0_2",
		"model.decoder.final_layernorm.weight":                          "module.decoder.final_layernorm.weight",
	} {
		if got := key(from); got != to {
			t.Errorf("dense %s -> %s, want %s", from, got, to)
		}
	}
	if len(renamed) != 2 {
		t.Errorf("renamed %q", renamed)
	}

	// MoE: the keys map's name goes back to pre_mlp_layernorm; a TE MoE
	// checkpoint keeps its names.
	moe := []string{"model.decoder.layers.mlp.router.weight", "model.decoder.layers.mlp.linear_fc1.layer_norm_weight"}
	key, renamed = KeyMap(moe)
	if got := key(moe[1]); got != "module.decoder.layers.pre_mlp_layernorm.weight" || !slices.Equal(renamed, []string{"decoder.layers.mlp.linear_fc1.layer_norm_weight -> decoder.layers.pre_mlp_layernorm.weight"}) {
		t.Errorf("moe: %s, %q", got, renamed)
	}
	te := []string{"model.decoder.layers.mlp.router.weight", "model.decoder.layers.pre_mlp_layernorm.weight"}
	if key, renamed := KeyMap(te); key(te[1]) != "module.decoder.layers.pre_mlp_layernorm.weight" || len(renamed) != 0 {
		t.Errorf("TE MoE renamed %q", renamed)
	}

	// Both names present: nothing is renamed onto a key that exists (the
	// plan then reports the clash or the model check the extra tensor).
	both := []string{"model.decoder.layers.input_layernorm.weight", "model.decoder.layers.self_attention.linear_qkv.layer_norm_weight"}
	if key, renamed := KeyMap(both); key(both[0]) != "module.decoder.layers.input_layernorm.weight" || len(renamed) != 0 {
		t.Errorf("clash renamed %q", renamed)
	}
}

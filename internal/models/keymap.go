package models

import (
	"slices"
	"strings"
)

// Megatron-Core's local (non-TransformerEngine) GPT layer keeps its norms
// as modules of their own, input_layernorm and pre_mlp_layernorm, where the
// TransformerEngine layer NeMo 2 builds fuses them into the linear layer
// that follows (linear_qkv.layer_norm_*, linear_fc1.layer_norm_*) or, with
// experts, keeps pre_mlp_layernorm. Its sharded_state_dict maps the names
// to the fused ones since Megatron-Core 0.5 (sharded_state_dict_keys_map),
// unconditionally, so on disk a local MoE layer's norm is
// mlp.linear_fc1.layer_norm_* while NeMo 2's MoE layer loads
// pre_mlp_layernorm.*; a layer written without the map has the module
// names. The renames below give every such key the name NeMo 2 loads; the
// tensors are the same, shape for shape.
const stacked = "decoder.layers."

// localNormRenames are the module-name forms, by key suffix after the
// layer prefix.
var localNormRenames = []struct{ from, to string }{
	{"input_layernorm.weight", "self_attention.linear_qkv.layer_norm_weight"},
	{"input_layernorm.bias", "self_attention.linear_qkv.layer_norm_bias"},
}

// KeyMap returns the function that names each key of a checkpoint holding
// keys as NeMo 2 does: NeMo2Key, and the local layer spec's norms under
// the names NeMo 2's TransformerEngine layer loads (dense layers:
// input_layernorm and pre_mlp_layernorm fused; MoE layers:
// pre_mlp_layernorm, which a local MoE checkpoint stores as
// mlp.linear_fc1.layer_norm_*). renamed lists the renames beyond
// NeMo2Key, as "from -> to", sorted. It decides from the key set alone, so verify derives the same
// names as convert.
func KeyMap(keys []string) (m func(string) string, renamed []string) {
	moe, have := false, map[string]bool{}
	for _, k := range keys {
		n := NeMo2Key(k)
		have[n] = true
		if strings.HasSuffix(n, stacked+"mlp.router.weight") {
			moe = true
		}
	}
	rename := func(n string) string {
		i := strings.Index(n, stacked)
		if i < 0 {
			return n
		}
		prefix, rest := n[:i+len(stacked)], n[i+len(stacked):]
		for _, r := range localNormRenames {
			if rest == r.from {
				return prefix + r.to
			}
		}
		for _, x := range []string{"weight", "bias"} {
			switch {
			case !moe && rest == "pre_mlp_layernorm."+x:
				return prefix + "mlp.linear_fc1.layer_norm_" + x
			case moe && rest == "mlp.linear_fc1.layer_norm_"+x:
				return prefix + "pre_mlp_layernorm." + x
			}
		}
		return n
	}
	for n := range have {
		if r := rename(n); r != n && !have[r] {
			renamed = append(renamed, strings.TrimPrefix(n, "module.")+" -> "+strings.TrimPrefix(r, "module."))
		}
	}
	slices.Sort(renamed)
	return func(k string) string {
		n := NeMo2Key(k)
		if r := rename(n); r != n && !have[r] {
			return r
		}
		return n
	}, renamed
}

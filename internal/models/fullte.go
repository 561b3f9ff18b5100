package models

import "fmt"

// NeMo 1's full TransformerEngine layer (model_config.yaml name:
// megatron_gpt_full_te_layer_autocast, gpt_full_te_layer_autocast_spec.py):
// every decoder layer is TransformerEngine's own TransformerLayer, wrapped
// as transformer_layer. NeMo 2 builds the same module from the same file
// when GPTConfig.use_transformer_engine_full_layer_spec is set.
//
// The wrapper passes TransformerLayer the sizes, layernorm_epsilon,
// layernorm_zero_centered_gamma and apply_residual_connection_post_layernorm
// and nothing else, so the layer has TransformerEngine's defaults whatever
// the config says: LayerNorm, GeLU, biases, one key/value head per query
// head, fused QKV. Its forward passes no rotary embedding. The decoder's
// final norm is Megatron-Core's FusedLayerNorm, which asserts LayerNorm.
const fullTESpec = "megatron_gpt_full_te_layer_autocast"

// fullTEManifest adds the decoder of the full TE layer: TransformerBlock
// stacks the layers, and the wrapper's state dict is the TransformerLayer's
// under transformer_layer.: self_attention.layernorm_qkv (LayerNormLinear,
// one fused weight), self_attention.core_attention (DotProductAttention),
// self_attention.proj (Linear) and layernorm_mlp (LayerNormMLP:
// fc1_weight, fc2_weight and their biases).
func (a Arch) fullTEManifest(m *Manifest, prefix, dtype string) {
	L, H, F := int64(a.NumLayers), int64(a.Hidden), int64(a.FFN)
	width := int64(a.Heads) * int64(a.KVChannels)
	tensor := func(key string, shape ...int64) {
		m.Tensors = append(m.Tensors, Tensor{Key: prefix + key, DType: dtype, Shape: shape})
	}
	extra := func(module string) {
		for l := 0; l < a.NumLayers; l++ {
			m.Objects = append(m.Objects, Object{Key: fmt.Sprintf("%s%s._extra_state/shard_%d_%d", prefix, module, l, a.NumLayers), Kind: ModuleExtraState})
		}
	}
	const tl = "decoder.layers.transformer_layer."
	tensor(tl+"self_attention.layernorm_qkv.layer_norm_weight", L, H)
	tensor(tl+"self_attention.layernorm_qkv.layer_norm_bias", L, H)
	tensor(tl+"self_attention.layernorm_qkv.weight", L, 3*width, H)
	tensor(tl+"self_attention.layernorm_qkv.bias", L, 3*width)
	extra(tl + "self_attention.layernorm_qkv")
	extra(tl + "self_attention.core_attention")
	tensor(tl+"self_attention.proj.weight", L, H, width)
	tensor(tl+"self_attention.proj.bias", L, H)
	extra(tl + "self_attention.proj")
	tensor(tl+"layernorm_mlp.layer_norm_weight", L, H)
	tensor(tl+"layernorm_mlp.layer_norm_bias", L, H)
	tensor(tl+"layernorm_mlp.fc1_weight", L, F, H)
	tensor(tl+"layernorm_mlp.fc1_bias", L, F)
	tensor(tl+"layernorm_mlp.fc2_weight", L, H, F)
	tensor(tl+"layernorm_mlp.fc2_bias", L, H)
	extra(tl + "layernorm_mlp")
	// FusedLayerNorm is no TransformerEngine module: no extra state.
	tensor("decoder.final_layernorm.weight", H)
	tensor("decoder.final_layernorm.bias", H)
}

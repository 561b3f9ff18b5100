package export

// GLM: ChatGLM 2/3's decoder (NeMo's ChatGLMConfig): Llama's with biases
// on q, k and v and rotary embeddings on interleaved pairs of part of each
// head, as Hugging Face's GlmForCausalLM (transformers' GLM-4 class; the
// Hub's ChatGLM itself is remote code). GlmForCausalLM interleaves cos and
// sin over the first head_dim × partial_rotary_factor channels and rotates
// (-x[1::2], x[0::2]) pairs, which is Megatron-Core's rotary_interleaved.
func glm() *family {
	return &family{
		Architecture: "GlmForCausalLM",
		ModelType:    "glm",
		handled:      []string{"rotary_interleaved"},
		fits: func(s *Source) error {
			var n need
			a := s.Arch
			n.want(a.Normalization == "RMSNorm" && !a.ZeroCenteredGamma, "needs RMSNorm without a zero-centered gamma, not %s", a.Normalization)
			n.want(a.ActivationName() == "silu" && a.GatedLinearUnit, "needs SwiGLU (gated silu), not %s%s", gatedName(a), a.ActivationName())
			n.want(a.PositionEmbedding == "rope" && a.RotaryPercent > 0 && a.RotaryPercent <= 1, "needs rotary position embeddings")
			v, _ := s.Config.Value("rotary_interleaved")
			n.want(v == true, "rotates interleaved pairs (rotary_interleaved)")
			n.want(a.AddQKVBias && !a.AddBiasLinear, "has biases on q, k and v only")
			n.want(!a.QKLayerNorm, "has no q/k layernorm")
			n.want(a.Experts == 0, "is a dense model")
			return n.err()
		},
		config: func(s *Source) (map[string]any, error) {
			c := llamaConfig(s)
			c["attention_bias"] = true
			c["partial_rotary_factor"] = s.Arch.RotaryPercent
			return c, nil
		},
		tensors: func(m *mapper, s *Source, vocab int64) {
			a := s.Arch
			llamaTensors(m, s, vocab, func(m *mapper) {
				m.perLayer("model.layers.%d.post_attention_layernorm.weight", "decoder.layers.mlp.linear_fc1.layer_norm_weight")
				// GlmMLP's gate_up_proj is [gate; up], Megatron's fc1 layout.
				m.perLayer("model.layers.%d.mlp.gate_up_proj.weight", "decoder.layers.mlp.linear_fc1.weight")
				m.perLayer("model.layers.%d.mlp.down_proj.weight", "decoder.layers.mlp.linear_fc2.weight")
			})
			m.qkv("model.layers.%d.self_attn.%s_proj.bias", "decoder.layers.self_attention.linear_qkv.bias", int64(a.Heads), int64(a.Groups), int64(a.KVChannels))
		},
	}
}

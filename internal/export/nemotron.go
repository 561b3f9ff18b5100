package export

// Nemotron (Nemotron-3, Nemotron-4): LayerNorm with a zero-centered gamma
// (Hugging Face's NemotronLayerNorm1P adds the same 1), squared ReLU
// without a gate, partial rotary embeddings, no linear biases.
func nemotron() *family {
	return &family{
		Architecture: "NemotronForCausalLM",
		ModelType:    "nemotron",
		fits: func(s *Source) error {
			var n need
			a := s.Arch
			n.want(a.Normalization == "LayerNorm" && a.ZeroCenteredGamma, "needs LayerNorm with a zero-centered gamma (layernorm1p)")
			n.want(a.ActivationName() == "squared_relu" && !a.GatedLinearUnit, "needs an ungated squared ReLU, not %s%s", gatedName(a), a.ActivationName())
			n.want(a.PositionEmbedding == "rope", "needs rotary position embeddings, not %s", a.PositionEmbedding)
			n.want(!a.AddBiasLinear && !a.AddQKVBias, "has no linear biases")
			n.want(!a.QKLayerNorm, "has no q/k layernorm")
			n.want(a.Experts == 0, "is a dense model")
			return n.err()
		},
		config: func(s *Source) (map[string]any, error) {
			a := s.Arch
			return map[string]any{
				"hidden_size":             a.Hidden,
				"intermediate_size":       a.FFN,
				"num_hidden_layers":       a.NumLayers,
				"num_attention_heads":     a.Heads,
				"num_key_value_heads":     a.Groups,
				"head_dim":                a.KVChannels,
				"max_position_embeddings": a.SeqLength,
				"norm_eps":                a.LayerNormEpsilon,
				"rope_theta":              a.RotaryBase,
				"partial_rotary_factor":   a.RotaryPercent,
				"hidden_act":              "relu2",
				"attention_bias":          false,
				"mlp_bias":                false,
				"attention_dropout":       0.0,
				"tie_word_embeddings":     a.ShareEmbeddings,
			}, nil
		},
		tensors: func(m *mapper, s *Source, vocab int64) {
			a := s.Arch
			m.vocabRows("model.embed_tokens.weight", "embedding.word_embeddings.weight", vocab)
			m.perLayer("model.layers.%d.input_layernorm.weight", "decoder.layers.self_attention.linear_qkv.layer_norm_weight")
			m.perLayer("model.layers.%d.input_layernorm.bias", "decoder.layers.self_attention.linear_qkv.layer_norm_bias")
			m.qkv("model.layers.%d.self_attn.%s_proj.weight", "decoder.layers.self_attention.linear_qkv.weight", int64(a.Heads), int64(a.Groups), int64(a.KVChannels))
			m.perLayer("model.layers.%d.self_attn.o_proj.weight", "decoder.layers.self_attention.linear_proj.weight")
			m.perLayer("model.layers.%d.post_attention_layernorm.weight", "decoder.layers.mlp.linear_fc1.layer_norm_weight")
			m.perLayer("model.layers.%d.post_attention_layernorm.bias", "decoder.layers.mlp.linear_fc1.layer_norm_bias")
			m.perLayer("model.layers.%d.mlp.up_proj.weight", "decoder.layers.mlp.linear_fc1.weight")
			m.perLayer("model.layers.%d.mlp.down_proj.weight", "decoder.layers.mlp.linear_fc2.weight")
			m.whole("model.norm.weight", "decoder.final_layernorm.weight")
			m.whole("model.norm.bias", "decoder.final_layernorm.bias")
			if !a.ShareEmbeddings {
				m.vocabRows("lm_head.weight", "output_layer.weight", vocab)
			}
		},
	}
}

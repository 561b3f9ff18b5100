package export

// Starcoder2: LayerNorm, GeLU, biases on every linear layer, rotary
// positions, grouped-query attention and an optional sliding window.
func starcoder2() *family {
	return &family{
		Architecture: "Starcoder2ForCausalLM",
		ModelType:    "starcoder2",
		handled:      []string{"window_size"},
		fits: func(s *Source) error {
			var n need
			a := s.Arch
			n.want(a.Normalization == "LayerNorm" && !a.ZeroCenteredGamma, "needs LayerNorm without a zero-centered gamma")
			n.want((a.ActivationName() == "gelu" || a.ActivationName() == "openai_gelu") && !a.GatedLinearUnit, "needs an ungated GeLU")
			n.want(a.PositionEmbedding == "rope" && a.RotaryPercent == 1, "needs full rotary position embeddings")
			n.want(a.AddBiasLinear, "has biases in every linear layer")
			n.want(!a.QKLayerNorm, "has no q/k layernorm")
			n.want(a.Experts == 0, "is a dense model")
			n.want(a.KVChannels*a.Heads == a.Hidden, "needs heads × kv_channels = hidden_size")
			if v, _ := s.Config.Value("window_size"); v != nil {
				_, err := slidingWindow(s)
				n.want(err == nil, "%v", err)
			}
			return n.err()
		},
		config: func(s *Source) (map[string]any, error) {
			a := s.Arch
			act := geluName(s)
			var window any
			if v, _ := s.Config.Value("window_size"); v != nil {
				w, err := slidingWindow(s)
				if err != nil {
					return nil, err
				}
				window = w
			}
			return map[string]any{
				"hidden_size":             a.Hidden,
				"intermediate_size":       a.FFN,
				"num_hidden_layers":       a.NumLayers,
				"num_attention_heads":     a.Heads,
				"num_key_value_heads":     a.Groups,
				"max_position_embeddings": a.SeqLength,
				"norm_epsilon":            a.LayerNormEpsilon,
				"rope_theta":              a.RotaryBase,
				"hidden_act":              act,
				"sliding_window":          window,
				"use_bias":                true,
				"attention_dropout":       0.0,
				"residual_dropout":        0.0,
				"embedding_dropout":       0.0,
				"tie_word_embeddings":     a.ShareEmbeddings,
			}, nil
		},
		tensors: func(m *mapper, s *Source, vocab int64) {
			a := s.Arch
			heads, groups, kv := int64(a.Heads), int64(a.Groups), int64(a.KVChannels)
			const l = "decoder.layers."
			m.vocabRows("model.embed_tokens.weight", "embedding.word_embeddings.weight", vocab)
			m.perLayer("model.layers.%d.input_layernorm.weight", l+"self_attention.linear_qkv.layer_norm_weight")
			m.perLayer("model.layers.%d.input_layernorm.bias", l+"self_attention.linear_qkv.layer_norm_bias")
			m.qkv("model.layers.%d.self_attn.%s_proj.weight", l+"self_attention.linear_qkv.weight", heads, groups, kv)
			m.qkv("model.layers.%d.self_attn.%s_proj.bias", l+"self_attention.linear_qkv.bias", heads, groups, kv)
			m.perLayer("model.layers.%d.self_attn.o_proj.weight", l+"self_attention.linear_proj.weight")
			m.perLayer("model.layers.%d.self_attn.o_proj.bias", l+"self_attention.linear_proj.bias")
			m.perLayer("model.layers.%d.post_attention_layernorm.weight", l+"mlp.linear_fc1.layer_norm_weight")
			m.perLayer("model.layers.%d.post_attention_layernorm.bias", l+"mlp.linear_fc1.layer_norm_bias")
			m.perLayer("model.layers.%d.mlp.c_fc.weight", l+"mlp.linear_fc1.weight")
			m.perLayer("model.layers.%d.mlp.c_fc.bias", l+"mlp.linear_fc1.bias")
			m.perLayer("model.layers.%d.mlp.c_proj.weight", l+"mlp.linear_fc2.weight")
			m.perLayer("model.layers.%d.mlp.c_proj.bias", l+"mlp.linear_fc2.bias")
			m.whole("model.norm.weight", "decoder.final_layernorm.weight")
			m.whole("model.norm.bias", "decoder.final_layernorm.bias")
			if !a.ShareEmbeddings {
				m.vocabRows("lm_head.weight", "output_layer.weight", vocab)
			}
		},
	}
}

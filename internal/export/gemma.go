package export

import "github.com/nemo-migrate/nemo-migrate/internal/models"

// Gemma: the TransformerEngine GPT layer with GeGLU, RMSNorm computed as
// x̂·(1 + w), rotary positions and the embeddings scaled by
// sqrt(hidden_size) (GemmaModel), as Hugging Face's GemmaForCausalLM.
func gemma() *family {
	return &family{
		Architecture:     "GemmaForCausalLM",
		ModelType:        "gemma",
		embeddingScaling: true,
		fits: func(s *Source) error {
			var n need
			gemmaDecoder(&n, s)
			n.want(s.Arch.LayerSpec == models.TELayer, "has the Transformer Engine GPT layer, not Gemma 2's")
			return n.err()
		},
		config: func(s *Source) (map[string]any, error) { return gemmaConfig(s), nil },
		tensors: func(m *mapper, s *Source, vocab int64) {
			gemmaTensors(m, s, vocab, "model.layers.%d.post_attention_layernorm.weight")
		},
	}
}

// Gemma 2: Gemma with a norm after attention and after the MLP, a query
// scale of its own, soft-capped attention and output logits, and a
// sliding window on every other layer (Gemma2Config's layer spec), as
// Hugging Face's Gemma2ForCausalLM.
func gemma2() *family {
	return &family{
		Architecture:     "Gemma2ForCausalLM",
		ModelType:        "gemma2",
		embeddingScaling: true,
		layerSpec:        models.Gemma2Layer,
		handled:          []string{"window_size"},
		fits: func(s *Source) error {
			var n need
			gemmaDecoder(&n, s)
			n.want(s.Arch.LayerSpec == models.Gemma2Layer, "has Gemma 2's layer (post norms, soft-capping)")
			_, err := gemma2Window(s)
			n.want(err == nil, "%v", err)
			q, ok := configFloat(s, "query_pre_attn_scalar")
			n.want(ok && q > 0 && q == float64(int(q)), "has a whole query_pre_attn_scalar (Hugging Face's is an int)")
			return n.err()
		},
		config: func(s *Source) (map[string]any, error) {
			c := gemmaConfig(s)
			q, _ := configFloat(s, "query_pre_attn_scalar")
			c["query_pre_attn_scalar"] = int(q)
			for _, k := range []string{"attn_logit_softcapping", "final_logit_softcapping"} {
				c[k] = nil // no capping, as logit_softcapping does for None
				if v, ok := configFloat(s, k); ok && v != 0 {
					c[k] = v
				}
			}
			w, err := gemma2Window(s)
			if err != nil {
				return nil, err
			}
			// NeMo's Gemma2DotProductAttention windows the layers whose
			// 1-based number is even; Hugging Face's default pattern is the
			// other half, so the pattern is written out.
			types := make([]string, s.Arch.NumLayers)
			for l := range types {
				types[l] = "full_attention"
				if w > 0 && (l+1)%2 == 0 {
					types[l] = "sliding_attention"
				}
			}
			c["layer_types"] = types
			c["sliding_window"] = nil
			if w > 0 {
				c["sliding_window"] = w
			}
			return c, nil
		},
		tensors: func(m *mapper, s *Source, vocab int64) {
			gemmaTensors(m, s, vocab, "model.layers.%d.pre_feedforward_layernorm.weight")
			const l = "decoder.layers."
			m.perLayer("model.layers.%d.post_attention_layernorm.weight", l+"self_attention.linear_proj.post_layernorm.weight")
			m.perLayer("model.layers.%d.post_feedforward_layernorm.weight", l+"mlp.linear_fc2.post_layernorm.weight")
			gemmaNormShift(m, s, l+"self_attention.linear_proj.post_layernorm.weight", l+"mlp.linear_fc2.post_layernorm.weight")
		},
	}
}

// gemmaDecoder are the checks Gemma and Gemma 2 share.
func gemmaDecoder(n *need, s *Source) {
	a := s.Arch
	n.want(a.Normalization == "RMSNorm", "needs RMSNorm, not %s", a.Normalization)
	n.want(a.GatedLinearUnit && (a.ActivationName() == "openai_gelu" || a.ActivationName() == "gelu"), "needs GeGLU, not %s%s", gatedName(a), a.ActivationName())
	n.want(a.PositionEmbedding == "rope" && a.RotaryPercent == 1, "needs full rotary position embeddings")
	n.want(!a.AddBiasLinear && !a.AddQKVBias, "has no linear biases")
	n.want(!a.QKLayerNorm, "has no q/k layernorm")
	n.want(a.Experts == 0, "is a dense model")
}

func gemmaConfig(s *Source) map[string]any {
	a := s.Arch
	act := geluName(s)
	return map[string]any{
		"hidden_size":             a.Hidden,
		"intermediate_size":       a.FFN,
		"num_hidden_layers":       a.NumLayers,
		"num_attention_heads":     a.Heads,
		"num_key_value_heads":     a.Groups,
		"head_dim":                a.KVChannels,
		"max_position_embeddings": a.SeqLength,
		"rms_norm_eps":            a.LayerNormEpsilon,
		"rope_theta":              a.RotaryBase,
		// transformers 4.x reads hidden_activation, 5.x hidden_act.
		"hidden_act":          act,
		"hidden_activation":   act,
		"attention_bias":      false,
		"attention_dropout":   0.0,
		"tie_word_embeddings": a.ShareEmbeddings,
	}
}

// gemmaTensors maps what Gemma and Gemma 2 share; preMLP names the norm
// before the MLP (Gemma's post_attention_layernorm, Gemma 2's
// pre_feedforward_layernorm).
func gemmaTensors(m *mapper, s *Source, vocab int64, preMLP string) {
	a := s.Arch
	const l = "decoder.layers."
	m.vocabRows("model.embed_tokens.weight", "embedding.word_embeddings.weight", vocab)
	m.perLayer("model.layers.%d.input_layernorm.weight", l+"self_attention.linear_qkv.layer_norm_weight")
	m.qkv("model.layers.%d.self_attn.%s_proj.weight", l+"self_attention.linear_qkv.weight", int64(a.Heads), int64(a.Groups), int64(a.KVChannels))
	m.perLayer("model.layers.%d.self_attn.o_proj.weight", l+"self_attention.linear_proj.weight")
	m.perLayer(preMLP, l+"mlp.linear_fc1.layer_norm_weight")
	gatedMLP(m)
	m.whole("model.norm.weight", "decoder.final_layernorm.weight")
	if !a.ShareEmbeddings {
		m.vocabRows("lm_head.weight", "output_layer.weight", vocab)
	}
	gemmaNormShift(m, s, l+"self_attention.linear_qkv.layer_norm_weight", l+"mlp.linear_fc1.layer_norm_weight", "decoder.final_layernorm.weight")
}

// gemmaNormShift moves norm weights to Hugging Face's convention (w, the
// module computing 1 + w): NeMo 1's Gemma importer stored 1 + w with
// layernorm_zero_centered_gamma off, NeMo 2 stores w with it on.
func gemmaNormShift(m *mapper, s *Source, norms ...string) {
	if s.Arch.ZeroCenteredGamma {
		return
	}
	for _, n := range norms {
		m.shift(-1, n)
	}
}

// gemma2Window returns the sliding window of Gemma 2's windowed layers,
// 0 for none.
func gemma2Window(s *Source) (int, error) {
	v, _ := s.Config.Value("window_size")
	if v == nil {
		return 0, nil
	}
	w, err := slidingWindow(s)
	if err != nil {
		return 0, err
	}
	return w, nil
}

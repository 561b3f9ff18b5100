package export

// GPTBigCode (StarCoder's class) for Megatron's classic GPT: LayerNorm,
// learned absolute positions, GeLU, biases everywhere, multi-head or
// multi-query attention. Its fused c_attn is Megatron's linear_qkv as it
// is: per head [q, k, v] when every head is its own group, [all q, k, v]
// with one group; so are its other weights (nn.Linear, not GPT-2's
// transposed Conv1D).
func gptBigCode() *family {
	return &family{
		Architecture: "GPTBigCodeForCausalLM",
		ModelType:    "gpt_bigcode",
		fits: func(s *Source) error {
			var n need
			a := s.Arch
			n.want(a.Normalization == "LayerNorm" && !a.ZeroCenteredGamma, "needs LayerNorm without a zero-centered gamma")
			act := a.ActivationName()
			n.want((act == "gelu" || act == "openai_gelu") && !a.GatedLinearUnit, "needs an ungated GeLU, not %s%s", gatedName(a), act)
			n.want(a.PositionEmbedding == "learned_absolute", "needs learned absolute positions, not %s", a.PositionEmbedding)
			n.want(a.AddBiasLinear, "has biases in every linear layer")
			n.want(!a.QKLayerNorm, "has no q/k layernorm")
			n.want(a.Groups == a.Heads || a.Groups == 1, "has multi-head or multi-query attention, not %d query groups for %d heads", a.Groups, a.Heads)
			n.want(a.KVChannels*a.Heads == a.Hidden, "needs heads × kv_channels = hidden_size")
			n.want(a.Experts == 0, "is a dense model")
			return n.err()
		},
		config: func(s *Source) (map[string]any, error) {
			a := s.Arch
			act := geluName(s)
			return map[string]any{
				"n_embd":                          a.Hidden,
				"n_inner":                         a.FFN,
				"n_layer":                         a.NumLayers,
				"n_head":                          a.Heads,
				"n_positions":                     a.SeqLength,
				"layer_norm_epsilon":              a.LayerNormEpsilon,
				"activation_function":             act,
				"multi_query":                     a.Groups == 1 && a.Heads > 1,
				"scale_attn_weights":              true,
				"attn_pdrop":                      0.0,
				"embd_pdrop":                      0.0,
				"resid_pdrop":                     0.0,
				"tie_word_embeddings":             a.ShareEmbeddings,
				"attention_softmax_in_fp32":       true,
				"scale_attention_softmax_in_fp32": true,
			}, nil
		},
		tensors: func(m *mapper, s *Source, vocab int64) {
			a := s.Arch
			m.vocabRows("transformer.wte.weight", "embedding.word_embeddings.weight", vocab)
			m.whole("transformer.wpe.weight", "embedding.position_embeddings.weight")
			for _, p := range [][2]string{
				{"ln_1.weight", "self_attention.linear_qkv.layer_norm_weight"},
				{"ln_1.bias", "self_attention.linear_qkv.layer_norm_bias"},
				{"attn.c_attn.weight", "self_attention.linear_qkv.weight"},
				{"attn.c_attn.bias", "self_attention.linear_qkv.bias"},
				{"attn.c_proj.weight", "self_attention.linear_proj.weight"},
				{"attn.c_proj.bias", "self_attention.linear_proj.bias"},
				{"ln_2.weight", "mlp.linear_fc1.layer_norm_weight"},
				{"ln_2.bias", "mlp.linear_fc1.layer_norm_bias"},
				{"mlp.c_fc.weight", "mlp.linear_fc1.weight"},
				{"mlp.c_fc.bias", "mlp.linear_fc1.bias"},
				{"mlp.c_proj.weight", "mlp.linear_fc2.weight"},
				{"mlp.c_proj.bias", "mlp.linear_fc2.bias"},
			} {
				m.perLayer("transformer.h.%d."+p[0], "decoder.layers."+p[1])
			}
			m.whole("transformer.ln_f.weight", "decoder.final_layernorm.weight")
			m.whole("transformer.ln_f.bias", "decoder.final_layernorm.bias")
			if !a.ShareEmbeddings {
				m.vocabRows("lm_head.weight", "output_layer.weight", vocab)
			}
		},
	}
}

// geluName is the transformers activation for the model's GeLU: the tanh
// approximation where Megatron computes one (openai_gelu, or the fused
// bias kernel), erf otherwise.
func geluName(s *Source) string {
	if s.Arch.ActivationName() == "openai_gelu" || fusedGeLU(s) {
		return "gelu_pytorch_tanh"
	}
	return "gelu"
}

// fusedGeLU reports whether Megatron-Core computes the model's GeLU with
// a fused kernel (MLP with bias_activation_fusion and F.gelu: with a bias,
// or gated), which is the tanh approximation (fused_bias_gelu.py,
// fused_bias_geglu.py), not erf.
func fusedGeLU(s *Source) bool {
	v, _ := s.Config.Value("bias_activation_fusion")
	return v == true && s.Arch.ActivationName() == "gelu" && (s.Arch.AddBiasLinear || s.Arch.GatedLinearUnit)
}

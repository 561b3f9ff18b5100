package export

// Qwen2: Llama's decoder with biases on q, k and v (and none elsewhere).
func qwen2() *family {
	return &family{
		Architecture: "Qwen2ForCausalLM",
		ModelType:    "qwen2",
		handled:      []string{"seq_len_interpolation_factor"},
		fits: func(s *Source) error {
			var n need
			a := s.Arch
			ropeDecoderBase(&n, a)
			n.want(a.AddQKVBias && !a.AddBiasLinear, "has biases on q, k and v only")
			n.want(a.Experts == 0, "is a dense model")
			n.want(a.KVChannels*a.Heads == a.Hidden, "needs heads × kv_channels = hidden_size")
			return n.err()
		},
		config: func(s *Source) (map[string]any, error) {
			c := llamaConfig(s)
			delete(c, "attention_bias") // Qwen2's q/k/v biases are not a config choice
			c["use_sliding_window"] = false
			c["sliding_window"] = nil
			c["max_window_layers"] = s.Arch.NumLayers
			return c, nil
		},
		tensors: func(m *mapper, s *Source, vocab int64) {
			a := s.Arch
			llamaTensors(m, s, vocab, denseSwiGLU)
			m.qkv("model.layers.%d.self_attn.%s_proj.bias", "decoder.layers.self_attention.linear_qkv.bias", int64(a.Heads), int64(a.Groups), int64(a.KVChannels))
		},
	}
}

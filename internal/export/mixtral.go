package export

import "fmt"

// Mixtral: the Mistral decoder with a top-k mixture of SwiGLU experts.
func mixtral() *family {
	return &family{
		Architecture: "MixtralForCausalLM",
		ModelType:    "mixtral",
		handled:      []string{"seq_len_interpolation_factor", "moe_layer_freq"},
		fits: func(s *Source) error {
			var n need
			a := s.Arch
			ropeDecoder(&n, a)
			n.want(a.Experts > 0, "is a mixture of experts")
			n.want(a.MoELayerFreq == 1, "has experts in every layer, not moe_layer_freq %d", a.MoELayerFreq)
			n.want(!a.RouterExpertBias, "has no router expert bias")
			n.want(a.SharedExpertFFN == 0, "has no shared experts")
			return n.err()
		},
		config: func(s *Source) (map[string]any, error) {
			a := s.Arch
			c := llamaConfig(s)
			c["intermediate_size"] = a.MoEFFN
			c["num_local_experts"] = a.Experts
			c["num_experts_per_tok"] = a.RouterTopK
			c["sliding_window"] = nil
			return c, nil
		},
		tensors: func(m *mapper, s *Source, vocab int64) {
			llamaTensors(m, s, vocab, func(m *mapper) {
				m.perLayer("model.layers.%d.post_attention_layernorm.weight", "decoder.layers.pre_mlp_layernorm.weight")
				m.perLayer("model.layers.%d.block_sparse_moe.gate.weight", "decoder.layers.mlp.router.weight")
				fc1 := m.tensor("decoder.layers.mlp.experts.experts.linear_fc1.weight")
				fc2 := m.tensor("decoder.layers.mlp.experts.experts.linear_fc2.weight")
				if fc1 == nil || fc2 == nil {
					return
				}
				for l := int64(0); l < fc1.Shape[0]; l++ {
					for e := int64(0); e < fc1.Shape[1]; e++ {
						p := fmt.Sprintf("model.layers.%d.block_sparse_moe.experts.%d.", l, e)
						where := fmt.Sprintf("layer %d, expert %d", l, e)
						m.halves(fc1, []int64{l, e}, p+"w1.weight", p+"w3.weight", where)
						m.add(p+"w2.weight", fc2, fc2.Shape[2:], where, m.rows(fc2, []int64{l, e}, 0, fc2.Shape[2]))
					}
				}
			})
		},
	}
}

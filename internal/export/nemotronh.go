package export

import (
	"fmt"

	"github.com/nemo-migrate/nemo-migrate/internal/models"
)

// NemotronH: Mamba-Transformer hybrids (MambaModel) as transformers'
// NemotronHForCausalLM. Each layer is one block: an RMSNorm (Megatron fuses
// it into the first linear layer) and a mixer, Mamba-2, attention without
// position embedding, or an ungated MLP. Megatron-Core's mixer gates its
// grouped RMSNorm with eps 1e-5 whatever layernorm_epsilon says, where
// Hugging Face's uses layer_norm_epsilon for every norm, so the two must
// agree; its in_proj and conv1d are stored in parts (z, x, B, C, dt and
// x, B, C), which Hugging Face holds in that order as one tensor each.
func nemotronH() *family {
	return &family{
		Architecture: "NemotronHForCausalLM",
		ModelType:    "nemotron_h",
		hybrid:       true,
		fits: func(s *Source) error {
			var n need
			a := s.Arch
			n.want(a.Normalization == "RMSNorm" && !a.ZeroCenteredGamma, "needs RMSNorm without a zero-centered gamma, not %s", a.Normalization)
			n.want(a.LayerNormEpsilon == mambaNormEps, "needs layernorm_epsilon %g, the epsilon of Megatron-Core's gated mixer norm (Hugging Face uses one epsilon for both), not %g", mambaNormEps, a.LayerNormEpsilon)
			n.want(!a.GatedLinearUnit && hfActivation(a) != "", "needs an ungated squared ReLU, ReLU, SiLU or GeLU MLP, not %s%s", gatedName(a), a.ActivationName())
			n.want(a.PositionEmbedding == "none", "has no position embedding, not %s", a.PositionEmbedding)
			n.want(!a.AddBiasLinear && !a.AddQKVBias, "has no linear biases")
			n.want(!a.ShareEmbeddings, "has an untied output layer")
			n.want(a.Experts == 0, "is a dense model")
			return n.err()
		},
		config: func(s *Source) (map[string]any, error) {
			a := s.Arch
			c := map[string]any{
				"hidden_size":             a.Hidden,
				"intermediate_size":       a.FFN,
				"num_hidden_layers":       a.NumLayers,
				"hybrid_override_pattern": a.Pattern,
				"num_attention_heads":     a.Heads,
				"num_key_value_heads":     a.Groups,
				"head_dim":                a.KVChannels,
				"max_position_embeddings": a.SeqLength,
				"layer_norm_epsilon":      a.LayerNormEpsilon,
				"mamba_num_heads":         a.Mamba.Heads,
				"mamba_head_dim":          a.Mamba.HeadDim,
				"ssm_state_size":          a.Mamba.StateDim,
				"n_groups":                a.Mamba.Groups,
				"conv_kernel":             4,
				"chunk_size":              128,
				"use_conv_bias":           true,
				"use_bias":                false,
				"mamba_proj_bias":         false,
				"mlp_bias":                false,
				"attention_bias":          false,
				"mamba_hidden_act":        "silu",
				"mlp_hidden_act":          hfActivation(a),
				"residual_in_fp32":        false,
				"attention_dropout":       0.0,
				"hidden_dropout":          0.0,
				"tie_word_embeddings":     false,
			}
			if a.Mamba.Inner()%a.Hidden == 0 {
				// Informational: the mixer's width is heads × head_dim.
				c["expand"] = a.Mamba.Inner() / a.Hidden
			}
			return c, nil
		},
		tensors: func(m *mapper, s *Source, vocab int64) {
			a := s.Arch
			m.vocabRows("backbone.embeddings.weight", "embedding.word_embeddings.weight", vocab)
			for i, sym := range a.Pattern {
				src := fmt.Sprintf("decoder.layers.%d.", i)
				dst := fmt.Sprintf("backbone.layers.%d.", i)
				switch sym {
				case 'M':
					mx := src + "mixer."
					m.whole(dst+"norm.weight", mx+"in_proj.layer_norm_weight")
					m.concat(dst+"mixer.in_proj.weight", mx+"in_proj.weight.z", mx+"in_proj.weight.x", mx+"in_proj.weight.B", mx+"in_proj.weight.C", mx+"in_proj.weight.dt")
					m.concat(dst+"mixer.conv1d.weight", mx+"conv1d.weight.x", mx+"conv1d.weight.B", mx+"conv1d.weight.C")
					m.concat(dst+"mixer.conv1d.bias", mx+"conv1d.bias.x", mx+"conv1d.bias.B", mx+"conv1d.bias.C")
					for _, p := range []string{"A_log", "D", "dt_bias", "norm.weight", "out_proj.weight"} {
						m.whole(dst+"mixer."+p, mx+p)
					}
				case '*':
					sa := src + "self_attention."
					m.whole(dst+"norm.weight", sa+"linear_qkv.layer_norm_weight")
					if t := m.tensor(sa + "linear_qkv.weight"); t != nil {
						name := func(x string) string { return dst + "mixer." + x + "_proj.weight" }
						m.qkvAt(name, t, nil, "", int64(a.Heads), int64(a.Groups), int64(a.KVChannels))
					}
					m.whole(dst+"mixer.o_proj.weight", sa+"linear_proj.weight")
				case '-':
					m.whole(dst+"norm.weight", src+"mlp.linear_fc1.layer_norm_weight")
					m.whole(dst+"mixer.up_proj.weight", src+"mlp.linear_fc1.weight")
					m.whole(dst+"mixer.down_proj.weight", src+"mlp.linear_fc2.weight")
				}
			}
			m.whole("backbone.norm_f.weight", "decoder.final_norm.weight")
			m.vocabRows("lm_head.weight", "output_layer.weight", vocab)
		},
	}
}

// mambaNormEps is the epsilon of Megatron-Core's MambaMixer norm
// (ExtendedRMSNorm(..., eps=1e-5)).
const mambaNormEps = 1e-5

// hfActivation is transformers' name (ACT2FN) for the MLP activation, ""
// for one it has no exact name for.
func hfActivation(a models.Arch) string {
	switch a.ActivationName() {
	case "squared_relu":
		return "relu2"
	case "relu":
		return "relu"
	case "silu":
		return "silu"
	case "gelu":
		return "gelu"
	case "openai_gelu":
		return "gelu_pytorch_tanh"
	}
	return ""
}

package configmig

import (
	"github.com/nemo-migrate/nemo-migrate/internal/models"
)

// isMamba reports a NeMo 1.0 Mamba config: MegatronMambaModel's own keys
// (megatron_mamba_config.yaml has both, null or not) or its run name.
func (g *mig) isMamba() bool {
	if g.has(g.mk("hybrid_override_pattern")) || g.has(g.mk("mamba_ssm_ngroups")) {
		return true
	}
	if v, ok := g.truthy(g.mk("is_hybrid_model")); ok && v {
		return true
	}
	return g.str("name") == "megatron_mamba"
}

// mambaIgnores are the GPT keys MegatronMambaModel does not pass to
// Megatron-Core's MambaModel, and why (models' nemo1MambaKeys).
var mambaIgnores = map[string]string{
	"bias":                                "MegatronMambaModel reads add_bias_linear instead",
	"position_embedding_type":             "MegatronMambaModel builds no position embedding",
	"rotary_percentage":                   "MegatronMambaModel builds no position embedding",
	"rotary_base":                         "MegatronMambaModel builds no position embedding",
	"rotary_interleaved":                  "MegatronMambaModel builds no position embedding",
	"seq_len_interpolation_factor":        "MegatronMambaModel builds no position embedding",
	"share_embeddings_and_output_weights": "MegatronMambaModel's output layer is untied",
	"vocab_size":                          "MambaModel sizes the embedding from the tokenizer, padded to make_vocab_size_divisible_by",
	"hybrid_attention_ratio":              "MegatronMambaModel does not pass it; hybrid_override_pattern decides the layers",
	"hybrid_mlp_ratio":                    "MegatronMambaModel does not pass it; hybrid_override_pattern decides the layers",
}

// mambaKeys are MegatronMambaModel's own keys and their SSMConfig fields.
var mambaKeys = []struct{ key, arg string }{
	{"add_bias_linear", ""}, {"gated_linear_unit", ""}, {"hybrid_override_pattern", ""},
	{"mamba_ssm_ngroups", "mamba_num_groups"}, {"mamba_state_dim", ""}, {"mamba_head_dim", ""}, {"mamba_num_heads", ""},
}

// mambaArgs is archArgs for a MegatronMambaModel: the TransformerConfig
// keys build_transformer_config passes on, the model's own keys, and the
// GPT keys it ignores with their reason.
func (g *mig) mambaArgs(cfg *Call, class *models.Class) {
	for k, why := range mambaIgnores {
		g.skip(g.mk(k), why)
	}
	add := func(arg, key string) {
		if g.has(g.mk(key)) {
			cfg.add(g.fromKey(arg, g.mk(key)))
		}
	}
	for _, k := range archKeys {
		if _, ignored := mambaIgnores[k.key]; ignored {
			continue
		}
		if _, ok := class.Param(firstNonEmpty(k.arg, k.key)); ok {
			add(firstNonEmpty(k.arg, k.key), k.key)
		}
	}
	g.normalization(cfg)
	g.activation(cfg)
	// MegatronMambaModel sets gated_linear_unit from its own key (False
	// when absent), not from the activation's name.
	p := g.mk("gated_linear_unit")
	if g.has(p) {
		add("gated_linear_unit", "gated_linear_unit")
	} else {
		cfg.add(g.dflt("gated_linear_unit", p, boolLit(false), "MegatronMambaModel's default; it does not derive it from activation"))
	}
	for _, k := range mambaKeys {
		if k.key != "gated_linear_unit" {
			add(firstNonEmpty(k.arg, k.key), k.key)
		}
	}
	g.qkScaling(cfg)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

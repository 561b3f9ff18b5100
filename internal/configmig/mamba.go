package configmig

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

// mambaKeys are MegatronMambaModel's own keys and their SSMConfig fields
// (gated_linear_unit: mambaGating).
var mambaKeys = []struct{ key, arg string }{
	{"add_bias_linear", ""}, {"hybrid_override_pattern", ""},
	{"mamba_ssm_ngroups", "mamba_num_groups"}, {"mamba_state_dim", ""}, {"mamba_head_dim", ""}, {"mamba_num_heads", ""},
}

// mambaGating replaces the gated_linear_unit activation derived from the
// activation's name: MegatronMambaModel sets it from its own key (False
// when absent).
func (g *mig) mambaGating(cfg *Call) {
	p := g.mk("gated_linear_unit")
	if g.has(p) {
		cfg.add(g.fromKey("gated_linear_unit", p))
		return
	}
	cfg.add(g.dflt("gated_linear_unit", p, boolLit(false), "MegatronMambaModel's default; it does not derive it from activation"))
}

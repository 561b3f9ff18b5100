package models

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The keys of a NeMo 1 model_config.yaml that change what the network
// computes, as NeMo 1's Megatron-Core GPT path reads them (NeMo 2.6.0rc0's
// nlp collection: megatron_base_model.py build_transformer_config, which
// also copies any key named like a TransformerConfig field;
// megatron_gpt_model.py model_provider_func, get_specs and
// mcore_model_customize). Each is mapped into the NeMo 2 config by
// nemo1Fields, inert in that path (with the reason), or unsupported: a
// value other than NeMo 1's default fails the conversion, naming the key.
// Keys outside this table only change speed, numerics or training.
type keyStatus uint8

const (
	keyMapped keyStatus = iota + 1
	keyInert
	keyUnsupported
)

type nemo1Key struct {
	status keyStatus
	def    any    // NeMo 1's default (what an absent key means)
	why    string // for inert keys: why; for unsupported ones: what it does
}

func mapped() nemo1Key { return nemo1Key{status: keyMapped} }

func inert(why string) nemo1Key { return nemo1Key{status: keyInert, why: why} }

func unsupported(def any, what string) nemo1Key {
	return nemo1Key{status: keyUnsupported, def: def, why: what}
}

const mlaOnly = "read only with multi_latent_attention, which is refused"

var nemo1ArchKeys = map[string]nemo1Key{
	// Sizes and layout.
	"num_layers": mapped(), "hidden_size": mapped(), "num_attention_heads": mapped(),
	"ffn_hidden_size": mapped(), "kv_channels": mapped(), "num_query_groups": mapped(),
	"encoder_seq_length": mapped(), "make_vocab_size_divisible_by": mapped(),
	"share_embeddings_and_output_weights": mapped(),
	"override_vocab_size":                 inert("the vocabulary size is taken from the stored embedding"),
	"tokenizer":                           inert("the tokenizer is resolved separately"),
	"max_position_embeddings":             inert("only the legacy (non-Megatron-Core) model reads it; encoder_seq_length sizes positions"),
	// Norms, activations, biases.
	"normalization": mapped(), "layernorm_zero_centered_gamma": mapped(), "layernorm_epsilon": mapped(),
	"bias": mapped(), "qkv_bias": mapped(), "activation": mapped(), "openai_gelu": mapped(),
	"bias_activation_fusion":                   mapped(),
	"add_bias_linear":                          inert("NeMo 1 reads bias instead"),
	"add_qkv_bias":                             inert("NeMo 1 reads qkv_bias instead"),
	"gated_linear_unit":                        inert("NeMo 1 derives it from activation"),
	"activation_func":                          inert("NeMo 1 derives it from activation"),
	"apply_residual_connection_post_layernorm": inert("NeMo 1 forces it to False"),
	"transformer_block_type":                   inert("only the legacy model reads it; Megatron-Core layers are pre-LN"),
	"attention_type":                           inert("only the legacy model reads it"),
	"normalize_attention_scores":               inert("only the legacy model reads it"),
	"headscale":                                inert("only the legacy model reads it"),
	"megatron_legacy":                          inert("only the legacy model reads it"),
	// Attention and positions.
	"window_size": mapped(), "qk_layernorm": mapped(), "position_embedding_type": mapped(),
	"rotary_percentage": mapped(), "rotary_base": mapped(), "seq_len_interpolation_factor": mapped(),
	"rotary_interleaved": mapped(), "scale_positional_embedding": mapped(), "scale_factor": mapped(),
	"low_freq_factor": mapped(), "high_freq_factor": mapped(), "old_context_len": mapped(),
	"softmax_scale":          unsupported(nil, "scales the attention logits by a fixed factor"),
	"no_rope_freq":           unsupported(nil, "leaves RoPE out of some layers"),
	"mrope_section":          unsupported(nil, "multimodal RoPE sections"),
	"multi_latent_attention": unsupported(false, "multi-latent attention (DeepSeek); NeMo 2 has it only in its DeepSeek configs"),
	"q_lora_rank":            inert(mlaOnly), "kv_lora_rank": inert(mlaOnly), "qk_head_dim": inert(mlaOnly),
	"qk_pos_emb_head_dim": inert(mlaOnly), "v_head_dim": inert(mlaOnly), "rope_type": inert(mlaOnly),
	"rotary_percent": inert(mlaOnly), "rotary_scaling_factor": inert(mlaOnly),
	"original_max_position_embeddings": inert(mlaOnly), "beta_fast": inert(mlaOnly), "beta_slow": inert(mlaOnly),
	"mscale": inert(mlaOnly), "mscale_all_dim": inert(mlaOnly),
	// Embeddings and output, and the layer code itself.
	// apply_embedding_scaling selects GemmaModel, which scales as NeMo 1
	// did; mcore_customization_config is read with the Gemma 2 layer spec
	// (nemo1Fields refuses it elsewhere).
	"apply_embedding_scaling":    mapped(),
	"mcore_customization_config": mapped(),
	"hyena":                      unsupported(nil, "Hyena layers"),
	"drop_layers":                unsupported(nil, "replaces layers with no-ops"),
	"mcore_gpt":                  unsupported(true, "false selects NeMo 1's legacy GPT model, whose weights NeMo 2 does not load"),
	"is_hybrid_model":            unsupported(false, "a Mamba hybrid, which NeMo 1 builds as MegatronMambaModel (target), not as a GPT model"),
	"mamba_state_dim":            inert("read only by Mamba models"),
	"mamba_head_dim":             inert("read only by Mamba models"),
	"mamba_num_groups":           inert("read only by Mamba models"),
	"mamba_num_heads":            inert("read only by Mamba models"),
	"heterogeneous_block_specs":  unsupported(false, "layers of different shapes"),
	"mtp_num_layers":             inert("NeMo 1 builds no multi-token-prediction layers; NeMo 2 would, so it is not carried over"),
	// Mixture of experts.
	"num_moe_experts": mapped(), "moe_router_topk": mapped(), "moe_ffn_hidden_size": mapped(),
	"moe_router_load_balancing_type": mapped(), "moe_input_jitter_eps": mapped(), "moe_router_pre_softmax": mapped(),
	"moe_layer_freq":                      inert("NeMo 1's TE spec makes every layer a MoE layer"),
	"moe_shared_expert_intermediate_size": mapped(),
	"moe_shared_expert_overlap":           inert("overlaps the shared expert's compute with the dispatch: speed only"),
	"moe_router_topk_limited_devices":     unsupported(nil, "device-limited routing"),
	"moe_router_num_groups":               unsupported(nil, "group-limited routing"),
	"moe_router_group_topk":               unsupported(nil, "group-limited routing"),
	"moe_router_topk_scaling_factor":      unsupported(nil, "scales the routing weights"),
	"moe_router_score_function":           unsupported("softmax", "the routing score function"),
	"moe_router_enable_expert_bias":       unsupported(false, "an expert bias in routing"),
	"moe_router_force_load_balancing":     unsupported(false, "routes uniformly, ignoring the router"),
	"moe_expert_capacity_factor":          unsupported(nil, "drops tokens beyond an expert's capacity"),
	"moe_pad_expert_input_to_capacity":    unsupported(false, "pads expert inputs to capacity"),
	"moe_token_drop_policy":               unsupported("probs", "which tokens capacity drops"),
	"moe_apply_probs_on_input":            unsupported(false, "applies routing probabilities before the experts"),
}

// specNames are the values of model_config.yaml's name that select the
// TransformerEngine GPT layer NeMo 2 loads (get_specs: "" means te_gpt
// with transformer_engine).
var specNames = []string{"", "te_gpt", "megatron_gpt", gemma2Spec, fullTESpec}

// gemma2Spec is the name that selects NeMo 1's Gemma 2 layer spec
// (get_gemma2_layer_spec), which NeMo 2's Gemma2Config builds too.
const gemma2Spec = "megatron_gemma2"

// otherSpecs says what the NeMo 1 layer specs nemo-migrate does not
// convert are (megatron_gpt_model.py get_specs), for the refusal.
var otherSpecs = map[string]string{
	"megatron_falcon_gpt": "Falcon's decoder layer (convert_falcon_hf_to_nemo.py); NeMo 2 has no Falcon model",
	"te_gpt_hyena":        "NeMo 1's Hyena operator layers; NeMo 2's hyena.py is another model (Evo 2)",
	"modelopt":            "a ModelOpt (quantization, pruning or distillation) layer",
	"ammo":                "a ModelOpt (quantization) layer",
	"decoder_block_gpt":   "a block of layers of different kinds (get_gpt_decoder_block_spec)",
}

// otherTargets says what NeMo 1 model classes other than the GPT ones
// are, by a part of their name; a .nemo's model_config.yaml names its
// class in target.
var otherTargets = []struct{ substr, what string }{
	{"Griffin", "a Griffin (RecurrentGemma) model; NeMo 2 has none"},
	{"Retro", "a Retro model; NeMo 2 has none"},
	{"PromptLearning", "a p-tuning checkpoint (prompt embeddings for a base model), not a model"},
	{"Adapter", "an adapter checkpoint for a base model, not a model"},
	{"T5", "an encoder-decoder (T5) model; nemo-migrate converts GPT models"},
	{"BART", "an encoder-decoder (BART) model; nemo-migrate converts GPT models"},
	{"Bert", "a BERT model; nemo-migrate converts GPT models"},
}

// checkTarget refuses a model class other than NeMo 1's GPT model or its
// fine-tuned form, naming what it is.
func checkTarget(v any) string {
	t, _ := v.(string)
	class := t[strings.LastIndexByte(t, '.')+1:]
	switch class {
	case "", "MegatronGPTModel", "MegatronGPTSFTModel", mambaTarget:
		return ""
	}
	for _, o := range otherTargets {
		if strings.Contains(class, o.substr) {
			return fmt.Sprintf("target: %s is %s", class, o.what)
		}
	}
	return fmt.Sprintf("target: %s is not NeMo 1's GPT model (MegatronGPTModel); nemo-migrate converts GPT models", class)
}

// checkNEMO1Keys fails for every key that changes the network and has no
// mapping, unless it holds NeMo 1's default.
func checkNEMO1Keys(y map[string]any) error {
	var errs []string
	mamba := isMamba(y)
	for _, k := range slices.Sorted(maps.Keys(y)) {
		v := y[k]
		key, ok := nemo1ArchKeys[k]
		if mamba {
			if mk, isMambaKey := nemo1MambaKeys[k]; isMambaKey {
				key, ok = mk, true
			}
			if k == "name" || k == "target" {
				continue
			}
		}
		switch k {
		case "name":
			s, _ := v.(string)
			if what, ok := otherSpecs[s]; ok {
				errs = append(errs, fmt.Sprintf("name: %s selects %s", s, what))
			} else if !slices.Contains(specNames, s) {
				errs = append(errs, fmt.Sprintf("name: %v selects NeMo 1's %q layer spec, which NeMo 2 has no model for (only the TransformerEngine GPT layer and Gemma 2's convert)", v, v))
			}
			continue
		case "target":
			if e := checkTarget(v); e != "" {
				errs = append(errs, e)
			}
			continue
		}
		if !ok || key.status != keyUnsupported || isDefault(v, key.def) {
			continue
		}
		errs = append(errs, fmt.Sprintf("%s: %v %s, which nemo-migrate does not map", k, describeValue(v), "changes the network ("+key.why+")"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("model_config.yaml: %s; converting would compute something else", strings.Join(errs, "; "))
	}
	return nil
}

// isDefault reports whether a YAML value means NeMo 1's default: equal
// to it, null, or an empty collection where the default is one.
func isDefault(v, def any) bool {
	if v == nil {
		return true
	}
	switch v := v.(type) {
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0 && def == nil
	}
	return def != nil && sameValue(v, def)
}

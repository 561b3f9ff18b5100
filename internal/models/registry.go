// Package models knows the NeMo 2.0 GPT models a NeMo 1.0 checkpoint
// converts to: the model ids of NeMo's convert_nemo1_to_nemo2.py with their
// model and config classes and every field of those configs; the exact set
// of tensors and objects (key, global shape, dtype) a NeMo 2 model of a
// config requests when it loads a checkpoint; a check of a source
// checkpoint against that set; and a config derived from a NeMo 1.0
// model_config.yaml (model id "auto").
//
// Field lists and defaults correspond to NeMo 2.6.0rc0
// (NVIDIA/NeMo@8cfedd72, 2025-09-20) with Megatron-Core 0.15.0rc3
// (NVIDIA/Megatron-LM@b615e731, the commit NeMo's
// requirements/manifest.json pins) and TransformerEngine 2.7 (same
// manifest). Class paths are verified against NeMo's sources
// (nemo/collections/llm/gpt/model/{base,llama,mistral,mixtral,nemotron,
// qwen2,starcoder,starcoder2,gemma,gemma2,chatglm,baichuan,ssm}.py).
package models

import (
	"fmt"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
)

// Versions of the sources the field lists were transcribed from.
const (
	NeMoVersion  = "2.6.0rc0 (NVIDIA/NeMo@8cfedd72)"
	MCoreVersion = "0.15.0rc3 (NVIDIA/Megatron-LM@b615e731)"
	TEVersion    = "2.7.0 (NVIDIA/TransformerEngine@0289e763)"
)

const (
	gptModule      = "nemo.collections.llm.gpt.model."
	llamaModule    = gptModule + "llama."
	mistralModule  = gptModule + "mistral."
	mixtralModule  = gptModule + "mixtral."
	nemotronModule = gptModule + "nemotron."
	qwen2Module    = gptModule + "qwen2."
	starcoder2Mod  = gptModule + "starcoder2."
	gemmaModule    = gptModule + "gemma."
	gemma2Module   = gptModule + "gemma2."
	chatglmModule  = gptModule + "chatglm."
	baichuanModule = gptModule + "baichuan."
	starcoderMod   = gptModule + "starcoder."
)

// Model is a model id NeMo's converter accepts: the NeMo 2 model class and
// the config class it builds.
type Model struct {
	ID string
	// Class is the model class (a LightningModule), e.g.
	// nemo.collections.llm.gpt.model.llama.LlamaModel.
	Class *Class
	// Config is the config dataclass, e.g.
	// nemo.collections.llm.gpt.model.llama.Llama3Config8B.
	Config *Class
	// Vocab is the vocabulary size of the published model's tokenizer,
	// used only for estimates (parameter counts); a conversion takes the
	// size from the checkpoint.
	Vocab int
}

// classes holds the config and model classes of one registry build.
type classes struct {
	gpt, llama, llama2_7b, llama2_13b, llama2_70b, llama3, llama3_8b, llama3_70b, llama31 *Class
	mistral7b                                                                             *Class
	mixtral, mixtral8x7b, mixtral8x22b                                                    *Class
	nemotron, nemotron3_8b, nemotron3_22b, nemotron4_15b, nemotron4_340b                  *Class

	qwen2, starcoder2                                    *Class
	gemma, gemma2, chatglm, baichuan2, starcoder         *Class
	gemma2_2b, gemma2_9b, gemma2_27b                     *Class
	chatglm2_6b, chatglm3_6b, baichuan2_7b, starcoder15b *Class

	gptModel, llamaModel, mistralModel, mixtralModel, nemotronModel, qwen2Model, starcoder2Model *Class
	gemmaModel, gemma2Model, chatglmModel, baichuan2Model, starcoderModel                        *Class

	ssm, nemotronH, nemotronH4b, nemotronH8b, nemotronH47b, nemotronH56b *Class
	mambaModel                                                           *Class
}

// a is shorthand for a field declaration in a subclass.
func a(name string, v any) fiddle.Arg { return fiddle.Arg{Name: name, Value: v} }

// newClasses builds the classes afresh, so callers may not alter each
// other's (there is no shared mutable registry).
func newClasses() *classes {
	c := &classes{}
	gpt := &Class{Ref: fiddle.Dotted(gptModule + "base.GPTConfig")}
	for _, f := range gptConfigFields() {
		gpt.Params = append(gpt.Params, Param{Name: f.Name, Default: f.Value})
	}
	c.gpt = gpt

	// nemo/collections/llm/gpt/model/llama.py
	c.llama = gpt.subclass(llamaModule+"LlamaConfig",
		a("normalization", "RMSNorm"), a("activation_func", silu), a("gated_linear_unit", true),
		a("position_embedding_type", "rope"), a("add_bias_linear", false), a("seq_length", 4096),
		a("attention_dropout", 0.0), a("hidden_dropout", 0.0), a("share_embeddings_and_output_weights", false),
		a("bias_activation_fusion", true), a("masked_softmax_fusion", true), a("persist_layer_norm", true),
		a("bias_dropout_fusion", true), a("apply_rope_fusion", true), a("use_transformer_engine_op_fuser", nil))
	c.llama2_7b = c.llama.subclass(llamaModule+"Llama2Config7B",
		a("num_layers", 32), a("hidden_size", 4096), a("num_attention_heads", 32), a("num_query_groups", 32),
		a("ffn_hidden_size", 11008))
	c.llama2_13b = c.llama.subclass(llamaModule+"Llama2Config13B",
		a("num_layers", 40), a("hidden_size", 5120), a("num_attention_heads", 40), a("num_query_groups", 40),
		a("ffn_hidden_size", 13824))
	c.llama2_70b = c.llama.subclass(llamaModule+"Llama2Config70B",
		a("num_layers", 80), a("hidden_size", 8192), a("num_attention_heads", 64), a("num_query_groups", 8),
		a("ffn_hidden_size", 28672))
	c.llama3 = c.llama.subclass(llamaModule+"Llama3Config",
		a("num_query_groups", 8), a("hidden_dropout", 0.0), a("attention_dropout", 0.0),
		a("normalization", "RMSNorm"), a("init_method_std", 0.01), a("layernorm_epsilon", 1.0e-05),
		a("add_bias_linear", false), a("activation_func", silu), a("gated_linear_unit", true),
		a("bias_activation_fusion", true), a("masked_softmax_fusion", true), a("persist_layer_norm", true),
		a("bias_dropout_fusion", true), a("apply_rope_fusion", true),
		a("share_embeddings_and_output_weights", false), a("position_embedding_type", "rope"),
		a("rotary_percent", 1.0))
	c.llama3_8b = c.llama3.subclass(llamaModule+"Llama3Config8B",
		a("rotary_base", 500_000), a("seq_length", 8192), a("num_layers", 32), a("hidden_size", 4096),
		a("ffn_hidden_size", 14336), a("num_attention_heads", 32))
	c.llama3_70b = c.llama3.subclass(llamaModule+"Llama3Config70B",
		a("rotary_base", 500_000), a("seq_length", 8192), a("num_layers", 80), a("hidden_size", 8192),
		a("ffn_hidden_size", 28672), a("num_attention_heads", 64), a("init_method_std", 0.008944),
		a("make_vocab_size_divisible_by", 128))

	// Llama 3.1 and 3.2: Llama 3 with NeMo's apply_rope_scaling on the
	// rotary frequencies (configure_model), the same function NeMo 1 ran
	// for scale_positional_embedding.
	c.llama31 = c.llama3.subclass(llamaModule+"Llama31Config",
		a("scale_factor", 8.0), a("low_freq_factor", 1.0), a("high_freq_factor", 4.0),
		a("old_context_len", 8192), a("init_method_std", 0.02))

	// nemo/collections/llm/gpt/model/mistral.py (window_size is a
	// default_factory field: [4096, 0]).
	c.mistral7b = gpt.subclass(mistralModule+"MistralConfig7B",
		a("normalization", "RMSNorm"), a("activation_func", silu), a("position_embedding_type", "rope"),
		a("add_bias_linear", false), a("gated_linear_unit", true), a("num_layers", 32), a("hidden_size", 4096),
		a("num_attention_heads", 32), a("num_query_groups", 8), a("ffn_hidden_size", 14336),
		a("seq_length", 32768), a("attention_dropout", 0.0), a("hidden_dropout", 0.0),
		a("share_embeddings_and_output_weights", false), a("init_method_std", 0.02),
		a("layernorm_epsilon", 1e-5), a("window_size", &fiddle.List{Items: []any{4096, 0}}),
		a("cp_comm_type", "a2a"), a("params_dtype", torchBFloat16))

	// nemo/collections/llm/gpt/model/mixtral.py
	c.mixtral = gpt.subclass(mixtralModule+"MixtralConfig",
		a("normalization", "RMSNorm"), a("activation_func", silu), a("position_embedding_type", "rope"),
		a("add_bias_linear", false), a("gated_linear_unit", true), a("num_layers", 32), a("hidden_size", 4096),
		a("num_attention_heads", 32), a("num_query_groups", 8), a("ffn_hidden_size", 14336),
		a("max_position_embeddings", 4096), a("seq_length", 4096), a("attention_dropout", 0.0),
		a("hidden_dropout", 0.0), a("share_embeddings_and_output_weights", false),
		a("num_moe_experts", 8), a("moe_aux_loss_coeff", 0.01), a("moe_router_topk", 2),
		a("moe_router_pre_softmax", false), a("moe_token_dispatcher_type", "alltoall"),
		a("moe_router_load_balancing_type", "aux_loss"), a("init_method_std", 0.02),
		a("layernorm_epsilon", 1e-5), a("rotary_percent", 1.0), a("rotary_base", 1000000.0), a("bf16", true),
		a("params_dtype", torchBFloat16), a("apply_rope_fusion", true), a("bias_activation_fusion", true),
		a("bias_dropout_fusion", true), a("masked_softmax_fusion", false))
	c.mixtral8x7b = c.mixtral.subclass(mixtralModule+"MixtralConfig8x7B",
		a("num_layers", 32), a("hidden_size", 4096), a("ffn_hidden_size", 14336),
		a("max_position_embeddings", 4096), a("seq_length", 4096))
	c.mixtral8x22b = c.mixtral.subclass(mixtralModule+"MixtralConfig8x22B",
		a("num_layers", 56), a("hidden_size", 6144), a("num_attention_heads", 48), a("ffn_hidden_size", 16384),
		a("max_position_embeddings", 4096), a("seq_length", 4096))

	// nemo/collections/llm/gpt/model/nemotron.py (bias_dropout_add_fusion
	// is not a TransformerConfig field: NemotronConfig adds it).
	c.nemotron = gpt.subclass(nemotronModule+"NemotronConfig",
		a("normalization", "LayerNorm"), a("activation_func", squaredReLU), a("position_embedding_type", "rope"),
		a("share_embeddings_and_output_weights", false), a("add_bias_linear", false), a("hidden_dropout", 0.0),
		a("attention_dropout", 0.0), a("rotary_percent", 0.5), a("masked_softmax_fusion", true),
		a("persist_layer_norm", true), a("bias_dropout_add_fusion", false),
		a("layernorm_zero_centered_gamma", true), a("cross_entropy_loss_fusion", true),
		a("apply_rope_fusion", true), a("num_layers", 32), a("seq_length", 4096), a("hidden_size", 3072),
		a("ffn_hidden_size", 9216), a("num_attention_heads", 24), a("num_query_groups", 8),
		a("kv_channels", 128), a("init_method_std", 0.0134))
	c.nemotron3_8b = c.nemotron.subclass(nemotronModule+"Nemotron3Config8B",
		a("num_layers", 32), a("seq_length", 4096), a("hidden_size", 4096), a("ffn_hidden_size", 16384),
		a("num_attention_heads", 32), a("num_query_groups", nil), a("kv_channels", nil),
		a("init_method_std", 0.010))
	c.nemotron3_22b = c.nemotron.subclass(nemotronModule+"Nemotron3Config22B",
		a("num_layers", 40), a("seq_length", 4096), a("hidden_size", 6144), a("ffn_hidden_size", 24576),
		a("num_attention_heads", 48), a("num_query_groups", nil), a("kv_channels", nil),
		a("init_method_std", 0.008))
	c.nemotron4_15b = c.nemotron.subclass(nemotronModule+"Nemotron4Config15B",
		a("num_layers", 32), a("seq_length", 4096), a("hidden_size", 6144), a("ffn_hidden_size", 24576),
		a("num_attention_heads", 48), a("num_query_groups", 8), a("kv_channels", nil),
		a("init_method_std", 0.0134))
	c.nemotron4_340b = c.nemotron.subclass(nemotronModule+"Nemotron4Config340B",
		a("num_layers", 96), a("seq_length", 4096), a("hidden_size", 18432), a("ffn_hidden_size", 73728),
		a("num_attention_heads", 96), a("num_query_groups", 8), a("kv_channels", nil),
		a("init_method_std", 0.0063))

	// nemo/collections/llm/gpt/model/qwen2.py: Llama's layout with
	// biases on q, k and v.
	c.qwen2 = gpt.subclass(qwen2Module+"Qwen2Config",
		a("normalization", "RMSNorm"), a("activation_func", silu), a("gated_linear_unit", true),
		a("add_bias_linear", false), a("add_qkv_bias", true), a("seq_length", 4096), a("init_method_std", 0.02),
		a("hidden_dropout", 0.0), a("attention_dropout", 0.0), a("vocab_size", 151936),
		a("share_embeddings_and_output_weights", false), a("layernorm_epsilon", 1e-6),
		a("rotary_base", 1000000.0), a("position_embedding_type", "rope"))

	// nemo/collections/llm/gpt/model/starcoder2.py: LayerNorm, GeLU,
	// biases everywhere, rotary positions, grouped-query attention.
	c.starcoder2 = gpt.subclass(starcoder2Mod+"Starcoder2Config",
		a("normalization", "LayerNorm"), a("activation_func", gelu), a("add_bias_linear", true),
		a("seq_length", 16384), a("position_embedding_type", "rope"), a("rotary_percent", 1.0),
		a("hidden_dropout", 0.0), a("attention_dropout", 0.0), a("init_method_std", 0.01),
		a("share_embeddings_and_output_weights", false), a("kv_channels", nil), a("num_query_groups", nil),
		a("window_size", nil), a("attention_softmax_in_fp32", true), a("bias_activation_fusion", true),
		a("bias_dropout_fusion", true), a("layernorm_epsilon", 1e-5))

	// nemo/collections/llm/gpt/model/gemma.py: GeGLU with the tanh GeLU,
	// tied embeddings, RMSNorm weights stored zero-centered (the module
	// computes 1 + w, as Hugging Face's GemmaRMSNorm), head width 256.
	c.gemma = gpt.subclass(gemmaModule+"GemmaConfig",
		a("normalization", "RMSNorm"), a("activation_func", openAIGelu), a("gated_linear_unit", true),
		a("position_embedding_type", "rope"), a("add_bias_linear", false), a("seq_length", 8192),
		a("kv_channels", 256), a("attention_dropout", 0.0), a("hidden_dropout", 0.0),
		a("share_embeddings_and_output_weights", true), a("layernorm_zero_centered_gamma", true),
		a("attention_backend", fiddle.Ref{Module: "megatron.core.transformer.enums", Name: "AttnBackend.flash", Kind: fiddle.Enum}))
	// nemo/collections/llm/gpt/model/gemma2.py: Gemma with its own layer
	// spec (post-attention and post-MLP norms, soft-capped attention
	// logits, a query scale of its own, a window on every other layer)
	// and soft-capped output logits.
	c.gemma2 = gpt.subclass(gemma2Module+"Gemma2Config",
		a("normalization", "RMSNorm"), a("activation_func", openAIGelu), a("gated_linear_unit", true),
		a("position_embedding_type", "rope"), a("add_bias_linear", false), a("seq_length", 8192),
		a("kv_channels", 256), a("attention_dropout", 0.0), a("hidden_dropout", 0.0),
		a("share_embeddings_and_output_weights", true), a("layernorm_zero_centered_gamma", true),
		a("layernorm_epsilon", 1e-6), a("rotary_base", 10000), a("window_size", &fiddle.Tuple{Items: []any{4096, 0}}),
		a("vocab_size", 256000), a("gradient_accumulation_fusion", false),
		a("transformer_layer_spec", fiddle.Class(strings.TrimSuffix(gemma2Module, "."), "gemma2_layer_spec")),
		a("query_pre_attn_scalar", 224), a("attn_logit_softcapping", 50.0), a("final_logit_softcapping", 30.0))
	// nemo/collections/llm/gpt/model/chatglm.py: biases on q, k and v
	// only, RoPE on half of each head with interleaved pairs.
	c.chatglm = gpt.subclass(chatglmModule+"ChatGLMConfig",
		a("num_layers", 28), a("hidden_size", 4096), a("ffn_hidden_size", 13696), a("num_attention_heads", 32),
		a("num_query_groups", 2), a("init_method_std", 0.02), a("hidden_dropout", 0.0), a("attention_dropout", 0.0),
		a("normalization", "RMSNorm"), a("add_bias_linear", false), a("add_qkv_bias", true),
		a("rotary_percent", 0.5), a("rotary_interleaved", true), a("activation_func", silu),
		a("gated_linear_unit", true), a("position_embedding_type", "rope"),
		a("share_embeddings_and_output_weights", false), a("make_vocab_size_divisible_by", 65024))
	// nemo/collections/llm/gpt/model/baichuan.py: Llama's layout; the
	// class leaves positions learned, the 7B preset sets RoPE.
	c.baichuan2 = gpt.subclass(baichuanModule+"Baichuan2Config",
		a("seq_length", 4096), a("init_method_std", 0.02), a("layernorm_epsilon", 1e-6),
		a("hidden_dropout", 0.0), a("attention_dropout", 0.0), a("normalization", "RMSNorm"),
		a("activation_func", silu), a("gated_linear_unit", true), a("add_bias_linear", false),
		a("share_embeddings_and_output_weights", false))
	// nemo/collections/llm/gpt/model/starcoder.py: GPTBigCode: LayerNorm,
	// GeLU (fused with its bias: the tanh form), learned positions,
	// multi-query attention.
	c.starcoder = gpt.subclass(starcoderMod+"StarcoderConfig",
		a("normalization", "LayerNorm"), a("activation_func", gelu), a("add_bias_linear", true),
		a("seq_length", 8192), a("position_embedding_type", "learned_absolute"), a("hidden_dropout", 0.2),
		a("attention_dropout", 0.2), a("init_method_std", 0.01), a("layernorm_epsilon", 1e-5),
		a("share_embeddings_and_output_weights", false), a("kv_channels", nil), a("num_query_groups", 1),
		a("attention_softmax_in_fp32", true), a("bias_activation_fusion", true), a("bias_dropout_fusion", true))

	// The families' size presets, in the same files.
	c.gemma2_2b = c.gemma2.subclass(gemma2Module+"Gemma2Config2B",
		a("num_layers", 26), a("hidden_size", 2304), a("num_attention_heads", 8), a("num_query_groups", 4),
		a("ffn_hidden_size", 9216), a("query_pre_attn_scalar", 256))
	c.gemma2_9b = c.gemma2.subclass(gemma2Module+"Gemma2Config9B",
		a("num_layers", 42), a("hidden_size", 3584), a("num_attention_heads", 16), a("num_query_groups", 8),
		a("ffn_hidden_size", 14336), a("query_pre_attn_scalar", 256))
	c.gemma2_27b = c.gemma2.subclass(gemma2Module+"Gemma2Config27B",
		a("num_layers", 46), a("hidden_size", 4608), a("num_attention_heads", 32), a("num_query_groups", 16),
		a("ffn_hidden_size", 36864), a("kv_channels", 128), a("query_pre_attn_scalar", 144))
	c.chatglm2_6b = c.chatglm.subclass(chatglmModule+"ChatGLM2Config6B", a("seq_length", 32768))
	c.chatglm3_6b = c.chatglm.subclass(chatglmModule+"ChatGLM3Config6B", a("seq_length", 8192))
	c.baichuan2_7b = c.baichuan2.subclass(baichuanModule+"Baichuan2Config7B",
		a("num_layers", 32), a("hidden_size", 4096), a("num_attention_heads", 32), a("num_query_groups", 32),
		a("ffn_hidden_size", 11008), a("position_embedding_type", "rope"))
	c.starcoder15b = c.starcoder.subclass(starcoderMod+"StarcoderConfig15B",
		a("num_layers", 40), a("hidden_size", 6144), a("num_attention_heads", 48), a("ffn_hidden_size", 24576),
		a("init_method_std", 0.02))

	// Model classes: __init__(config, optim, tokenizer, model_transform
	// [, model_context_managers]). GPTModel (base.py) requires config;
	// the subclasses default it to None.
	modelParams := func(configRequired, contextManagers bool) []Param {
		p := []Param{
			{Name: "config", Required: configRequired},
			{Name: "optim"}, {Name: "tokenizer"}, {Name: "model_transform"},
		}
		if contextManagers {
			p = append(p, Param{Name: "model_context_managers", Default: &fiddle.List{}})
		}
		return p
	}
	c.gptModel = &Class{Ref: fiddle.Dotted(gptModule + "base.GPTModel"), Params: modelParams(true, true)}
	c.llamaModel = &Class{Ref: fiddle.Dotted(llamaModule + "LlamaModel"), Params: modelParams(false, true)}
	c.mistralModel = &Class{Ref: fiddle.Dotted(mistralModule + "MistralModel"), Params: modelParams(false, false)}
	c.mixtralModel = &Class{Ref: fiddle.Dotted(mixtralModule + "MixtralModel"), Params: modelParams(false, false)}
	c.nemotronModel = &Class{Ref: fiddle.Dotted(nemotronModule + "NemotronModel"), Params: modelParams(false, false)}
	c.qwen2Model = &Class{Ref: fiddle.Dotted(qwen2Module + "Qwen2Model"), Params: modelParams(false, false)}
	c.starcoder2Model = &Class{Ref: fiddle.Dotted(starcoder2Mod + "Starcoder2Model"), Params: modelParams(false, false)}
	c.gemmaModel = &Class{Ref: fiddle.Dotted(gemmaModule + "GemmaModel"), Params: modelParams(false, false)}
	c.gemma2Model = &Class{Ref: fiddle.Dotted(gemma2Module + "Gemma2Model"), Params: modelParams(false, false)}
	c.chatglmModel = &Class{Ref: fiddle.Dotted(chatglmModule + "ChatGLMModel"), Params: modelParams(false, false)}
	c.baichuan2Model = &Class{Ref: fiddle.Dotted(baichuanModule + "Baichuan2Model"), Params: modelParams(false, false)}
	c.starcoderModel = &Class{Ref: fiddle.Dotted(starcoderMod + "StarcoderModel"), Params: modelParams(false, false)}
	c.addSSMClasses()
	return c
}

// seed returns the model ids of NeMo's convert_nemo1_to_nemo2.py
// (MODEL_CONFIG_MAPPING): its GPT and NemotronH models.
func (c *classes) seed() []Model {
	return []Model{
		{"meta-llama/Llama-2-7b-hf", c.llamaModel, c.llama2_7b, 32000},
		{"meta-llama/Llama-2-13b-hf", c.llamaModel, c.llama2_13b, 32000},
		{"meta-llama/Llama-2-70b-hf", c.llamaModel, c.llama2_70b, 32000},
		{"meta-llama/Meta-Llama-3-8B", c.llamaModel, c.llama3_8b, 128256},
		{"meta-llama/Meta-Llama-3-70B", c.llamaModel, c.llama3_70b, 128256},
		{"mistralai/Mixtral-8x7B-v0.1", c.mixtralModel, c.mixtral8x7b, 32000},
		{"mistralai/Mixtral-8x22B-v0.1", c.mixtralModel, c.mixtral8x22b, 32000},
		{"mistralai/Mistral-7B-v0.1", c.mistralModel, c.mistral7b, 32000},
		{"nvidia/nemotron-3-8b-base-4k", c.nemotronModel, c.nemotron3_8b, 256000},
		// NeMo maps this id to a Nemotron-3 config.
		{"nemotron4-22b", c.nemotronModel, c.nemotron3_22b, 256000},
		{"nemotron4-15b", c.nemotronModel, c.nemotron4_15b, 256000},
		{"nemotron4-340b", c.nemotronModel, c.nemotron4_340b, 256000},
		{"nemotronh4b", c.mambaModel, c.nemotronH4b, 131072},
		{"nemotronh8b", c.mambaModel, c.nemotronH8b, 131072},
		{"nemotronh47b", c.mambaModel, c.nemotronH47b, 131072},
		{"nemotronh56b", c.mambaModel, c.nemotronH56b, 131072},
	}
}

// presets are model ids beyond NeMo's converter's: the families' size
// presets, under the Hugging Face ids NeMo 2's importers name them by.
// (Gemma's are left out: NeMo 1's Gemma stored 1 + w in its norms, which
// GemmaConfig's zero-centered gamma would count twice; auto keeps it.)
func (c *classes) presets() []Model {
	return []Model{
		{"google/gemma-2-2b", c.gemma2Model, c.gemma2_2b, 256000},
		{"google/gemma-2-9b", c.gemma2Model, c.gemma2_9b, 256000},
		{"google/gemma-2-27b", c.gemma2Model, c.gemma2_27b, 256000},
		{"THUDM/chatglm2-6b", c.chatglmModel, c.chatglm2_6b, 65024},
		{"THUDM/chatglm3-6b", c.chatglmModel, c.chatglm3_6b, 65024},
		{"baichuan-inc/Baichuan2-7B-Base", c.baichuan2Model, c.baichuan2_7b, 125696},
		{"bigcode/starcoder", c.starcoderModel, c.starcoder15b, 49152},
	}
}

// Models returns every supported model id: NeMo's converter's, in its
// order, then the family presets.
func Models() []Model {
	c := newClasses()
	return append(c.seed(), c.presets()...)
}

// IDs returns the supported model ids, in NeMo's order.
func IDs() []string {
	var ids []string
	for _, m := range Models() {
		ids = append(ids, m.ID)
	}
	return ids
}

// Lookup returns the model registered under id.
func Lookup(id string) (Model, error) {
	for _, m := range Models() {
		if m.ID == id {
			return m, nil
		}
	}
	return Model{}, &UnknownModelError{ID: id}
}

// UnknownModelError is returned by Lookup for an id that is not supported.
type UnknownModelError struct{ ID string }

func (e *UnknownModelError) Error() string {
	return fmt.Sprintf("unsupported model id %q; supported ids: %s, or auto (take the architecture from model_config.yaml)",
		e.ID, strings.Join(IDs(), ", "))
}

// ConfigClasses returns the config classes this package knows, the seed
// ids' classes and the family base classes "auto" chooses from, keyed by
// dotted path.
func ConfigClasses() map[string]*Class {
	c := newClasses()
	out := map[string]*Class{}
	for _, k := range []*Class{c.gpt, c.llama, c.llama2_7b, c.llama2_13b, c.llama2_70b, c.llama3, c.llama3_8b,
		c.llama3_70b, c.llama31, c.mistral7b, c.mixtral, c.mixtral8x7b, c.mixtral8x22b, c.nemotron, c.nemotron3_8b,
		c.nemotron3_22b, c.nemotron4_15b, c.nemotron4_340b, c.qwen2, c.starcoder2,
		c.gemma, c.gemma2, c.chatglm, c.baichuan2, c.starcoder,
		c.gemma2_2b, c.gemma2_9b, c.gemma2_27b, c.chatglm2_6b, c.chatglm3_6b, c.baichuan2_7b, c.starcoder15b,
		c.ssm, c.nemotronH, c.nemotronH4b, c.nemotronH8b, c.nemotronH47b, c.nemotronH56b} {
		out[k.Name()] = k
	}
	return out
}

// ModelClasses returns the NeMo 2 model classes this package knows (those
// of the model ids and of the families "auto" chooses), keyed by dotted
// path.
func ModelClasses() map[string]*Class {
	c := newClasses()
	out := map[string]*Class{}
	for _, k := range []*Class{c.gptModel, c.llamaModel, c.mistralModel, c.mixtralModel, c.nemotronModel, c.qwen2Model, c.starcoder2Model,
		c.gemmaModel, c.gemma2Model, c.chatglmModel, c.baichuan2Model, c.starcoderModel, c.mambaModel} {
		out[k.Name()] = k
	}
	return out
}

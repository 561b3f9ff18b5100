package configmig

import (
	"cmp"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/omegaconf"
)

// tokenizer: model.tokenizer -> get_nmt_tokenizer(...), as NeMo 1.0's
// MegatronBaseModel._build_tokenizer called it.
func (g *mig) tokenizer() {
	p := g.mk("tokenizer")
	if g.section("tokenizer") == nil {
		return
	}
	c := &Call{Func: "get_nmt_tokenizer", Imports: []string{impTokenizer}}
	c.add(g.fromKey("library", p+".library"),
		g.fromKey("model_name", p+".type"),
		g.fromKey("tokenizer_model", p+".model"),
		g.fromKey("vocab_file", p+".vocab_file"),
		g.fromKey("merges_file", p+".merge_file"),
		g.fromKey("delimiter", p+".delimiter"))
	if g.has(p + ".sentencepiece_legacy") {
		c.add(g.fromKey("legacy", p+".sentencepiece_legacy"))
	} else if g.str(p+".library") == "sentencepiece" {
		c.add(g.dflt("legacy", p+".sentencepiece_legacy", boolLit(true),
			"for a sentencepiece tokenizer; get_nmt_tokenizer defaults to False"))
	}
	c.add(g.fromKey("use_fast", p+".use_fast"),
		g.fromKey("special_tokens", p+".special_tokens"),
		g.fromKey("trust_remote_code", p+".trust_remote_code"),
		g.fromKey("chat_template", p+".chat_template"))
	for _, a := range c.Args {
		if l, ok := a.Value.(Lit); ok && l.N.Kind == omegaconf.String && strings.HasPrefix(l.N.Str, "nemo:") {
			g.warn(a.Key, "%s is %q, a file stored inside a .nemo archive; extract it (nemo-migrate convert copies it to the checkpoint's context/) and give its path", a.Key, l.N.Str)
		}
	}
	if g.str(p+".library") == "huggingface" && strings.HasPrefix(g.str(p+".type"), "/") {
		g.warn(p+".type", "the Hugging Face tokenizer is a local directory (%s) from when the model was converted; check that it exists where the script runs", g.str(p+".type"))
	}
	g.skip(p+".additional_special_tokens", "get_nmt_tokenizer takes no extra tokens; call tokenizer.add_special_tokens(...) on the result")
	g.skipRest(p, "get_nmt_tokenizer has no such argument")
	g.m.Tokenizer = c
}

// archKeys maps NeMo 1.0 model keys to GPTConfig (Megatron-Core
// TransformerConfig) fields. NeMo 1.0 copied every key named like a
// TransformerConfig field into it; the renames are the keys it translated.
var archKeys = []struct{ key, arg string }{
	{"encoder_seq_length", "seq_length"},
	{"num_layers", ""}, {"hidden_size", ""}, {"ffn_hidden_size", ""}, {"num_attention_heads", ""},
	{"num_query_groups", ""}, {"kv_channels", ""}, {"init_method_std", ""}, {"hidden_dropout", ""},
	{"attention_dropout", ""}, {"layernorm_epsilon", ""}, {"layernorm_zero_centered_gamma", ""},
	{"make_vocab_size_divisible_by", ""}, {"share_embeddings_and_output_weights", ""},
	{"rotary_percentage", "rotary_percent"}, {"rotary_base", ""}, {"seq_len_interpolation_factor", ""},
	{"rotary_interleaved", ""}, {"bias", "add_bias_linear"}, {"qkv_bias", "add_qkv_bias"},
	{"fp32_residual_connection", ""}, {"fp16_lm_cross_entropy", ""}, {"masked_softmax_fusion", ""},
	{"bias_activation_fusion", ""}, {"bias_dropout_add_fusion", "bias_dropout_fusion"},
	{"persist_layer_norm", ""}, {"apply_rope_fusion", ""}, {"gradient_accumulation_fusion", ""},
	{"cross_entropy_loss_fusion", ""},
	{"activations_checkpoint_granularity", "recompute_granularity"},
	{"activations_checkpoint_method", "recompute_method"},
	{"activations_checkpoint_num_layers", "recompute_num_layers"},
	{"overlap_p2p_comm", ""}, {"batch_p2p_comm", ""}, {"use_cpu_initialization", ""},
	{"cpu_offloading", ""}, {"cpu_offloading_num_layers", ""}, {"cpu_offloading_activations", ""},
	{"cpu_offloading_weights", ""}, {"qk_layernorm", ""}, {"window_size", ""}, {"tp_only_amax_red", ""},
	{"num_moe_experts", ""}, {"deterministic_mode", ""}, {"enable_cuda_graph", ""},
	{"attention_softmax_in_fp32", ""}, {"calculate_per_token_loss", ""}, {"memory_efficient_layer_norm", ""},
	{"defer_embedding_wgrad_compute", ""}, {"wgrad_deferral_limit", ""},
	{"clone_scatter_output_in_embedding", ""}, {"disable_parameter_transpose_cache", ""},
	// Llama 3.1 RoPE scaling (Llama31Config only; the class guard drops
	// them elsewhere).
	{"scale_factor", ""}, {"low_freq_factor", ""}, {"high_freq_factor", ""}, {"old_context_len", ""},
}

// nemo1Defaults are values NeMo 1.0 used for absent model keys that do
// not shape the network (so models.Auto, which decides the architecture,
// leaves them alone), written out when the chosen class defaults to
// something else.
var nemo1Defaults = []struct {
	key string
	v   any
}{
	{"gradient_accumulation_fusion", false},
	{"moe_aux_loss_coeff", 0.0},
}

// modelReasons say why NeMo 1.0 model keys have no NeMo 2.0 counterpart.
var modelReasons = map[string]string{
	"mcore_gpt":                      "NeMo 2.0 models are always Megatron-Core models",
	"transformer_engine":             "NeMo 2.0 builds Transformer Engine layers by default",
	"use_scaled_init_method":         "Megatron-Core always scales the output-layer initialisation by the number of layers",
	"pre_process":                    "NeMo 2.0 sets pre_process and post_process per pipeline stage itself",
	"post_process":                   "NeMo 2.0 sets pre_process and post_process per pipeline stage itself",
	"headscale":                      "Megatron-Core layers have no head scaling",
	"transformer_block_type":         "Megatron-Core layers are pre-LayerNorm (pre_ln) only",
	"normalize_attention_scores":     "Megatron-Core always scales attention scores by 1/sqrt(head size)",
	"attention_type":                 "Megatron-Core GPT layers use multi-head self-attention",
	"onnx_safe":                      "ONNX export is not part of NeMo 2.0 training",
	"apex_transformer_log_level":     "NeMo 2.0 does not use apex's logging",
	"sync_batch_comm":                "Megatron-Core's pipeline schedules manage stream synchronisation",
	"validation_param_sync_overlap":  "belongs to NeMo 1.0's apex distributed Adam",
	"grad_allreduce_chunk_size_mb":   "Megatron-Core's DDP sizes its own buckets (DistributedDataParallelConfig.bucket_size)",
	"grad_div_ar_fusion":             "Megatron-Core's DDP scales gradients itself",
	"gradient_as_bucket_view":        "Megatron-Core's DDP always keeps gradients in its contiguous buffer",
	"get_attention_mask_from_fusion": "NeMo 2.0 data modules decide whether to build attention masks",
	"use_flash_attention":            "Transformer Engine picks the attention kernel (GPTConfig attention_backend)",
	"use_emha":                       "never supported",
	"ffn_dropout":                    "Megatron-Core has no separate feed-forward dropout",
	"scale_positional_embedding":     "selects Llama31Config, which scales RoPE itself; a fine-tuned model brings its own class",
	"drop_layers":                    "no NeMo 2.0 counterpart",
	"reset_lr":                       "no NeMo 2.0 counterpart (restore weights only with nl.RestoreConfig(load_optim_state=False))",
	"reset_lr_steps":                 "no NeMo 2.0 counterpart",
	"skip_train":                     "to only validate, call llm.validate instead of llm.pretrain",
	"resume_from_checkpoint":         "exp_manager.resume_from_checkpoint carries the checkpoint to resume (nl.AutoResume)",
	"restore_from_ckpt":              "NeMo 1.0 training checkpoints (.ckpt) cannot be resumed by NeMo 2.0; convert the weights and restore them with nl.RestoreConfig",
	"enable_megatron_timers":         "NeMo 2.0 reports Megatron timers through MegatronStrategy(megatron_log_level=...)",
	"megatron_timer_kwargs":          "NeMo 2.0 reports Megatron timers through MegatronStrategy(megatron_log_level=...)",
	"num_micro_batches_with_partial_activation_checkpoints": "no NeMo 2.0 counterpart",
	"activations_checkpoint_layers_per_pipeline":            "no Megatron-Core counterpart",
	"save_nemo_on_validation_end":                           "NeMo 2.0 writes no .nemo files; checkpoints are directories with weights/ and context/",
	"target":                                                "NeMo 2.0 names the model class in the script (llm.GPTModel, ...)",
	"nemo_version":                                          "records the NeMo version that wrote the file",
	"fsdp":                                                  "NeMo 2.0 shards with MegatronStrategy(fsdp=...) or nl.FSDP2Strategy, configured separately",
	"fsdp_sharding_strategy":                                "NeMo 2.0 shards with MegatronStrategy(fsdp=...) or nl.FSDP2Strategy, configured separately",
	"fsdp_grad_reduce_dtype":                                "NeMo 2.0 shards with MegatronStrategy(fsdp=...) or nl.FSDP2Strategy, configured separately",
	"fsdp_sharded_checkpoint":                               "NeMo 2.0 shards with MegatronStrategy(fsdp=...) or nl.FSDP2Strategy, configured separately",
	"fsdp_use_orig_params":                                  "NeMo 2.0 shards with MegatronStrategy(fsdp=...) or nl.FSDP2Strategy, configured separately",
	"ub_tp_comm_overlap_cfg":                                "a NeMo 1.0 userbuffers file; give MegatronCommOverlapCallback(tp_comm_overlap_cfg=...) a TransformerLayerTPOverlapCfg",
	"openai_gelu":                                           "only selects the activation function",
	"fp8_interval":                                          "Transformer Engine dropped the amax update interval; MegatronMixedPrecision has no such argument",
	"reduce_amax":                                           "NeMo 2.0 always reduces amax across the data-parallel group",
}

// hasArchitecture reports whether the model section describes the network.
func (g *mig) hasArchitecture() bool {
	return g.has(g.mk("num_layers")) || g.has(g.mk("hidden_size"))
}

// modelConfig builds the model: the NeMo 2.0 config class models.Auto
// chooses for the architecture keys, or the architecture of the checkpoint
// being fine-tuned. An architecture without a NeMo 2.0 class is refused.
func (g *mig) modelConfig() error {
	for k, r := range modelReasons {
		if r != "" {
			g.skip(g.mk(k), r)
		}
	}
	if g.section("") == nil {
		model, config := gptClasses()
		name, imp := pyClass(model)
		cname, cimp := pyClass(config)
		g.m.Model = &Call{Func: name, Imports: []string{imp}, Args: []*Arg{
			constArg("config", &Call{Func: cname, Imports: []string{cimp}}, "")}}
		g.warn("model", "the config has no model section; the script builds a default %s()", cname)
		return nil
	}
	if !g.hasArchitecture() && g.has(g.mk("restore_from_path")) {
		g.loadContext()
		return nil
	}
	model, auto, y, standIns, err := g.chooseFamily()
	if err != nil {
		return err
	}
	class := auto.Class
	cname, cimp := pyClass(class)
	cfg := &Call{Func: cname, Imports: []string{cimp}}
	if v, _ := g.truthy(g.mk("scale_positional_embedding")); v {
		g.from(cfg, g.mk("scale_positional_embedding"))
	}
	g.archArgs(cfg, class)
	if g.str(g.mk("name")) == "megatron_gpt_full_te_layer_autocast" {
		// The spec name selects TransformerEngine's whole layer, which
		// NeMo 2.0's GPTConfig builds with this flag.
		g.use(g.mk("name"))
		cfg.add(&Arg{Name: "use_transformer_engine_full_layer_spec", Key: g.mk("name"), Value: boolLit(true)})
	}
	if !g.has(g.mk("encoder_seq_length")) {
		g.warn(g.mk("encoder_seq_length"), "the model has no encoder_seq_length; %s(seq_length=...) keeps its class default", cname)
	}
	nDefaults := g.autoDefaults(cfg, auto)
	for _, d := range nemo1Defaults {
		p, ok := class.Param(d.key)
		if g.has(g.mk(d.key)) || cfg.arg(d.key) != nil || !ok || models.SameValue(p.Default, d.v) {
			continue
		}
		if v, ok := goValue(d.v); ok {
			cfg.add(g.dflt(d.key, g.mk(d.key), v, cname+"'s default differs"))
			nDefaults++
		}
	}
	if nDefaults > 0 {
		g.warn(join(g.model, ""), "%d model settings absent from the YAML are written with NeMo 1.0's defaults because %s's differ (marked \"NeMo 1.0 default\")", nDefaults, cname)
	}
	if !standIns {
		cfg.Note = presetNote(model, y)
	}
	margs := []*Arg{constArg("config", cfg, "")}
	if g.m.Tokenizer != nil {
		margs = append(margs, constArg("tokenizer", expr("tokenizer"), ""))
	}
	name, imp := pyClass(model.Class)
	g.m.Model = &Call{Func: name, Imports: []string{imp}, Args: margs}

	if v, ok := g.truthy(g.mk("transformer_engine")); ok && !v {
		g.warn(g.mk("transformer_engine"), "transformer_engine is False, but NeMo 2.0 builds Transformer Engine layers (GPTConfig(transformer_layer_spec=...) selects others)")
	}
	if v, ok := g.truthy(g.mk("mcore_gpt")); (ok && !v) || !g.has(g.mk("mcore_gpt")) && g.model != "" {
		g.warn(g.mk("mcore_gpt"), "mcore_gpt is not True: NeMo 1.0 trained the legacy (non-Megatron-Core) GPT, whose checkpoints NeMo 2.0 cannot load; NeMo 2.0 has only Megatron-Core models")
	}
	if v, ok := g.truthy(g.mk("use_scaled_init_method")); ok && !v {
		g.warn(g.mk("use_scaled_init_method"), "use_scaled_init_method is False, but Megatron-Core always scales the output-layer initialisation")
	}
	if s := g.str(g.mk("transformer_block_type")); s != "" && s != "pre_ln" {
		g.warn(g.mk("transformer_block_type"), "transformer_block_type %q: Megatron-Core layers are pre_ln only", s)
	}
	if n := g.get(g.mk("max_position_embeddings")); n != nil {
		p := g.mk("max_position_embeddings")
		if _, ok := class.Param("max_position_embeddings"); ok {
			cfg.add(g.fromKey("max_position_embeddings", p))
		} else {
			g.skip(p, cname+" sizes the position embeddings from seq_length")
			if s := g.get(g.mk("encoder_seq_length")); s != nil && !omegaconf.Equal(s, n) {
				g.warn(p, "max_position_embeddings differs from encoder_seq_length; NeMo 2.0's %s uses seq_length for both", cname)
			}
		}
	}
	return nil
}

// archArgs adds the architecture keys of the YAML to cfg, a call of
// class; a key for a field the class does not have is listed as unmapped.
// A Mamba hybrid's (SSMConfig) keys are read as MegatronMambaModel reads
// them: its own keys, and the GPT keys it ignores listed with the reason.
func (g *mig) archArgs(cfg *Call, class *models.Class) {
	mamba := models.IsSSM(class)
	add := func(arg, key string) {
		if !g.has(g.mk(key)) {
			return
		}
		if _, ok := class.Param(arg); !ok {
			g.skip(g.mk(key), fmt.Sprintf("%s has no %s field", class.Ref.Name, arg))
			return
		}
		cfg.add(g.fromKey(arg, g.mk(key)))
	}
	if mamba {
		for k, why := range mambaIgnores {
			g.skip(g.mk(k), why)
		}
	}
	for _, k := range archKeys {
		if _, ignored := mambaIgnores[k.key]; mamba && ignored {
			continue
		}
		add(cmp.Or(k.arg, k.key), k.key)
	}
	if sec := g.section(""); sec != nil && !mamba {
		for _, e := range sec.Entries {
			if strings.HasPrefix(e.Key, "moe_") && e.Key != "moe_extended_tp" && e.KeyKind == omegaconf.String {
				add(e.Key, e.Key)
			}
		}
	}
	g.normalization(cfg)
	g.activation(cfg)
	if mamba {
		g.mambaGating(cfg)
		for _, k := range mambaKeys {
			add(cmp.Or(k.arg, k.key), k.key)
		}
	} else {
		g.positions(cfg, class.Ref.Name)
	}
	g.qkScaling(cfg)
	if a := g.fromKey("attention_backend", g.mk("attention_backend")); a != nil {
		if l, ok := a.Value.(Lit); ok && l.N.Kind == omegaconf.String {
			a.YAML, a.Value = l.N, expr("AttnBackend."+l.N.Str, impAttnBackend)
		}
		cfg.add(a)
	}
}

// loadContext builds the model of a fine-tuning config whose architecture
// comes from the checkpoint it restores: NeMo 1.0 merged the YAML's model
// keys into that checkpoint's config, so they become assignments to
// model.config after loading it.
func (g *mig) loadContext() {
	p := g.mk("restore_from_path")
	var a *Arg
	if s := g.str(p); s != "" {
		a = g.derived("path", p, strLit(nemo2Path(s)+"/context"), "the model of the converted checkpoint")
	} else {
		a = g.fromKey("path", p)
	}
	g.m.Model = &Call{Func: "load_context", Imports: []string{impLoadContext}, Args: []*Arg{a,
		constArg("subpath", strLit("model"), "")},
		Note: "The YAML has no architecture: the model comes from the checkpoint being fine-tuned."}
	over := &Call{}
	_, gpt := gptClasses()
	g.archArgs(over, gpt)
	g.m.ModelConfigOverrides = over.Args
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// nemo2Path is where the script expects the converted NeMo 1.0 checkpoint.
func nemo2Path(p string) string {
	p = strings.TrimSuffix(strings.TrimSuffix(p, "/"), ".nemo")
	return p + "_nemo2"
}

// normalization: 'layernorm' | 'rmsnorm' | 'layernorm1p' -> GPTConfig
// normalization (+ layernorm_zero_centered_gamma), as NeMo 1.0 mapped them.
func (g *mig) normalization(cfg *Call) {
	p := g.mk("normalization")
	s := g.str(p)
	if s == "" {
		cfg.add(g.fromKey("normalization", p))
		return
	}
	switch strings.ToLower(s) {
	case "layernorm":
		cfg.add(g.derived("normalization", p, strLit("LayerNorm"), ""))
	case "rmsnorm":
		cfg.add(g.derived("normalization", p, strLit("RMSNorm"), ""))
	case "layernorm1p":
		cfg.add(g.derived("normalization", p, strLit("LayerNorm"), ""))
		cfg.add(g.derived("layernorm_zero_centered_gamma", p, boolLit(true), "layernorm1p is LayerNorm with zero-centred gamma"))
	default:
		cfg.add(g.fromKey("normalization", p))
		g.warn(p, "normalization %q may not be supported by Megatron-Core (LayerNorm, RMSNorm)", s)
	}
}

// activation: NeMo 1.0's activation names -> activation_func and
// gated_linear_unit (a name ending in "glu" is gated).
func (g *mig) activation(cfg *Call) {
	p := g.mk("activation")
	og := g.mk("openai_gelu")
	if v, ok := g.truthy(og); ok && v {
		cfg.add(g.derived("activation_func", og, expr("openai_gelu", impActivation+"openai_gelu"), "NeMo 1.0 gave openai_gelu precedence over activation"))
	} else {
		g.skip(og, "not set: the activation function comes from activation")
	}
	s := g.str(p)
	if s == "" {
		if g.has(p) {
			cfg.add(g.fromKey("activation_func", p))
		}
		return
	}
	var fn Expr
	switch s {
	case "gelu", "geglu", "fast-geglu":
		fn = expr("F.gelu", impF)
	case "reglu", "fast-reglu":
		fn = expr("F.relu", impF)
	case "swiglu", "fast-swiglu":
		fn = expr("F.silu", impF)
	case "squared-relu":
		fn = expr("squared_relu", impActivation+"squared_relu")
	default:
		g.skip(p, "no NeMo 2.0 activation function of this name")
		g.warn(p, "activation %q has no NeMo 2.0 counterpart; set GPTConfig(activation_func=...) yourself", s)
		return
	}
	if cfg.arg("activation_func") == nil {
		cfg.add(g.derived("activation_func", p, fn, ""))
	}
	cfg.add(g.derived("gated_linear_unit", p, boolLit(strings.HasSuffix(s, "glu")), "gated when the activation's name ends in glu"))
}

func (g *mig) positions(cfg *Call, class string) {
	p := g.mk("position_embedding_type")
	switch s := g.str(p); s {
	case "", "learned_absolute", "rope", "none":
		cfg.add(g.fromKey("position_embedding_type", p))
	default:
		g.skip(p, "no Megatron-Core position embedding of this type")
		g.warn(p, "position_embedding_type %q has no Megatron-Core counterpart (learned_absolute, rope, none); %s keeps its default", s, class)
	}
}

// qkScaling: NeMo 1.0 applied query-key layer scaling only in fp16.
func (g *mig) qkScaling(cfg *Call) {
	p := g.mk("apply_query_key_layer_scaling")
	v, ok := g.truthy(p)
	if ok && v && !g.isFP16() {
		cfg.add(g.derived("apply_query_key_layer_scaling", p, boolLit(false), "NeMo 1.0 turned it off outside fp16"))
		return
	}
	cfg.add(g.fromKey("apply_query_key_layer_scaling", p))
}

// peft: model.peft (peft_scheme lora) -> llm.peft.LoRA or CanonicalLoRA.
func (g *mig) peft() {
	p := g.mk("peft")
	if g.section("peft") == nil {
		return
	}
	scheme := strings.ToLower(g.str(p + ".peft_scheme"))
	subs := map[string]string{"adapter": "adapter_tuning", "ia3": "ia3_tuning", "ptuning": "p_tuning", "lora": "lora_tuning", "selective": "selective_tuning"}
	for s, sec := range subs {
		if s != scheme {
			g.skip(p+"."+sec, fmt.Sprintf("used only with peft_scheme %s; this config uses %q", s, scheme))
		}
	}
	g.skip(p+".restore_from_path", "NeMo 1.0 adapter checkpoints cannot be loaded by NeMo 2.0")
	if v := g.get(p + ".restore_from_path"); v != nil && v.Kind == omegaconf.String && v.Str != "" {
		g.warn(p+".restore_from_path", "the adapter checkpoint %s is a NeMo 1.0 file that NeMo 2.0 cannot load; train the adapter again or merge it into the base model first", v.Str)
	}
	switch scheme {
	case "lora":
	case "", "none", "null":
		g.skip(p+".peft_scheme", "no PEFT: the script fine-tunes all weights")
		g.skipRest(p, "peft_scheme is none: the script fine-tunes all weights")
		return
	default:
		g.warn(p+".peft_scheme", "peft_scheme %q has no NeMo 2.0 counterpart (NeMo 2.0 has LoRA, DoRA and CanonicalLoRA); the script fine-tunes all weights", scheme)
		g.skipRest(p, fmt.Sprintf("peft_scheme %q has no NeMo 2.0 counterpart", scheme))
		return
	}
	l := p + ".lora_tuning"
	canonical := g.str(l+".variant") == "canonical"
	c := &Call{Func: "llm.peft.LoRA", Imports: []string{impLLM}}
	g.from(c, p+".peft_scheme", l+".variant")
	if canonical {
		c.Func = "llm.peft.CanonicalLoRA"
	}
	c.add(g.targetModules(l, canonical))
	c.add(g.fromKey("dim", l+".adapter_dim"))
	if g.has(l + ".alpha") {
		c.add(g.fromKey("alpha", l+".alpha"))
	} else if d, ok := g.int64At(l + ".adapter_dim"); ok && d != 32 {
		c.add(g.dflt("alpha", l+".alpha", intLit(d), "alpha = adapter_dim; LoRA defaults to 32"))
	}
	c.add(g.fromKey("dropout", l+".adapter_dropout"))
	if g.has(l + ".dropout_position") {
		c.add(g.fromKey("dropout_position", l+".dropout_position"))
	} else {
		c.add(g.dflt("dropout_position", l+".dropout_position", strLit("post"), "LoRA defaults to 'pre'"))
	}
	if g.has(l + ".column_init_method") {
		c.add(g.fromKey("lora_A_init_method", l+".column_init_method"))
	} else {
		c.add(g.dflt("lora_A_init_method", l+".column_init_method", strLit("normal"), "LoRA defaults to 'xavier'"))
	}
	c.add(g.fromKey("lora_B_init_method", l+".row_init_method"))
	if canonical {
		g.skip(l+".a2a_experimental", "llm.peft.CanonicalLoRA has no a2a_experimental")
	} else {
		c.add(g.fromKey("a2a_experimental", l+".a2a_experimental"))
	}
	g.skip(l+".weight_tying", "NeMo 2.0's LoRA does not tie adapter weights across layers")
	g.skip(l+".position_embedding_strategy", "NeMo 2.0's LoRA does not tie adapter weights across layers")
	g.skipRest(l, "llm.peft.LoRA has no such argument")
	g.m.PEFT = c
}

// targetModules maps NeMo 1.0 LoRA targets (attention_qkv, attention_dense,
// mlp_fc1, mlp_fc2, attention, mlp, all; default attention_qkv) and
// layer_selection (1-based layers) to NeMo 2.0 module names.
func (g *mig) targetModules(l string, canonical bool) *Arg {
	tp, lp := l+".target_modules", l+".layer_selection"
	var targets []string
	if n := g.get(tp); n != nil && n.Kind == omegaconf.List && g.usable(tp) {
		for _, it := range n.Items {
			if it.Kind == omegaconf.String {
				targets = append(targets, it.Str)
			}
		}
	} else if n != nil {
		return g.fromKey("target_modules", tp)
	} else {
		targets = []string{"attention_qkv"}
	}
	var expanded []string
	addT := func(t string) {
		if !contains(expanded, t) {
			expanded = append(expanded, t)
		}
	}
	for _, t := range targets {
		switch t {
		case "attention":
			addT("attention_qkv")
			addT("attention_dense")
		case "mlp":
			addT("mlp_fc1")
			addT("mlp_fc2")
		case "all":
			for _, x := range []string{"attention_qkv", "attention_dense", "mlp_fc1", "mlp_fc2"} {
				addT(x)
			}
		default:
			addT(t)
		}
	}
	names := map[string][]string{
		"attention_qkv": {"linear_qkv"}, "attention_dense": {"linear_proj"}, "mlp_fc1": {"linear_fc1"}, "mlp_fc2": {"linear_fc2"},
	}
	if canonical {
		names = map[string][]string{
			"attention_qkv": {"linear_q", "linear_k", "linear_v"}, "attention_dense": {"linear_proj"},
			"mlp_fc1": {"linear_fc1_up", "linear_fc1_gate"}, "mlp_fc2": {"linear_fc2"},
		}
	}
	var mods []string
	for _, t := range expanded {
		n, ok := names[t]
		if !ok {
			g.warn(tp, "LoRA target %q has no NeMo 2.0 module name; it is passed on unchanged", t)
			n = []string{t}
		}
		mods = append(mods, n...)
	}
	note := "NeMo 1.0 module names translated"
	var layers []int64
	if n := g.get(lp); n != nil && n.Kind == omegaconf.List && g.usable(lp) {
		for _, it := range n.Items {
			if v, ok := it.Int64(); ok {
				layers = append(layers, v)
			}
		}
	}
	if len(layers) > 0 {
		var pat []string
		for _, m := range mods {
			for _, ly := range layers {
				pat = append(pat, "*.layers."+strconv.FormatInt(ly-1, 10)+".*."+m)
			}
		}
		mods = pat
		note += "; layer_selection (1-based) became layer patterns (0-based)"
	}
	var a *Arg
	if g.has(tp) {
		a = g.derived("target_modules", tp, strList(mods), note)
	} else {
		a = g.dflt("target_modules", tp, strList(mods), "['attention_qkv']; LoRA defaults to all linear layers")
	}
	g.uses(a, lp)
	return a
}

// baseName is the file name of a path, for messages.
func baseName(p string) string { return path.Base(p) }

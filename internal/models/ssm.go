package models

import (
	"fmt"
	"maps"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
)

// Mamba and Mamba-Transformer hybrids (NemotronH): NeMo 1's
// MegatronMambaModel, NeMo 2's MambaModel with SSMConfig
// (nemo/collections/llm/gpt/model/ssm.py), both over Megatron-Core's
// MambaModel.

const ssmModule = gptModule + "ssm."

// mambaStackSpec is SSMConfig's default mamba_stack_spec: a ModuleSpec
// instance of Megatron-Core's, never written to io.json (it is not set
// explicitly).
var mambaStackSpec = fiddle.Ref{Module: "megatron.core.models.mamba.mamba_layer_specs", Name: "mamba_stack_spec", Kind: fiddle.Constant}

// transformerConfigFields returns Megatron-Core's TransformerConfig fields
// (ModelParallelConfig's first), the base SSMConfig extends: the leading
// part of GPTConfig's list, with the defaults GPTConfig redeclares put back.
func transformerConfigFields() []fiddle.Arg {
	all := gptConfigFields()
	var out []fiddle.Arg
	for _, f := range all {
		if f.Name == "fp16_lm_cross_entropy" { // GPTConfig's first own field
			break
		}
		switch f.Name {
		case "gradient_accumulation_fusion", "cross_entropy_loss_fusion", "deallocate_pipeline_outputs", "masked_softmax_fusion":
			f.Value = false
		case "attention_softmax_in_fp32":
			f.Value = true
		}
		out = append(out, f)
	}
	return out
}

// addSSMClasses adds SSMConfig, the NemotronH configs and MambaModel.
func (c *classes) addSSMClasses() {
	tc := &Class{Ref: fiddle.Dotted("megatron.core.transformer.transformer_config.TransformerConfig")}
	for _, f := range transformerConfigFields() {
		tc.Params = append(tc.Params, Param{Name: f.Name, Default: f.Value})
	}
	flash := fiddle.Ref{Module: "megatron.core.transformer.enums", Name: "AttnBackend.flash", Kind: fiddle.Enum}
	c.ssm = tc.subclass(ssmModule+"SSMConfig",
		a("fp16_lm_cross_entropy", false), a("parallel_output", true), a("share_embeddings_and_output_weights", false),
		a("params_dtype", torchBFloat16), a("fp16", false), a("bf16", true), a("num_layers", 2),
		a("mamba_num_groups", 8), a("num_attention_heads", 1), a("hybrid_attention_ratio", 0.0),
		a("hybrid_mlp_ratio", 0.0), a("hybrid_override_pattern", nil), a("post_process", true),
		a("pre_process", true), a("seq_length", 8192), a("position_embedding_type", "none"),
		a("rotary_percent", 1.0), a("rotary_base", 10000), a("seq_len_interpolation_factor", nil),
		a("apply_rope_fusion", true), a("make_vocab_size_divisible_by", 128), a("gated_linear_unit", false),
		a("normalization", "RMSNorm"), a("add_bias_linear", false), a("hidden_dropout", 0.0),
		a("attention_dropout", 0.0), a("layernorm_epsilon", 1e-5), a("get_attention_mask_from_fusion", false),
		a("attention_backend", flash), a("forward_step_fn", fiddle.Class(strings.TrimSuffix(ssmModule, "."), "ssm_forward_step")),
		a("data_step_fn", baseRef("gpt_data_step")), a("vocab_file", nil), a("tokenizer_model_path", nil),
		a("deallocate_pipeline_outputs", true), a("bias_dropout_fusion", true), a("cross_entropy_loss_fusion", true),
		a("mamba_stack_spec", mambaStackSpec))
	// NemotronHConfigBase's activation is a lambda computing relu(x)**2,
	// recorded here as NeMo's function of the same computation; io.json
	// never holds it (a preset does not set it).
	c.nemotronH = c.ssm.subclass(ssmModule+"NemotronHConfigBase",
		a("seq_length", 8192), a("mamba_num_groups", 8), a("mamba_head_dim", 64), a("num_query_groups", 8),
		a("make_vocab_size_divisible_by", 128), a("activation_func", squaredReLU),
		a("tokenizer_library", "tiktoken"), a("tokenizer_name", "TiktokenTokenizer"),
		a("mapping_type", "nvidia-hybrid-nemotronh"), a("masked_softmax_fusion", true),
		a("apply_query_key_layer_scaling", false), a("persist_layer_norm", true),
		a("attention_softmax_in_fp32", false), a("vocab_size", 131072), a("first_last_layers_bf16", true),
		a("is_hybrid_model", true))
	const small = "M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-"
	c.nemotronH4b = c.nemotronH.subclass(ssmModule+"NemotronHConfig4B",
		a("hybrid_override_pattern", small), a("num_layers", 52), a("hidden_size", 3072),
		a("mamba_num_heads", 112), a("kv_channels", 128), a("mamba_state_dim", 128), a("ffn_hidden_size", 12288),
		a("num_attention_heads", 32), a("use_mamba_mem_eff_path", false))
	c.nemotronH8b = c.nemotronH.subclass(ssmModule+"NemotronHConfig8B",
		a("hybrid_override_pattern", small), a("num_layers", 52), a("hidden_size", 4096),
		a("mamba_state_dim", 128), a("ffn_hidden_size", 21504), a("num_attention_heads", 32))
	c.nemotronH47b = c.nemotronH.subclass(ssmModule+"NemotronHConfig47B",
		a("hybrid_override_pattern", "M-M-M-M-M-M-M-M-M*-M-M-M-M-M-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-M-M---MM---M-M*-M-M-M-M-M-"),
		a("num_layers", 98), a("hidden_size", 8192), a("mamba_state_dim", 256), a("ffn_hidden_size", 30720),
		a("num_attention_heads", 64))
	c.nemotronH56b = c.nemotronH.subclass(ssmModule+"NemotronHConfig56B",
		a("hybrid_override_pattern", "M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-"+
			"M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-"),
		a("num_layers", 118), a("hidden_size", 8192), a("mamba_state_dim", 256), a("ffn_hidden_size", 32768),
		a("num_attention_heads", 64))
	// MambaModel.__init__(config=None, optim, tokenizer, model_transform).
	c.mambaModel = &Class{Ref: fiddle.Dotted(ssmModule + "MambaModel"), Params: []Param{
		{Name: "config"}, {Name: "optim"}, {Name: "tokenizer"}, {Name: "model_transform"},
	}}
}

// isSSM reports whether configs of class c build a Megatron-Core
// MambaModel (SSMConfig and its subclasses).
func isSSM(c *Class) bool {
	_, ok := c.Param("mamba_stack_spec")
	return ok
}

// Mamba is the Mamba mixer of a hybrid's M layers (Megatron-Core's
// MambaMixer, sized from the config as Megatron-Core 0.13 and later do).
type Mamba struct {
	StateDim int // d_state: mamba_state_dim
	HeadDim  int // mamba_head_dim
	Groups   int // ngroups: mamba_num_groups
	Heads    int // nheads: mamba_num_heads, else 2 × hidden / head_dim
}

// Inner is d_inner, the width of the mixer's x and z streams.
func (m Mamba) Inner() int { return m.Heads * m.HeadDim }

// The layer symbols of a hybrid pattern (Megatron-Core's
// mamba_hybrid_layer_allocation.Symbols).
const (
	symMamba     = 'M'
	symAttention = '*'
	symMLP       = '-'
)

// ssmArch reads the hybrid's own fields into a (the attention and MLP
// fields are read as for GPT models).
func (r *reader) ssmArch(a *Arch) {
	pattern, _ := r.value("hybrid_override_pattern")
	switch p := pattern.(type) {
	case string:
		a.Pattern = p
	case nil:
		// Megatron-Core allocates layers from the ratios; with both 0
		// every layer is a Mamba layer.
		if r.float("hybrid_attention_ratio") != 0 || r.float("hybrid_mlp_ratio") != 0 {
			if r.err == nil {
				r.err = fmt.Errorf("%s: hybrid_attention_ratio/hybrid_mlp_ratio without hybrid_override_pattern: nemo-migrate needs the pattern written out", r.c.Class.Name())
			}
			return
		}
		a.Pattern = strings.Repeat(string(symMamba), max(a.NumLayers, 0))
	default:
		r.fail("hybrid_override_pattern", pattern, "a string or None")
	}
	a.Mamba.StateDim = r.int("mamba_state_dim")
	a.Mamba.HeadDim = r.int("mamba_head_dim")
	a.Mamba.Groups = r.int("mamba_num_groups")
	if a.Mamba.HeadDim > 0 {
		a.Mamba.Heads = r.optInt("mamba_num_heads", 0)
		if a.Mamba.Heads == 0 {
			// MambaMixer: d_inner = expand (2) × hidden_size, split in heads.
			if (2*a.Hidden)%a.Mamba.HeadDim != 0 && r.err == nil {
				r.err = fmt.Errorf("%s: the Mamba mixer's width 2 × hidden_size (%d) is not a multiple of mamba_head_dim (%d)", r.c.Class.Name(), 2*a.Hidden, a.Mamba.HeadDim)
			}
			a.Mamba.Heads = 2 * a.Hidden / a.Mamba.HeadDim
		}
	}
}

// validateSSM checks a hybrid's pattern and mixer sizes as Megatron-Core's
// MambaStack and MambaMixer assert them.
func (a Arch) validateSSM() error {
	if len(a.Pattern) != a.NumLayers {
		return fmt.Errorf("hybrid_override_pattern %q has %d layers, num_layers is %d", a.Pattern, len(a.Pattern), a.NumLayers)
	}
	for i, s := range a.Pattern {
		if s != symMamba && s != symAttention && s != symMLP {
			return fmt.Errorf("hybrid_override_pattern %q: layer %d is %q; Megatron-Core builds M (Mamba), * (attention) and - (MLP) layers", a.Pattern, i, s)
		}
	}
	m := a.Mamba
	for _, f := range []struct {
		n string
		v int
	}{{"mamba_state_dim", m.StateDim}, {"mamba_head_dim", m.HeadDim}, {"mamba_num_groups", m.Groups}, {"mamba_num_heads", m.Heads}} {
		if f.v <= 0 || f.v > 1<<16 {
			return fmt.Errorf("%s must be positive, got %d", f.n, f.v)
		}
	}
	if m.Heads%m.Groups != 0 {
		return fmt.Errorf("mamba heads (%d) are not a multiple of mamba_num_groups (%d)", m.Heads, m.Groups)
	}
	if a.Experts > 0 {
		return fmt.Errorf("a hybrid with %d experts: nemo-migrate converts hybrids with dense MLP layers", a.Experts)
	}
	return nil
}

// ssmManifest adds the decoder of a Mamba hybrid: Megatron-Core's
// MambaStack saves every layer under its own index (no layer axis), the
// Mamba mixer's in_proj as its z, x, B, C and dt parts and its conv1d as
// x, B and C (MambaMixer.sharded_state_dict), and extra states with the
// offsets of an unstacked module (shard_0_1).
func (a Arch) ssmManifest(m *Manifest, prefix, dtype string, omitNormExtra bool) {
	H := int64(a.Hidden)
	layerNorm := a.Normalization == "LayerNorm"
	tensor := func(key string, shape ...int64) {
		m.Tensors = append(m.Tensors, Tensor{Key: prefix + key, DType: dtype, Shape: shape})
	}
	extra := func(module string, kind ObjectKind) {
		m.Objects = append(m.Objects, Object{Key: prefix + module + "._extra_state/shard_0_1", Kind: kind})
	}
	lnLinear := func(module string, out, in int64, bias bool) {
		tensor(module+".layer_norm_weight", H)
		if layerNorm {
			tensor(module+".layer_norm_bias", H)
		}
		tensor(module+".weight", out, in)
		if bias {
			tensor(module+".bias", out)
		}
		extra(module, ModuleExtraState)
	}
	mx := a.Mamba
	inner, gs, nh := int64(mx.Inner()), int64(mx.Groups*mx.StateDim), int64(mx.Heads)
	heads, groups, kv := int64(a.Heads), int64(a.Groups), int64(a.KVChannels)
	glu := int64(1)
	if a.GatedLinearUnit {
		glu = 2
	}
	const dConv = 4 // MambaMixer's d_conv
	for i, s := range a.Pattern {
		l := fmt.Sprintf("decoder.layers.%d.", i)
		switch s {
		case symMamba:
			p := l + "mixer."
			tensor(p+"in_proj.layer_norm_weight", H)
			if layerNorm {
				tensor(p+"in_proj.layer_norm_bias", H)
			}
			for _, part := range []struct {
				name string
				rows int64
			}{{"z", inner}, {"x", inner}, {"B", gs}, {"C", gs}, {"dt", nh}} {
				tensor(p+"in_proj.weight."+part.name, part.rows, H)
			}
			extra(p+"in_proj", ModuleExtraState)
			for _, part := range []struct {
				name string
				rows int64
			}{{"x", inner}, {"B", gs}, {"C", gs}} {
				tensor(p+"conv1d.weight."+part.name, part.rows, 1, dConv)
				tensor(p+"conv1d.bias."+part.name, part.rows)
			}
			tensor(p+"A_log", nh)
			tensor(p+"D", nh)
			tensor(p+"dt_bias", nh)
			tensor(p+"norm.weight", inner)
			tensor(p+"out_proj.weight", H, inner)
			extra(p+"out_proj", ModuleExtraState)
		case symAttention:
			p := l + "self_attention."
			lnLinear(p+"linear_qkv", (heads+2*groups)*kv, H, a.AddBiasLinear || a.AddQKVBias)
			extra(p+"core_attention", ModuleExtraState)
			tensor(p+"linear_proj.weight", H, heads*kv)
			if a.AddBiasLinear {
				tensor(p+"linear_proj.bias", H)
			}
			extra(p+"linear_proj", ModuleExtraState)
		case symMLP:
			p := l + "mlp."
			F := int64(a.FFN)
			lnLinear(p+"linear_fc1", glu*F, H, a.AddBiasLinear)
			tensor(p+"linear_fc2.weight", H, F)
			if a.AddBiasLinear {
				tensor(p+"linear_fc2.bias", H)
			}
			extra(p+"linear_fc2", ModuleExtraState)
		}
	}
	tensor("decoder.final_norm.weight", H)
	if layerNorm {
		tensor("decoder.final_norm.bias", H)
	}
	if !omitNormExtra {
		extra("decoder.final_norm", OpExtraState)
	}
}

// SSMVocabDivisor returns the make_vocab_size_divisible_by under which
// NeMo 2 sizes a MambaModel's embedding to rows for a tokenizer of
// tokenizerVocab tokens at tensor parallel size 1, preferring divisibleBy.
// SSMConfig has no vocab_size: its configure_model always pads the
// tokenizer's size (get_vocab_size), where NeMo 1's MegatronMambaModel
// took cfg.vocab_size as it was. The divisor returned is the smallest
// that gives rows (the one that stays right at the most tensor parallel
// sizes); ok is false when the tokenizer has more tokens than rows.
func SSMVocabDivisor(rows, tokenizerVocab, divisibleBy int) (d int, ok bool) {
	if rows <= 0 || tokenizerVocab <= 0 || tokenizerVocab > rows {
		return 0, false
	}
	if PaddedVocab(tokenizerVocab, divisibleBy, 1) == rows {
		return divisibleBy, true
	}
	for d := rows - tokenizerVocab + 1; d <= rows; d++ {
		if rows%d == 0 {
			return d, true
		}
	}
	return rows, true
}

// mambaTarget is NeMo 1's Mamba model class; a .nemo's model_config.yaml
// names it in target (ModelPT records the class it was saved from).
const mambaTarget = "MegatronMambaModel"

// isMamba reports whether a NeMo 1 model_config.yaml is a
// MegatronMambaModel's.
func isMamba(y map[string]any) bool {
	t, _ := y["target"].(string)
	return t[strings.LastIndexByte(t, '.')+1:] == mambaTarget
}

// nemo1MambaKeys are the keys MegatronMambaModel reads differently from
// the GPT model (megatron_mamba_model.py model_provider_func): it builds
// Megatron-Core's MambaModel from build_transformer_config's
// TransformerConfig, then sets add_bias_linear, gated_linear_unit and
// layernorm_epsilon from keys of those names, and passes the vocabulary,
// the pattern and the groups; everything it does not pass takes
// MambaModel's defaults (no position embedding, untied output).
var nemo1MambaKeys = map[string]nemo1Key{
	"hybrid_override_pattern": mapped(), "mamba_ssm_ngroups": mapped(),
	"add_bias_linear": mapped(), "gated_linear_unit": mapped(),
	"mamba_state_dim": mapped(), "mamba_head_dim": mapped(), "mamba_num_groups": mapped(), "mamba_num_heads": mapped(),
	"bias":                                inert("MegatronMambaModel reads add_bias_linear instead"),
	"vocab_size":                          inert("the vocabulary is the stored embedding's"),
	"is_hybrid_model":                     inert("changes only the output layer's initialization"),
	"hybrid_attention_ratio":              inert("MegatronMambaModel does not pass it; the pattern decides"),
	"hybrid_mlp_ratio":                    inert("MegatronMambaModel does not pass it; the pattern decides"),
	"position_embedding_type":             inert("MegatronMambaModel does not pass it: MambaModel has no position embedding"),
	"rotary_percentage":                   inert("no position embedding"),
	"rotary_base":                         inert("no position embedding"),
	"rotary_interleaved":                  inert("no position embedding"),
	"seq_len_interpolation_factor":        inert("no position embedding"),
	"scale_positional_embedding":          inert("no position embedding"),
	"share_embeddings_and_output_weights": inert("MegatronMambaModel does not pass it: the output layer is untied"),
	"apply_embedding_scaling":             inert("read by the GPT model's customization, which MegatronMambaModel does not run"),
	"mcore_customization_config":          inert("read by the GPT model's customization, which MegatronMambaModel does not run"),
	"num_moe_experts":                     unsupported(nil, "mixture-of-experts layers in a hybrid"),
}

// nemo1SSMFields reads a MegatronMambaModel's model_config.yaml into
// SSMConfig fields. The mixer sizes are Megatron-Core's MambaMixer
// defaults of the versions MegatronMambaModel runs with (<= 0.11:
// d_state 128, head_dim 64, d_inner 2 × hidden_size) unless the YAML
// names them (build_transformer_config copies TransformerConfig fields).
func nemo1SSMFields(y map[string]any) ([]fiddle.Arg, error) {
	// Keys MegatronMambaModel does not read must not be judged as the
	// GPT model would read them.
	g := maps.Clone(y)
	for k, key := range nemo1MambaKeys {
		if key.status == keyInert {
			delete(g, k)
		}
	}
	base, err := nemo1Fields(g)
	if err != nil {
		return nil, err
	}
	var errs []string
	out := base[:0:0]
	set := func(name string, v any) { out = append(out, fiddle.Arg{Name: name, Value: v}) }
	drop := map[string]bool{
		"position_embedding_type": true, "rotary_percent": true, "rotary_base": true, "rotary_interleaved": true,
		"seq_len_interpolation_factor": true, "share_embeddings_and_output_weights": true,
		"add_bias_linear": true, "gated_linear_unit": true,
		"scale_factor": true, "low_freq_factor": true, "high_freq_factor": true, "old_context_len": true,
	}
	for _, f := range base {
		if !drop[f.Name] {
			out = append(out, f)
		}
	}
	flag := func(key string) {
		switch v := y[key].(type) {
		case nil:
			set(key, false)
		case bool:
			set(key, v)
		default:
			errs = append(errs, fmt.Sprintf("%s is %v, want true or false", key, v))
		}
	}
	flag("add_bias_linear")
	flag("gated_linear_unit")
	set("position_embedding_type", "none")
	set("share_embeddings_and_output_weights", false)
	size := func(key string, def any) any {
		v, ok := y[key]
		if !ok || v == nil {
			return def
		}
		n, isInt := toInt(v)
		if !isInt || n <= 0 {
			errs = append(errs, fmt.Sprintf("%s is %v, want a positive integer", key, v))
			return def
		}
		return n
	}
	groups := size("mamba_ssm_ngroups", 8)
	if g := size("mamba_num_groups", nil); g != nil && g != groups {
		errs = append(errs, fmt.Sprintf("mamba_num_groups (%v) and mamba_ssm_ngroups (%v) disagree", g, groups))
	}
	set("mamba_num_groups", groups)
	set("mamba_state_dim", size("mamba_state_dim", 128))
	set("mamba_head_dim", size("mamba_head_dim", 64))
	set("mamba_num_heads", size("mamba_num_heads", nil))
	switch p := y["hybrid_override_pattern"].(type) {
	case nil:
		n, _ := toInt(y["num_layers"])
		set("hybrid_override_pattern", strings.Repeat(string(symMamba), max(n, 0)))
	case string:
		set("hybrid_override_pattern", p)
	default:
		errs = append(errs, fmt.Sprintf("hybrid_override_pattern is %v, want a string", p))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("model_config.yaml: %s", strings.Join(errs, "; "))
	}
	return fuseOnlyWhereMegatronCan(out), nil
}

// describePattern names a layer pattern for a mismatch: a GPT model has
// none.
func describePattern(p string) string {
	if p == "" {
		return "none (a GPT model)"
	}
	return p
}

// IsSSM reports whether configs of class c build a Megatron-Core
// MambaModel (SSMConfig and its subclasses).
func IsSSM(c *Class) bool { return isSSM(c) }

// MambaTarget is the target a NeMo 1 Mamba model_config.yaml records: its
// presence makes Auto read the YAML as MegatronMambaModel does.
const MambaTarget = "nemo.collections.nlp.models.language_modeling.megatron_mamba_model." + mambaTarget

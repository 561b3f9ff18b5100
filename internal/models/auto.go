package models

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
)

// AutoID is the model id that takes the architecture from the NeMo 1
// model_config.yaml.
const AutoID = "auto"

// nemo1Fields reads the architecture of a NeMo 1 model_config.yaml as NeMo
// 1's Megatron-Core GPT model builds it (MegatronGPTModel.model_provider_func
// and build_transformer_config in nemo/collections/nlp/models/
// language_modeling/megatron_{gpt,base}_model.py), with NeMo 1's defaults
// for absent keys. It returns NeMo 2 config fields in a fixed order.
func nemo1Fields(y map[string]any) ([]fiddle.Arg, error) {
	if err := checkNEMO1Keys(y); err != nil {
		return nil, err
	}
	var out []fiddle.Arg
	var errs []string
	set := func(name string, v any) { out = append(out, fiddle.Arg{Name: name, Value: v}) }
	get := func(key string) (any, bool) {
		v, ok := y[key]
		return v, ok && v != nil
	}
	// intField reads a positive integer; an optional one that is absent
	// or null is None (Megatron-Core then derives it).
	intField := func(key string, required bool) {
		v, ok := get(key)
		if !ok {
			if required {
				errs = append(errs, fmt.Sprintf("%s is missing", key))
			} else {
				set(key, nil)
			}
			return
		}
		n, isInt := toInt(v)
		if !isInt || n <= 0 {
			errs = append(errs, fmt.Sprintf("%s is %v, want a positive integer", key, v))
			return
		}
		set(key, n)
	}
	numField := func(key, field string, def any) {
		v, ok := get(key)
		if !ok {
			set(field, def)
			return
		}
		if _, isNum := toFloat(v); !isNum {
			errs = append(errs, fmt.Sprintf("%s is %v, want a number", key, v))
			return
		}
		set(field, v)
	}
	boolField := func(key, field string, def bool) {
		v, ok := get(key)
		if !ok {
			set(field, def)
			return
		}
		b, isBool := v.(bool)
		if !isBool {
			errs = append(errs, fmt.Sprintf("%s is %v, want true or false", key, v))
			return
		}
		set(field, b)
	}

	intField("num_layers", true)
	intField("hidden_size", true)
	intField("ffn_hidden_size", false)
	intField("num_attention_heads", true)
	intField("num_query_groups", false)
	intField("kv_channels", false)
	// NeMo 1 sizes the model for encoder_seq_length (max_sequence_length).
	if v, ok := get("encoder_seq_length"); ok {
		if n, isInt := toInt(v); isInt && n > 0 {
			set("seq_length", n)
		} else {
			errs = append(errs, fmt.Sprintf("encoder_seq_length is %v, want a positive integer", v))
		}
	} else if v, ok := get("max_position_embeddings"); ok {
		if n, isInt := toInt(v); isInt && n > 0 {
			set("seq_length", n)
		} else {
			errs = append(errs, fmt.Sprintf("max_position_embeddings is %v, want a positive integer", v))
		}
	} else {
		errs = append(errs, "encoder_seq_length is missing")
	}

	norm, zeroCentered := "layernorm", false
	if v, ok := get("normalization"); ok {
		s, isStr := v.(string)
		if !isStr {
			errs = append(errs, fmt.Sprintf("normalization is %v, want a string", v))
		}
		norm = strings.ToLower(s)
	}
	if v, ok := get("layernorm_zero_centered_gamma"); ok && v == true {
		zeroCentered = true
	}
	switch norm {
	case "layernorm":
		set("normalization", "LayerNorm")
	case "layernorm1p":
		set("normalization", "LayerNorm")
		zeroCentered = true
	case "rmsnorm":
		set("normalization", "RMSNorm")
	default:
		errs = append(errs, fmt.Sprintf("normalization %q is not supported (layernorm, layernorm1p, rmsnorm)", norm))
	}
	set("layernorm_zero_centered_gamma", zeroCentered)

	// nemo/collections/nlp/parts/utils_funcs.py activation_to_func.
	act := "gelu"
	if v, ok := get("activation"); ok {
		s, _ := v.(string)
		act = s
	}
	var fn fiddle.Ref
	switch act {
	case "gelu", "geglu", "fast-geglu":
		fn = gelu
	case "reglu", "fast-reglu":
		fn = relu
	case "swiglu", "fast-swiglu":
		fn = silu
	case "squared-relu":
		fn = squaredReLU
	default:
		errs = append(errs, fmt.Sprintf("activation %q is not supported (gelu, geglu, reglu, swiglu, squared-relu and their fast- forms)", act))
	}
	if v, ok := get("openai_gelu"); ok && v == true {
		fn = openAIGelu
	}
	set("activation_func", fn)
	set("gated_linear_unit", strings.HasSuffix(act, "glu"))

	boolField("bias", "add_bias_linear", true)
	// Not only speed: with a GeLU and biases the fused kernel computes the
	// tanh approximation (Megatron-Core's fused_bias_gelu), and NeMo 1
	// fuses unless told not to (megatron_base_model.py
	// build_transformer_config: cfg.get('bias_activation_fusion', True)).
	boolField("bias_activation_fusion", "bias_activation_fusion", true)
	boolField("qkv_bias", "add_qkv_bias", false)
	boolField("qk_layernorm", "qk_layernorm", false)

	pos := "learned_absolute"
	if v, ok := get("position_embedding_type"); ok {
		s, _ := v.(string)
		pos = s
	}
	switch pos {
	case "learned_absolute", "rope", "none":
		set("position_embedding_type", pos)
	case "alibi":
		errs = append(errs, "position_embedding_type alibi (MPT, Baichuan2-13B, Bloom): Megatron-Core's GPT model has no ALiBi and NeMo 2 no model that uses it")
	default:
		errs = append(errs, fmt.Sprintf("position_embedding_type %q is not supported by Megatron-Core's GPT model (learned_absolute, rope, none)", pos))
	}
	numField("rotary_percentage", "rotary_percent", 1.0)
	numField("rotary_base", "rotary_base", 10000)
	boolField("rotary_interleaved", "rotary_interleaved", false)
	if v, ok := get("seq_len_interpolation_factor"); ok {
		set("seq_len_interpolation_factor", v)
	}
	boolField("share_embeddings_and_output_weights", "share_embeddings_and_output_weights", true)
	numField("layernorm_epsilon", "layernorm_epsilon", 1e-5)
	numField("init_method_std", "init_method_std", 0.02)
	numField("hidden_dropout", "hidden_dropout", 0.1)
	numField("attention_dropout", "attention_dropout", 0.1)
	if v, ok := get("make_vocab_size_divisible_by"); ok {
		if n, isInt := toInt(v); isInt && n > 0 {
			set("make_vocab_size_divisible_by", n)
		} else {
			errs = append(errs, fmt.Sprintf("make_vocab_size_divisible_by is %v, want a positive integer", v))
		}
	} else {
		set("make_vocab_size_divisible_by", 128)
	}
	// NeMo 1 scales the rotary frequencies as Llama 3.1 does
	// (mcore_model_customize: apply_rope_scaling with these defaults);
	// NeMo 2 does it in Llama31Config.
	if v, ok := get("scale_positional_embedding"); ok && v == true {
		numField("scale_factor", "scale_factor", 8.0)
		numField("low_freq_factor", "low_freq_factor", 1.0)
		numField("high_freq_factor", "high_freq_factor", 4.0)
		intField("old_context_len", false)
		if out[len(out)-1].Value == nil {
			out[len(out)-1].Value = 8192
		}
	}
	if v, ok := get("window_size"); ok {
		l, err := toList(v)
		if err != nil {
			errs = append(errs, "window_size: "+err.Error())
		} else {
			set("window_size", l)
		}
	}
	errs = append(errs, gemma2Fields(y, set)...)

	if v, ok := get("num_moe_experts"); ok {
		if n, isInt := toInt(v); isInt && n > 0 {
			set("num_moe_experts", n)
			intField("moe_ffn_hidden_size", false)
			if v, ok := get("moe_router_topk"); ok {
				if k, isInt := toInt(v); isInt && k > 0 {
					set("moe_router_topk", k)
				} else {
					errs = append(errs, fmt.Sprintf("moe_router_topk is %v, want a positive integer", v))
				}
			} else {
				set("moe_router_topk", 2)
			}
			for _, k := range []string{"moe_router_load_balancing_type", "moe_token_dispatcher_type"} {
				if v, ok := get(k); ok {
					set(k, v)
				}
			}
			for _, k := range []string{"moe_aux_loss_coeff", "moe_z_loss_coeff", "moe_input_jitter_eps"} {
				if v, ok := get(k); ok {
					if _, isNum := toFloat(v); isNum {
						set(k, v)
					}
				}
			}
			boolField("moe_router_pre_softmax", "moe_router_pre_softmax", false)
			if _, ok := get("moe_shared_expert_intermediate_size"); ok {
				intField("moe_shared_expert_intermediate_size", false)
			}
			if v, ok := get("moe_grouped_gemm"); ok {
				if b, isBool := v.(bool); isBool {
					set("moe_grouped_gemm", b)
				}
			}
		} else if isInt && n == 0 {
			// No experts.
		} else {
			errs = append(errs, fmt.Sprintf("num_moe_experts is %v, want a positive integer", v))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("model_config.yaml: %s", strings.Join(errs, "; "))
	}
	return fuseOnlyWhereMegatronCan(out), nil
}

// fuseOnlyWhereMegatronCan turns bias_activation_fusion off where
// Megatron-Core has no fused kernel: it fuses GeLU with a bias or a gate
// (the tanh form) and SwiGLU, and anything else with the flag on raises
// (TransformerConfig.__post_init__ since 0.11, MLP.forward before), so a
// NeMo 2 config built with it would not load. NeMo 1 defaulted it to true
// whatever the activation; its YAMLs for other activations set it false.
func fuseOnlyWhereMegatronCan(fields []fiddle.Arg) []fiddle.Arg {
	f := map[string]any{}
	for _, a := range fields {
		f[a.Name] = a.Value
	}
	act, glu, bias := f["activation_func"], f["gated_linear_unit"] == true, f["add_bias_linear"] == true
	can := (act == gelu && (glu || bias)) || (act == silu && glu)
	if can {
		return fields
	}
	for i, a := range fields {
		if a.Name == "bias_activation_fusion" {
			fields[i].Value = false
		}
	}
	return fields
}

// gemma2Fields reads what NeMo 1's Gemma 2 layer spec takes from
// mcore_customization_config, which MegatronGPTModel sets on the
// TransformerConfig after building it: Gemma2DotProductAttention reads
// query_pre_attn_scalar and attn_logit_softcapping, and the output layer
// caps its logits when final_logit_softcapping is set
// (mcore_model_customize). NeMo 2's Gemma2Config has all three as fields.
// Anywhere else mcore_customization_config is refused: it can set any
// TransformerConfig field.
func gemma2Fields(y map[string]any, set func(string, any)) []string {
	name, _ := y["name"].(string)
	mc, _ := y["mcore_customization_config"].(map[string]any)
	if name != gemma2Spec {
		if len(mc) > 0 {
			return []string{fmt.Sprintf("mcore_customization_config: %v sets TransformerConfig fields after construction, which nemo-migrate maps only for the Gemma 2 layer spec (name: %s); converting would compute something else", describeValue(mc), gemma2Spec)}
		}
		return nil
	}
	var errs []string
	if y["apply_embedding_scaling"] != true {
		errs = append(errs, fmt.Sprintf("name: %s without apply_embedding_scaling: NeMo 2's Gemma2Model always scales the embeddings", gemma2Spec))
	}
	for _, k := range slices.Sorted(maps.Keys(mc)) {
		switch k {
		case "query_pre_attn_scalar", "attn_logit_softcapping", "final_logit_softcapping":
		default:
			errs = append(errs, fmt.Sprintf("mcore_customization_config.%s: %v is not a Gemma 2 setting nemo-migrate maps; converting would compute something else", k, describeValue(mc[k])))
		}
	}
	num := func(k string, required bool) {
		v, ok := mc[k]
		if !ok || v == nil {
			if required {
				errs = append(errs, fmt.Sprintf("name: %s reads mcore_customization_config.%s, which is missing (NeMo 1 could not have built this model)", gemma2Spec, k))
			} else {
				set(k, nil)
			}
			return
		}
		if _, isNum := toFloat(v); !isNum {
			errs = append(errs, fmt.Sprintf("mcore_customization_config.%s is %v, want a number", k, v))
			return
		}
		set(k, v)
	}
	num("query_pre_attn_scalar", true)
	num("attn_logit_softcapping", true)
	num("final_logit_softcapping", false)
	return errs
}

// toList converts a decoded YAML sequence of integers to a Python list.
func toList(v any) (*fiddle.List, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%v is not a list", v)
	}
	l := &fiddle.List{}
	for _, x := range items {
		n, ok := toInt(x)
		if !ok {
			return nil, fmt.Errorf("%v is not a list of integers", v)
		}
		l.Items = append(l.Items, n)
	}
	return l, nil
}

// Auto returns the model and config NeMo 2 should use for the NeMo 1
// architecture in y (model_config.yaml, decoded). It chooses the family
// from the architecture: MoE with SwiGLU, RMSNorm and RoPE is Mixtral;
// squared ReLU with zero-centered LayerNorm and RoPE is Nemotron; SwiGLU,
// RMSNorm and RoPE is Mistral with a sliding window, else Llama; anything
// else is a plain GPT. The config is the family's base class (LlamaConfig,
// MistralConfig7B, MixtralConfig, NemotronConfig, GPTConfig) with the
// sizes set explicitly, and every other architecture field that differs
// from the class default.
func Auto(y map[string]any) (Model, *Config, error) {
	mamba := isMamba(y)
	read := nemo1Fields
	if mamba {
		read = nemo1SSMFields
	}
	fields, err := read(y)
	if err != nil {
		return Model{}, nil, err
	}
	f := map[string]any{}
	for _, a := range fields {
		f[a.Name] = a.Value
	}
	c := newClasses()
	rope := f["position_embedding_type"] == "rope"
	swiglu := f["activation_func"] == silu && f["gated_linear_unit"] == true
	rms := f["normalization"] == "RMSNorm"
	_, moe := f["num_moe_experts"]
	_, window := f["window_size"]
	_, ropeScaling := f["scale_factor"]
	m := Model{ID: AutoID, Class: c.gptModel, Config: c.gpt}
	switch {
	case mamba:
		m.Class, m.Config = c.mambaModel, c.ssm
	case y["name"] == fullTESpec:
		// GPTConfig with use_transformer_engine_full_layer_spec (below):
		// the same TransformerEngine layer, whatever the family.
	case y["name"] == gemma2Spec:
		if moe {
			return Model{}, nil, fmt.Errorf("model_config.yaml: name: %s with num_moe_experts: the Gemma 2 layer spec has a dense MLP", gemma2Spec)
		}
		m.Class, m.Config = c.gemma2Model, c.gemma2
	case y["apply_embedding_scaling"] == true:
		// GemmaModel is GPTModel with NeMo 1's embedding scaling.
		m.Class, m.Config = c.gemmaModel, c.gemma
	case moe && swiglu && rms && rope:
		m.Class, m.Config = c.mixtralModel, c.mixtral
	case moe:
	case f["activation_func"] == squaredReLU && f["normalization"] == "LayerNorm" &&
		f["layernorm_zero_centered_gamma"] == true && rope && f["gated_linear_unit"] == false:
		m.Class, m.Config = c.nemotronModel, c.nemotron
	case f["activation_func"] == gelu && f["gated_linear_unit"] == false && f["normalization"] == "LayerNorm" &&
		f["layernorm_zero_centered_gamma"] != true && f["add_bias_linear"] == true && rope && !ropeScaling:
		m.Class, m.Config = c.starcoder2Model, c.starcoder2
	case f["activation_func"] == gelu && f["gated_linear_unit"] == false && f["normalization"] == "LayerNorm" &&
		f["layernorm_zero_centered_gamma"] != true && f["add_bias_linear"] == true &&
		f["position_embedding_type"] == "learned_absolute" && f["num_query_groups"] == 1 &&
		f["share_embeddings_and_output_weights"] == false:
		// GPTBigCode's multi-query attention: convert_starcoder_hf_to_nemo.py.
		m.Class, m.Config = c.starcoderModel, c.starcoder
	case swiglu && rms && rope && f["add_qkv_bias"] == true && f["add_bias_linear"] == false &&
		f["rotary_interleaved"] == true && !ropeScaling && !window:
		// ChatGLM 2/3: RoPE on interleaved pairs (of part of each head).
		m.Class, m.Config = c.chatglmModel, c.chatglm
	case swiglu && rms && rope && window:
		m.Class, m.Config = c.mistralModel, c.mistral7b
	case swiglu && rms && rope && f["add_qkv_bias"] == true && f["add_bias_linear"] == false && !ropeScaling && !window:
		m.Class, m.Config = c.qwen2Model, c.qwen2
	case swiglu && rms && rope && ropeScaling:
		m.Class, m.Config = c.llamaModel, c.llama31
	case swiglu && rms && rope:
		m.Class, m.Config = c.llamaModel, c.llama
	}
	if ropeScaling && m.Config != c.llama31 {
		return Model{}, nil, fmt.Errorf("model_config.yaml: scale_positional_embedding (Llama 3.1 RoPE scaling) on an architecture other than Llama's; NeMo 2 applies it only in Llama31Config")
	}
	cfg := NewConfig(m.Config)
	always := map[string]bool{
		"num_layers": true, "hidden_size": true, "ffn_hidden_size": true, "num_attention_heads": true,
		"seq_length": true, "hybrid_override_pattern": true,
	}
	for _, a := range fields {
		p, ok := m.Config.Param(a.Name)
		if !ok {
			return Model{}, nil, fmt.Errorf("%s has no field %s", m.Config.Name(), a.Name)
		}
		if l, isList := a.Value.(*fiddle.List); isList {
			if _, tuple := p.Default.(*fiddle.Tuple); tuple {
				a.Value = &fiddle.Tuple{Items: l.Items} // Gemma2Config's window_size
			}
		}
		if always[a.Name] || !sameValue(p.Default, a.Value) {
			if err := cfg.Set(a.Name, a.Value); err != nil {
				return Model{}, nil, err
			}
		}
	}
	if y["name"] == fullTESpec {
		if err := cfg.Set("use_transformer_engine_full_layer_spec", true); err != nil {
			return Model{}, nil, err
		}
	}
	if !window {
		// A YAML without window_size has no sliding window, whatever the
		// class default (MistralConfig7B's is [4096, 0]).
		if p, _ := m.Config.Param("window_size"); p.Default != nil {
			if err := cfg.Set("window_size", nil); err != nil {
				return Model{}, nil, err
			}
		}
	}
	if _, err := cfg.Arch(); err != nil {
		return Model{}, nil, fmt.Errorf("model_config.yaml: %w", err)
	}
	return m, cfg, nil
}

// valueOr returns c's effective value of name, or def for a class
// without that field.
func valueOr(c *Config, name string, def any) any {
	if v, ok := c.Value(name); ok {
		return v
	}
	return def
}

func describeValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case *fiddle.List:
		return fmt.Sprint(v.Items)
	case *fiddle.Tuple:
		return fmt.Sprint(v.Items)
	}
	return fmt.Sprint(v)
}

// SameValue reports whether two config values are equal as Python
// compares them (10000 == 10000.0), for other packages that check configs.
func SameValue(x, y any) bool { return sameValue(x, y) }

// sameValue reports whether two config values are equal as Python
// compares them (10000 == 10000.0).
func sameValue(x, y any) bool {
	if fx, ok := toFloat(x); ok {
		if _, isBool := x.(bool); !isBool {
			fy, ok := toFloat(y)
			_, yBool := y.(bool)
			return ok && !yBool && fx == fy
		}
	}
	switch xv := x.(type) {
	case *fiddle.List:
		yv, ok := y.(*fiddle.List)
		if !ok || len(xv.Items) != len(yv.Items) {
			return false
		}
		for i := range xv.Items {
			if !sameValue(xv.Items[i], yv.Items[i]) {
				return false
			}
		}
		return true
	case fiddle.Ref:
		yv, ok := y.(fiddle.Ref)
		return ok && xv.Module == yv.Module && xv.Name == yv.Name
	}
	return x == y
}

// FieldMismatch is one architecture field on which a NeMo 1
// model_config.yaml and a chosen NeMo 2 config disagree.
type FieldMismatch struct {
	Field        string // the NeMo 1 key
	YAML, Config string // the two values, printed
}

// ArchMismatchError reports a model id whose architecture differs from the
// checkpoint's model_config.yaml.
type ArchMismatchError struct {
	Model  string
	Fields []FieldMismatch
}

func (e *ArchMismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "model_config.yaml does not describe %s:", e.Model)
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "\n  %s: model_config.yaml has %s, %s has %s", f.Field, f.YAML, e.Model, f.Config)
	}
	b.WriteString("\nUse --model_id auto to convert with the architecture of model_config.yaml.")
	return b.String()
}

// CrossCheck compares the architecture of the NeMo 1 model_config.yaml y
// with the config chosen for it. Differences that change the weights or
// their meaning (sizes, normalization, activation, biases, position
// embedding, rotary settings, tied embeddings, experts) make an
// *ArchMismatchError listing all of them. A different sequence length with
// rotary or no position embeddings changes no weight and is returned as a
// warning.
func CrossCheck(c *Config, model string, y map[string]any) (warnings []string, err error) {
	_, yc, err := Auto(y)
	if err != nil {
		return nil, err
	}
	ya, err := yc.Arch()
	if err != nil {
		return nil, fmt.Errorf("model_config.yaml: %w", err)
	}
	ca, err := c.Arch()
	if err != nil {
		return nil, err
	}
	var diffs []FieldMismatch
	cmp := func(field string, y, c any) {
		if fmt.Sprint(y) != fmt.Sprint(c) {
			diffs = append(diffs, FieldMismatch{Field: field, YAML: fmt.Sprint(y), Config: fmt.Sprint(c)})
		}
	}
	cmpFloat := func(field string, y, c float64) {
		if math.Abs(y-c) > 1e-12*math.Max(math.Abs(y), math.Abs(c)) {
			diffs = append(diffs, FieldMismatch{Field: field, YAML: fmt.Sprint(y), Config: fmt.Sprint(c)})
		}
	}
	normName := func(a Arch) string {
		switch {
		case a.Normalization == "RMSNorm":
			return "rmsnorm"
		case a.ZeroCenteredGamma:
			return "layernorm1p"
		}
		return "layernorm"
	}
	actName := func(a Arch) string {
		s := a.Activation.String()
		if a.GatedLinearUnit {
			s += " (gated)"
		}
		return s
	}
	cmp("num_layers", ya.NumLayers, ca.NumLayers)
	cmp("hidden_size", ya.Hidden, ca.Hidden)
	cmp("ffn_hidden_size", ya.FFN, ca.FFN)
	cmp("num_attention_heads", ya.Heads, ca.Heads)
	cmp("num_query_groups", ya.Groups, ca.Groups)
	cmp("kv_channels", ya.KVChannels, ca.KVChannels)
	cmp("normalization", normName(ya), normName(ca))
	cmp("layernorm_zero_centered_gamma", ya.ZeroCenteredGamma, ca.ZeroCenteredGamma)
	cmp("activation", actName(ya), actName(ca))
	cmp("bias", ya.AddBiasLinear, ca.AddBiasLinear)
	cmp("qkv_bias", ya.AddQKVBias, ca.AddQKVBias)
	cmp("qk_layernorm", ya.QKLayerNorm, ca.QKLayerNorm)
	cmp("position_embedding_type", ya.PositionEmbedding, ca.PositionEmbedding)
	cmp("share_embeddings_and_output_weights", ya.ShareEmbeddings, ca.ShareEmbeddings)
	cmp("num_moe_experts", ya.Experts, ca.Experts)
	cmp("apply_embedding_scaling", ya.EmbeddingScaling, ca.EmbeddingScaling)
	cmp("name (layer spec)", ya.LayerSpec.name(), ca.LayerSpec.name())
	cmp("hybrid_override_pattern", describePattern(ya.Pattern), describePattern(ca.Pattern))
	if ya.Pattern != "" && ca.Pattern != "" {
		cmp("mamba_state_dim", ya.Mamba.StateDim, ca.Mamba.StateDim)
		cmp("mamba_head_dim", ya.Mamba.HeadDim, ca.Mamba.HeadDim)
		cmp("mamba_ssm_ngroups", ya.Mamba.Groups, ca.Mamba.Groups)
		cmp("mamba_num_heads", ya.Mamba.Heads, ca.Mamba.Heads)
	}
	if ya.Experts > 0 && ca.Experts > 0 {
		cmp("moe_ffn_hidden_size", ya.MoEFFN, ca.MoEFFN)
		cmp("moe_router_topk", ya.RouterTopK, ca.RouterTopK)
		cmp("moe_shared_expert_intermediate_size", ya.SharedExpertFFN, ca.SharedExpertFFN)
	}
	cmpFloat("layernorm_epsilon", ya.LayerNormEpsilon, ca.LayerNormEpsilon)
	if ya.PositionEmbedding == "rope" && ca.PositionEmbedding == "rope" {
		cmpFloat("rotary_percentage", ya.RotaryPercent, ca.RotaryPercent)
		cmpFloat("rotary_base", ya.RotaryBase, ca.RotaryBase)
	}
	// Fields beyond the sizes that change what the network computes; a
	// class without one computes as its neutral value says.
	for _, f := range []struct {
		name    string
		neutral any
	}{
		{"window_size", nil}, {"rotary_interleaved", false}, {"seq_len_interpolation_factor", nil},
		{"scale_factor", nil}, {"low_freq_factor", nil}, {"high_freq_factor", nil}, {"old_context_len", nil},
		{"query_pre_attn_scalar", nil}, {"attn_logit_softcapping", nil}, {"final_logit_softcapping", nil},
	} {
		yv, cv := valueOr(yc, f.name, f.neutral), valueOr(c, f.name, f.neutral)
		if !sameValue(yv, cv) {
			cmp(f.name, describeValue(yv), describeValue(cv))
		}
	}
	if ya.ActivationName() == "gelu" && (ya.AddBiasLinear || ya.GatedLinearUnit) {
		// The fused bias GeLU and GeGLU are the tanh approximation.
		cmp("bias_activation_fusion", valueOr(yc, "bias_activation_fusion", false), valueOr(c, "bias_activation_fusion", false))
	}
	if ya.SeqLength != ca.SeqLength {
		if ya.PositionEmbedding == "learned_absolute" || ca.PositionEmbedding == "learned_absolute" {
			cmp("encoder_seq_length", ya.SeqLength, ca.SeqLength)
		} else {
			warnings = append(warnings, fmt.Sprintf("model_config.yaml has encoder_seq_length %d, %s has seq_length %d (no weight depends on it; set seq_length when you train)",
				ya.SeqLength, model, ca.SeqLength))
		}
	}
	if len(diffs) > 0 {
		return warnings, &ArchMismatchError{Model: model, Fields: diffs}
	}
	return warnings, nil
}

// ConverterArgs sets on c what NeMo's converter passes to the config class
// (convert_nemo1_to_nemo2.py get_nemo2_model): bf16=True,
// params_dtype=torch.bfloat16, and the fp8 settings found at the top of
// model_config.yaml, with NeMo 1's fp8 flag mapped to the value NeMo 2
// accepts (TransformerConfig.fp8 is None, "e4m3" or "hybrid"; NeMo 1 chose
// the format with fp8_e4m3 / fp8_hybrid, as MegatronGPTModel
// .build_transformer_config does).
func ConverterArgs(c *Config, y map[string]any) error {
	if err := c.Set("bf16", true); err != nil {
		return err
	}
	if err := c.Set("params_dtype", torchBFloat16); err != nil {
		return err
	}
	if v, ok := y["fp8"]; ok {
		var fp8 any
		switch v {
		case nil, false:
		case true:
			switch {
			case y["fp8_e4m3"] == true:
				fp8 = "e4m3"
			case y["fp8_hybrid"] == true:
				fp8 = "hybrid"
			default:
				return fmt.Errorf("model_config.yaml: fp8 is enabled but neither fp8_e4m3 nor fp8_hybrid is set")
			}
		case "e4m3", "hybrid":
			fp8 = v
		default:
			return fmt.Errorf("model_config.yaml: fp8 is %v, want true, false, e4m3 or hybrid", v)
		}
		if err := c.Set("fp8", fp8); err != nil {
			return err
		}
	}
	for _, k := range []string{"fp8_margin", "fp8_interval", "fp8_amax_history_len"} {
		if v, ok := y[k]; ok && v != nil {
			n, isInt := toInt(v)
			if !isInt {
				return fmt.Errorf("model_config.yaml: %s is %v, want an integer", k, v)
			}
			if err := c.Set(k, n); err != nil {
				return err
			}
		}
	}
	if v, ok := y["fp8_amax_compute_algo"]; ok && v != nil {
		s, isStr := v.(string)
		if !isStr || (s != "max" && s != "most_recent") {
			return fmt.Errorf("model_config.yaml: fp8_amax_compute_algo is %v, want max or most_recent", v)
		}
		if err := c.Set("fp8_amax_compute_algo", s); err != nil {
			return err
		}
	}
	return nil
}

// Family is one architecture "auto" recognizes and the NeMo 2 classes it
// builds for it.
type Family struct {
	Name   string
	Model  string // model class
	Config string // config class
	When   string // what in model_config.yaml selects it
}

// Families lists what "auto" chooses, in the order it decides.
func Families() []Family {
	c := newClasses()
	f := func(name string, m, cfg *Class, when string) Family {
		return Family{Name: name, Model: m.Name(), Config: cfg.Name(), When: when}
	}
	return []Family{
		f("Mamba / hybrid (NemotronH)", c.mambaModel, c.ssm, "target: MegatronMambaModel (hybrid_override_pattern, mamba_ssm_ngroups)"),
		f("Full TE layer", c.gptModel, c.gpt, "name: megatron_gpt_full_te_layer_autocast (use_transformer_engine_full_layer_spec)"),
		f("Gemma 2", c.gemma2Model, c.gemma2, "name: megatron_gemma2 (its layer spec, mcore_customization_config)"),
		f("Gemma", c.gemmaModel, c.gemma, "apply_embedding_scaling"),
		f("Mixtral", c.mixtralModel, c.mixtral, "experts, SwiGLU, RMSNorm, rope"),
		f("Nemotron", c.nemotronModel, c.nemotron, "layernorm1p, squared-relu, rope"),
		f("Qwen2", c.qwen2Model, c.qwen2, "SwiGLU, RMSNorm, rope, qkv_bias without bias"),
		f("Starcoder 2", c.starcoder2Model, c.starcoder2, "LayerNorm, gelu with bias, rope"),
		f("Starcoder", c.starcoderModel, c.starcoder, "LayerNorm, gelu with bias, learned positions, one query group, untied output"),
		f("ChatGLM", c.chatglmModel, c.chatglm, "SwiGLU, RMSNorm, rope on interleaved pairs, qkv_bias without bias"),
		f("Mistral", c.mistralModel, c.mistral7b, "SwiGLU, RMSNorm, rope, window_size"),
		f("Llama 3.1", c.llamaModel, c.llama31, "SwiGLU, RMSNorm, rope, scale_positional_embedding"),
		f("Llama", c.llamaModel, c.llama, "SwiGLU, RMSNorm, rope"),
		f("GPT", c.gptModel, c.gpt, "anything else Megatron-Core's GPT builds (learned positions, GeLU, ...)"),
	}
}

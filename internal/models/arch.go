package models

import (
	"fmt"
	"math"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
)

// Arch is the architecture a config describes: the values that decide the
// model's tensors, with Megatron-Core's derived defaults applied
// (TransformerConfig.__post_init__: num_query_groups defaults to the head
// count, kv_channels to hidden/heads, moe_ffn_hidden_size to
// ffn_hidden_size).
type Arch struct {
	NumLayers  int
	Hidden     int
	FFN        int
	Heads      int
	Groups     int // query groups (key/value heads)
	KVChannels int // width of one head
	SeqLength  int

	Normalization     string // "LayerNorm" or "RMSNorm"
	ZeroCenteredGamma bool
	LayerNormEpsilon  float64
	// Activation is the activation function; GatedLinearUnit doubles
	// linear_fc1 (gate and up projections).
	Activation      fiddle.Ref
	GatedLinearUnit bool
	AddBiasLinear   bool
	AddQKVBias      bool
	QKLayerNorm     bool

	PositionEmbedding string // "rope", "learned_absolute", "none", ...
	RotaryPercent     float64
	RotaryBase        float64
	ShareEmbeddings   bool

	// EmbeddingScaling: the model multiplies the embeddings by
	// sqrt(hidden_size) (GemmaModel and Gemma2Model always do).
	EmbeddingScaling bool
	// LayerSpec is the transformer layer the config builds.
	LayerSpec LayerSpec

	// Mixture of experts; Experts is 0 for a dense model.
	Experts          int
	MoEFFN           int
	RouterTopK       int
	RouterExpertBias bool
	SharedExpertFFN  int
	MoELayerFreq     int

	// Pattern is a Mamba hybrid's layer pattern (MambaModel), one symbol
	// per layer: M a Mamba mixer, * self-attention, - an MLP; "" for a
	// GPT model. Mamba sizes the mixers of its M layers.
	Pattern string
	Mamba   Mamba

	// VocabSize is the config's explicit vocab_size, 0 when NeMo derives
	// it from the tokenizer (padded to MakeVocabDivisibleBy).
	VocabSize            int
	MakeVocabDivisibleBy int
}

// LayerSpec names a transformer layer spec a config builds.
type LayerSpec uint8

const (
	// TELayer is GPTConfig's default_layer_spec: Megatron-Core's
	// TransformerEngine GPT layer.
	TELayer LayerSpec = iota
	// Gemma2Layer is gemma2_layer_spec: the TE layer with a norm after
	// attention and after the MLP (linear_proj.post_layernorm,
	// linear_fc2.post_layernorm) and an unfused attention that soft-caps
	// its logits (no TransformerEngine extra state).
	Gemma2Layer
	// FullTELayer is GPTConfig with use_transformer_engine_full_layer_spec:
	// TransformerEngine's whole TransformerLayer (see fullTESpec).
	FullTELayer
)

// name is the NeMo 1 model_config.yaml name that selects the spec.
func (s LayerSpec) name() string {
	switch s {
	case Gemma2Layer:
		return gemma2Spec
	case FullTELayer:
		return fullTESpec
	}
	return "te_gpt"
}

var gemma2LayerSpec = fiddle.Class(strings.TrimSuffix(gemma2Module, "."), "gemma2_layer_spec")

// layerSpec reads transformer_layer_spec.
func (r *reader) layerSpec() LayerSpec {
	v, _ := r.value("transformer_layer_spec")
	ref, _ := v.(fiddle.Ref)
	switch {
	case ref.Module == gemma2LayerSpec.Module && ref.Name == gemma2LayerSpec.Name:
		return Gemma2Layer
	case ref.Module == baseRef("").Module && ref.Name == "default_layer_spec":
		if full, ok := r.c.Value("use_transformer_engine_full_layer_spec"); ok && full == true {
			return FullTELayer
		}
		return TELayer
	}
	r.fail("transformer_layer_spec", v, "default_layer_spec or gemma2_layer_spec")
	return TELayer
}

// scalesEmbeddings reports whether models of config class c multiply the
// embeddings by sqrt(hidden_size): GemmaModel's and Gemma2Model's
// configure_model always extend the embedding with EmbeddingScalingMixin.
func scalesEmbeddings(c *Class) bool {
	m := c.Ref.Module + "."
	return m == gemmaModule || m == gemma2Module
}

// Arch returns the architecture of c.
func (c *Config) Arch() (Arch, error) {
	r := reader{c: c}
	var a Arch
	a.NumLayers = r.int("num_layers")
	a.Hidden = r.int("hidden_size")
	a.Heads = r.int("num_attention_heads")
	a.FFN = r.optInt("ffn_hidden_size", 4*a.Hidden)
	a.Groups = r.optInt("num_query_groups", a.Heads)
	if a.Heads > 0 {
		a.KVChannels = r.optInt("kv_channels", a.Hidden/a.Heads)
	}
	a.SeqLength = r.int("seq_length")
	a.Normalization = r.str("normalization")
	a.ZeroCenteredGamma = r.bool("layernorm_zero_centered_gamma")
	a.LayerNormEpsilon = r.float("layernorm_epsilon")
	a.Activation = r.ref("activation_func")
	a.GatedLinearUnit = r.bool("gated_linear_unit")
	a.AddBiasLinear = r.bool("add_bias_linear")
	a.AddQKVBias = r.bool("add_qkv_bias")
	a.QKLayerNorm = r.bool("qk_layernorm")
	a.PositionEmbedding = r.str("position_embedding_type")
	a.RotaryPercent = r.float("rotary_percent")
	a.RotaryBase = r.float("rotary_base")
	a.ShareEmbeddings = r.bool("share_embeddings_and_output_weights")
	a.EmbeddingScaling = scalesEmbeddings(c.Class)
	if isSSM(c.Class) {
		r.ssmArch(&a)
	} else {
		a.LayerSpec = r.layerSpec()
	}
	a.Experts = r.optInt("num_moe_experts", 0)
	if a.Experts > 0 {
		a.MoEFFN = r.optInt("moe_ffn_hidden_size", a.FFN)
		a.RouterTopK = r.int("moe_router_topk")
		a.RouterExpertBias = r.bool("moe_router_enable_expert_bias")
		a.SharedExpertFFN = r.optInt("moe_shared_expert_intermediate_size", 0)
		a.MoELayerFreq = r.moeLayerFreq()
	}
	if !isSSM(c.Class) {
		// SSMConfig sizes the embedding from the tokenizer only
		// (NemotronHConfigBase's vocab_size is read by its importers).
		a.VocabSize = r.optInt("vocab_size", 0)
	}
	a.MakeVocabDivisibleBy = r.int("make_vocab_size_divisible_by")
	if r.err != nil {
		return Arch{}, r.err
	}
	return a, a.validate()
}

func (a Arch) validate() error {
	pos := func(name string, v int) error {
		if v <= 0 {
			return fmt.Errorf("%s must be positive, got %d", name, v)
		}
		return nil
	}
	for _, f := range []struct {
		n string
		v int
	}{
		{"num_layers", a.NumLayers}, {"hidden_size", a.Hidden}, {"ffn_hidden_size", a.FFN},
		{"num_attention_heads", a.Heads}, {"num_query_groups", a.Groups}, {"kv_channels", a.KVChannels},
		{"seq_length", a.SeqLength}, {"make_vocab_size_divisible_by", a.MakeVocabDivisibleBy},
	} {
		if err := pos(f.n, f.v); err != nil {
			return err
		}
	}
	if a.Heads%a.Groups != 0 {
		return fmt.Errorf("num_attention_heads (%d) is not a multiple of num_query_groups (%d)", a.Heads, a.Groups)
	}
	if a.Normalization != "LayerNorm" && a.Normalization != "RMSNorm" {
		return fmt.Errorf("normalization %q: Megatron-Core supports LayerNorm and RMSNorm", a.Normalization)
	}
	if a.SharedExpertFFN > 0 && a.AddBiasLinear {
		return fmt.Errorf("shared experts with linear biases: Megatron-Core's SharedExpertMLP has none")
	}
	if a.LayerSpec == FullTELayer && (a.Normalization != "LayerNorm" || a.Experts > 0) {
		return fmt.Errorf("the full TransformerEngine layer (%s) builds LayerNorm and a dense MLP, not %s with %d experts: Megatron-Core's FusedLayerNorm, its final norm, asserts LayerNorm", fullTESpec, a.Normalization, a.Experts)
	}
	if a.LayerSpec == Gemma2Layer && a.Experts > 0 {
		return fmt.Errorf("the Gemma 2 layer spec has a dense MLP, not %d experts", a.Experts)
	}
	if a.Pattern != "" || a.Mamba != (Mamba{}) {
		if err := a.validateSSM(); err != nil {
			return err
		}
	}
	if a.VocabSize < 0 {
		return fmt.Errorf("vocab_size must be positive, got %d", a.VocabSize)
	}
	if a.Experts < 0 || (a.Experts > 0 && (a.MoEFFN <= 0 || a.RouterTopK <= 0 || a.RouterTopK > a.Experts)) {
		return fmt.Errorf("invalid mixture of experts: %d experts, ffn %d, top-k %d", a.Experts, a.MoEFFN, a.RouterTopK)
	}
	// Sizes beyond this are not models but mistakes, and would overflow
	// shape arithmetic.
	const limit = 1 << 24
	for _, v := range []int{a.NumLayers, a.Hidden, a.FFN, a.Heads, a.KVChannels, a.Experts, a.MoEFFN, a.SeqLength, a.VocabSize} {
		if v > limit {
			return fmt.Errorf("architecture size %d is beyond any real model", v)
		}
	}
	// The manifest lists an object per layer (and expert): bound them
	// before anything is allocated.
	if a.NumLayers > 1<<12 || a.Experts > 1<<12 || a.NumLayers*max(a.Experts, 1) > 1<<20 {
		return fmt.Errorf("%d layers of %d experts is beyond any real model", a.NumLayers, a.Experts)
	}
	return nil
}

// reader reads typed values from a config, keeping the first error.
type reader struct {
	c   *Config
	err error
}

func (r *reader) value(name string) (any, bool) {
	v, ok := r.c.Value(name)
	if !ok && r.err == nil {
		r.err = fmt.Errorf("%s: field %s is not set", r.c.Class.Name(), name)
	}
	return v, ok
}

func (r *reader) fail(name string, v any, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: field %s is %v (%T), want %s", r.c.Class.Name(), name, v, v, want)
	}
}

func (r *reader) int(name string) int {
	v, _ := r.value(name)
	n, ok := toInt(v)
	if !ok {
		r.fail(name, v, "an integer")
	}
	return n
}

// optInt returns def when the field is None.
func (r *reader) optInt(name string, def int) int {
	v, _ := r.value(name)
	if v == nil {
		return def
	}
	n, ok := toInt(v)
	if !ok {
		r.fail(name, v, "an integer or None")
	}
	return n
}

func (r *reader) float(name string) float64 {
	v, _ := r.value(name)
	f, ok := toFloat(v)
	if !ok {
		r.fail(name, v, "a number")
	}
	return f
}

func (r *reader) bool(name string) bool { return typed[bool](r, name, "a bool") }

func (r *reader) str(name string) string { return typed[string](r, name, "a string") }

func (r *reader) ref(name string) fiddle.Ref { return typed[fiddle.Ref](r, name, "a Python function") }

// typed returns the field name when it holds a T, and otherwise records
// that it should have held want.
func typed[T any](r *reader, name, want string) T {
	v, _ := r.value(name)
	x, ok := v.(T)
	if !ok {
		r.fail(name, v, want)
	}
	return x
}

// moeLayerFreq returns moe_layer_freq when it is an int (1: every layer is
// a MoE layer), and 0 for a list pattern.
func (r *reader) moeLayerFreq() int {
	v, _ := r.value("moe_layer_freq")
	if n, ok := toInt(v); ok {
		return n
	}
	return 0
}

// toInt accepts the integer forms a decoded YAML or a config holds.
func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		if x < math.MinInt32 || x > math.MaxInt32 {
			return 0, false
		}
		return int(x), true
	case uint64:
		if x > math.MaxInt32 {
			return 0, false
		}
		return int(x), true
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > math.MaxInt32 {
			return 0, false
		}
		return int(x), true
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// ActivationName names the activation function: "silu", "relu",
// "squared_relu", "gelu" (the exact, erf form) or "openai_gelu" (the tanh
// approximation); "" for any other function.
func (a Arch) ActivationName() string {
	same := func(r fiddle.Ref) bool { return a.Activation.Module == r.Module && a.Activation.Name == r.Name }
	switch {
	case same(silu):
		return "silu"
	case same(relu):
		return "relu"
	case same(squaredReLU):
		return "squared_relu"
	case same(gelu), same(fiddle.Class("torch.nn.functional", "gelu")):
		return "gelu"
	case same(openAIGelu):
		return "openai_gelu"
	}
	return ""
}

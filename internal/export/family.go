package export

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/models"
)

// family is one Hugging Face model class export writes: the config.json it
// describes the source with, and the name map and transforms of its
// tensors. Each lives in its own file.
type family struct {
	Architecture string // e.g. "LlamaForCausalLM"
	ModelType    string // config.json model_type, e.g. "llama"
	// fits returns nil when the family computes what the source computes,
	// else why not.
	fits func(s *Source) error
	// config returns the family's config.json fields (the common ones are
	// added by the caller).
	config func(s *Source) (map[string]any, error)
	// tensors maps every source tensor.
	tensors func(m *mapper, s *Source, vocab int64)
	// handled are the config fields, beyond the architecture, that config
	// expresses; every other field that changes the network must keep its
	// neutral value.
	handled []string
	// embeddingScaling and layerSpec are what the class computes beyond
	// the config fields; a source that differs in either does not fit.
	embeddingScaling bool
	layerSpec        models.LayerSpec
	// hybrid: the class is a Mamba hybrid's (the source has a layer
	// pattern); the others are GPT models.
	hybrid bool
}

// families in the order they are tried: the first that fits is chosen.
func families() []*family {
	return []*family{llama(), mistral(), mixtral(), qwen2(), nemotron(), gptBigCode(), starcoder2(), gemma(), gemma2(), glm(), nemotronH()}
}

// neutral are the config fields (beyond models.Arch) that change what the
// network computes, with the value under which they change nothing. A
// source with another value exports only to a family that expresses it.
var neutral = []struct {
	field string
	value any
}{
	{"rotary_interleaved", false},
	{"window_size", nil},
	{"seq_len_interpolation_factor", nil},
	{"scale_factor", nil}, // Llama31Config's RoPE scaling
	{"apply_residual_connection_post_layernorm", false},
	{"multi_latent_attention", false},
	{"softmax_scale", nil},
	{"mtp_num_layers", nil},
	{"no_rope_freq", nil},
	{"moe_router_pre_softmax", false},
	{"moe_router_topk_scaling_factor", nil},
	{"moe_router_score_function", "softmax"},
	{"moe_router_num_groups", nil},
	{"moe_router_group_topk", nil},
	{"moe_shared_expert_intermediate_size", nil},
	{"moe_layer_freq", 1},
}

// pick returns the family that expresses s, or an error saying, for each
// candidate, why it does not.
func pick(s *Source) (*family, error) {
	var why []string
	for _, f := range families() {
		hybrid := s.Arch.Pattern != ""
		if hybrid != f.hybrid {
			continue // a GPT class for a hybrid, or the reverse: not worth a line
		}
		err := f.fits(s)
		switch {
		case err != nil:
		case s.Arch.EmbeddingScaling != f.embeddingScaling:
			err = fmt.Errorf("scales its embeddings by sqrt(hidden_size): %v, the source: %v (apply_embedding_scaling, GemmaModel)", f.embeddingScaling, s.Arch.EmbeddingScaling)
		case s.Arch.LayerSpec != f.layerSpec:
			err = fmt.Errorf("builds another transformer layer than the source's %s", s.Config.Class.Name())
		default:
			err = checkNeutral(s, f)
		}
		if err == nil {
			return f, nil
		}
		why = append(why, fmt.Sprintf("%s: %v", f.Architecture, err))
	}
	return nil, fmt.Errorf("%s (%s) matches no Hugging Face model class nemo-migrate exports to, without changing what it computes:\n  %s",
		s.Path, s.Config.Class.Name(), strings.Join(why, "\n  "))
}

func checkNeutral(s *Source, f *family) error {
	for _, n := range neutral {
		if slices.Contains(f.handled, n.field) {
			continue
		}
		v, ok := s.Config.Value(n.field)
		if !ok || models.SameValue(v, n.value) {
			continue
		}
		if n.field == "moe_layer_freq" && s.Arch.Experts == 0 {
			continue
		}
		return fmt.Errorf("%s is %v, which it does not express", n.field, describe(v))
	}
	return nil
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case float64:
		return v, true
	case bool:
		return 0, false
	}
	return 0, false
}

func describe(v any) string {
	if v == nil {
		return "None"
	}
	return fmt.Sprintf("%v", v)
}

// configFloat returns a numeric config field.
func configFloat(s *Source, field string) (float64, bool) {
	v, ok := s.Config.Value(field)
	if !ok {
		return 0, false
	}
	f, ok := number(v)
	return f, ok && !math.IsNaN(f)
}

// need collects the reasons a family does not fit.
type need struct{ miss []string }

func (n *need) want(ok bool, format string, args ...any) {
	if !ok {
		n.miss = append(n.miss, fmt.Sprintf(format, args...))
	}
}

func (n *need) err() error {
	if len(n.miss) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(n.miss, "; "))
}

// ropeDecoder are the checks shared by the rotary, bias-free decoders
// (Llama, Mistral, Mixtral).
func ropeDecoder(n *need, a models.Arch) {
	ropeDecoderBase(n, a)
	n.want(!a.AddBiasLinear && !a.AddQKVBias, "has no linear biases")
}

// ropeDecoderBase are ropeDecoder's checks but for biases.
func ropeDecoderBase(n *need, a models.Arch) {
	n.want(a.Normalization == "RMSNorm" && !a.ZeroCenteredGamma, "needs RMSNorm without a zero-centered gamma, not %s", a.Normalization)
	n.want(a.ActivationName() == "silu" && a.GatedLinearUnit, "needs SwiGLU (gated silu), not %s%s", gatedName(a), a.ActivationName())
	n.want(a.PositionEmbedding == "rope", "needs rotary position embeddings, not %s", a.PositionEmbedding)
	n.want(a.RotaryPercent == 1, "needs rotary_percent 1, not %g", a.RotaryPercent)
	n.want(!a.QKLayerNorm, "has no q/k layernorm")
}

func gatedName(a models.Arch) string {
	if a.GatedLinearUnit {
		return "gated "
	}
	return ""
}

// llamaConfig holds the config.json fields Llama, Mistral and Mixtral
// share.
func llamaConfig(s *Source) map[string]any {
	a := s.Arch
	c := map[string]any{
		"hidden_size":             a.Hidden,
		"intermediate_size":       a.FFN,
		"num_hidden_layers":       a.NumLayers,
		"num_attention_heads":     a.Heads,
		"num_key_value_heads":     a.Groups,
		"head_dim":                a.KVChannels,
		"max_position_embeddings": a.SeqLength,
		"rms_norm_eps":            a.LayerNormEpsilon,
		"rope_theta":              a.RotaryBase,
		"hidden_act":              "silu",
		"attention_bias":          false,
		"attention_dropout":       0.0,
		"tie_word_embeddings":     a.ShareEmbeddings,
	}
	if f, ok := configFloat(s, "seq_len_interpolation_factor"); ok && f != 1 {
		// Megatron divides the positions by the factor: linear RoPE
		// scaling in Hugging Face's terms.
		c["rope_scaling"] = map[string]any{"rope_type": "linear", "factor": f}
	}
	return c
}

// llamaTensors maps a Llama-layout decoder (Llama, Mistral, and Mixtral's
// attention half). mlp maps each layer's MLP.
func llamaTensors(m *mapper, s *Source, vocab int64, mlp func(m *mapper)) {
	a := s.Arch
	m.vocabRows("model.embed_tokens.weight", "embedding.word_embeddings.weight", vocab)
	m.perLayer("model.layers.%d.input_layernorm.weight", "decoder.layers.self_attention.linear_qkv.layer_norm_weight")
	m.qkv("model.layers.%d.self_attn.%s_proj.weight", "decoder.layers.self_attention.linear_qkv.weight", int64(a.Heads), int64(a.Groups), int64(a.KVChannels))
	m.perLayer("model.layers.%d.self_attn.o_proj.weight", "decoder.layers.self_attention.linear_proj.weight")
	mlp(m)
	m.whole("model.norm.weight", "decoder.final_layernorm.weight")
	if !a.ShareEmbeddings {
		m.vocabRows("lm_head.weight", "output_layer.weight", vocab)
	}
}

// denseSwiGLU maps a dense SwiGLU MLP to gate_proj, up_proj and
// down_proj, and its input norm to post_attention_layernorm.
func denseSwiGLU(m *mapper) {
	m.perLayer("model.layers.%d.post_attention_layernorm.weight", "decoder.layers.mlp.linear_fc1.layer_norm_weight")
	gatedMLP(m)
}

// gatedMLP maps a dense gated MLP (SwiGLU, GeGLU) to gate_proj, up_proj
// and down_proj.
func gatedMLP(m *mapper) {
	fc1 := m.tensor("decoder.layers.mlp.linear_fc1.weight")
	if fc1 != nil {
		for l := int64(0); l < fc1.Shape[0]; l++ {
			m.halves(fc1, []int64{l}, fmt.Sprintf("model.layers.%d.mlp.gate_proj.weight", l), fmt.Sprintf("model.layers.%d.mlp.up_proj.weight", l), fmt.Sprintf("layer %d", l))
		}
	}
	m.perLayer("model.layers.%d.mlp.down_proj.weight", "decoder.layers.mlp.linear_fc2.weight")
}

// Architectures lists the Hugging Face model classes export writes.
func Architectures() []string {
	var out []string
	for _, f := range families() {
		out = append(out, f.Architecture)
	}
	return out
}

package models

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Manifest is what a NeMo 2 model requests from a checkpoint when it loads
// (MegatronParallel.sharded_state_dict): every tensor with its global shape
// and dtype, and every object by its unique key.
type Manifest struct {
	Tensors []Tensor
	Objects []Object
}

// Tensor is one requested tensor.
type Tensor struct {
	Key   string  // e.g. "module.decoder.layers.self_attention.linear_qkv.weight"
	DType string  // as torch spells it: "bfloat16", "float32"
	Shape []int64 // global shape; layer-stacked tensors lead with num_layers
}

// ObjectKind says which kind of module an extra-state object belongs to;
// it decides what a writer may put in when the source has none.
type ObjectKind uint8

const (
	// ModuleExtraState is the extra state of a TransformerEngine module
	// (TransformerEngineBaseModule: linear layers, DotProductAttention),
	// whose set_extra_state accepts the io.BytesIO TE 1.x wrote.
	ModuleExtraState ObjectKind = iota
	// OpExtraState is the extra state of an operation-based TE norm
	// (te.pytorch.LayerNorm/RMSNorm since TE 1.13), whose
	// set_extra_state accepts None or a uint8 tensor only.
	OpExtraState
)

// Object is one requested object (a ShardedObject, such as a TE module's
// _extra_state).
type Object struct {
	// Key is the unique key "<key>/shard_<offsets>_<shape>", e.g.
	// "module.decoder.layers.self_attention.linear_qkv._extra_state/shard_0_32".
	Key  string
	Kind ObjectKind
}

// Options adjust a manifest to the loading stack.
type Options struct {
	// DType is the parameter dtype; "" means bfloat16, what NeMo's
	// converter builds (params_dtype=torch.bfloat16).
	DType string
	// Prefix starts every key; "" means "module." (NeMo 2's
	// MegatronParallel prefix).
	Prefix string
	// OmitNormExtraState leaves out the extra state of TENorm modules
	// (final_layernorm, pre_mlp_layernorm, q/k_layernorm), which only
	// TransformerEngine >= 1.13 has. NeMo 2.6 ships TE 2.7, which has it.
	OmitNormExtraState bool
}

// ErrUnsupported is returned for an architecture whose checkpoint layout
// this package does not derive.
var ErrUnsupported = errors.New("unsupported architecture")

// PaddedVocab returns vocab rounded up to a multiple of divisibleBy×tp,
// as Megatron pads the embedding (NeMo 1 _vocab_size_with_padding, NeMo 2
// nemo.lightning.base.get_vocab_size).
func PaddedVocab(vocab, divisibleBy, tp int) int {
	m := divisibleBy * tp
	if m <= 0 {
		return vocab
	}
	return (vocab + m - 1) / m * m
}

// Manifest returns the tensors and objects a NeMo 2 GPT model of this
// architecture requests when it loads, built with the TransformerEngine
// layer spec (get_gpt_layer_with_transformer_engine_spec), homogeneous
// layers (one layer-stacked key per parameter) and no model parallelism.
// tokenizerVocab is the tokenizer's vocabulary size; the embedding has
// a.VocabSize rows when set, else tokenizerVocab padded to
// MakeVocabDivisibleBy.
//
// Key names and shapes follow Megatron-Core's sharded_state_dict methods:
// GPTModel/LanguageModule (embedding, output layer; the output layer's
// _extra_state is dropped), TransformerBlock (homogeneous layers stacked on
// a leading axis, extra-state offsets (layer, num_layers)), TE linear
// wrappers (weight, bias, fused layer_norm_weight/_bias, _extra_state),
// MLP (a gated linear_fc1 stacks gate and up: 2×ffn rows) and, for MoE,
// TopKRouter and SequentialMLP/TEGroupedMLP (experts under
// mlp.experts.experts.*, stacked on an expert axis after the layer axis).
func (a Arch) Manifest(tokenizerVocab int, opt Options) (*Manifest, error) {
	if err := a.validate(); err != nil {
		return nil, err
	}
	if a.Experts > 0 && a.MoELayerFreq != 1 {
		return nil, fmt.Errorf("%w: moe_layer_freq other than 1 (non-homogeneous layers)", ErrUnsupported)
	}
	vocab := a.VocabSize
	if vocab == 0 {
		if tokenizerVocab <= 0 {
			return nil, fmt.Errorf("vocabulary size unknown: the config sets no vocab_size and no tokenizer size was given")
		}
		vocab = PaddedVocab(tokenizerVocab, a.MakeVocabDivisibleBy, 1)
	}
	dtype := opt.DType
	if dtype == "" {
		dtype = "bfloat16"
	}
	prefix := opt.Prefix
	if prefix == "" {
		prefix = "module."
	}
	m := &Manifest{}
	L, H := int64(a.NumLayers), int64(a.Hidden)
	layerNorm := a.Normalization == "LayerNorm"
	tensor := func(key string, shape ...int64) {
		m.Tensors = append(m.Tensors, Tensor{Key: prefix + key, DType: dtype, Shape: shape})
	}
	// perLayer adds the extra state of a module in every layer.
	perLayer := func(module string, kind ObjectKind) {
		for l := 0; l < a.NumLayers; l++ {
			m.Objects = append(m.Objects, Object{
				Key:  fmt.Sprintf("%s%s._extra_state/shard_%d_%d", prefix, module, l, a.NumLayers),
				Kind: kind,
			})
		}
	}
	// norm adds a TENorm's parameters (layer-stacked when layers > 0).
	norm := func(module string, width int64, stacked bool) {
		shape := []int64{width}
		if stacked {
			shape = []int64{L, width}
		}
		tensor(module+".weight", shape...)
		if layerNorm {
			tensor(module+".bias", shape...)
		}
		if opt.OmitNormExtraState {
			return
		}
		if stacked {
			perLayer(module, OpExtraState)
		} else {
			m.Objects = append(m.Objects, Object{Key: prefix + module + "._extra_state/shard_0_1", Kind: OpExtraState})
		}
	}
	// lnLinear adds a TELayerNormColumnParallelLinear: the fused input
	// norm, then the linear layer.
	lnLinear := func(module string, out, in int64, bias bool) {
		tensor(module+".layer_norm_weight", L, H)
		if layerNorm {
			tensor(module+".layer_norm_bias", L, H)
		}
		tensor(module+".weight", L, out, in)
		if bias {
			tensor(module+".bias", L, out)
		}
		perLayer(module, ModuleExtraState)
	}

	tensor("embedding.word_embeddings.weight", int64(vocab), H)
	if a.PositionEmbedding == "learned_absolute" {
		tensor("embedding.position_embeddings.weight", int64(a.SeqLength), H)
	}
	if a.Pattern != "" {
		a.ssmManifest(m, prefix, dtype, opt.OmitNormExtraState)
		if !a.ShareEmbeddings {
			tensor("output_layer.weight", int64(vocab), H)
		}
		return m, nil
	}

	if a.LayerSpec == FullTELayer {
		a.fullTEManifest(m, prefix, dtype)
		if !a.ShareEmbeddings {
			tensor("output_layer.weight", int64(vocab), H)
		}
		return m, nil
	}

	const layer = "decoder.layers."
	heads, groups, kv := int64(a.Heads), int64(a.Groups), int64(a.KVChannels)
	lnLinear(layer+"self_attention.linear_qkv", (heads+2*groups)*kv, H, a.AddBiasLinear || a.AddQKVBias)
	if a.QKLayerNorm {
		norm(layer+"self_attention.q_layernorm", kv, true)
		norm(layer+"self_attention.k_layernorm", kv, true)
	}
	if a.LayerSpec != Gemma2Layer { // Gemma 2's attention is not a TE module
		perLayer(layer+"self_attention.core_attention", ModuleExtraState)
	}
	tensor(layer+"self_attention.linear_proj.weight", L, H, heads*kv)
	if a.AddBiasLinear {
		tensor(layer+"self_attention.linear_proj.bias", L, H)
	}
	// Gemma 2's TERowParallelLinearLayerNorm: its TENorm is a submodule,
	// in the linear layer's state dict.
	postNorm := func(module string) {
		if a.LayerSpec == Gemma2Layer {
			norm(module+".post_layernorm", H, true)
		}
	}
	postNorm(layer + "self_attention.linear_proj")
	perLayer(layer+"self_attention.linear_proj", ModuleExtraState)

	glu := int64(1)
	if a.GatedLinearUnit {
		glu = 2
	}
	if a.Experts == 0 {
		F := int64(a.FFN)
		lnLinear(layer+"mlp.linear_fc1", glu*F, H, a.AddBiasLinear)
		tensor(layer+"mlp.linear_fc2.weight", L, H, F)
		if a.AddBiasLinear {
			tensor(layer+"mlp.linear_fc2.bias", L, H)
		}
		postNorm(layer + "mlp.linear_fc2")
		perLayer(layer+"mlp.linear_fc2", ModuleExtraState)
	} else {
		E, F := int64(a.Experts), int64(a.MoEFFN)
		norm(layer+"pre_mlp_layernorm", H, true)
		tensor(layer+"mlp.router.weight", L, E, H)
		if a.RouterExpertBias {
			m.Tensors = append(m.Tensors, Tensor{Key: prefix + layer + "mlp.router.expert_bias", DType: "float32", Shape: []int64{L, E}})
		}
		experts := func(module string) {
			for l := 0; l < a.NumLayers; l++ {
				for e := 0; e < a.Experts; e++ {
					m.Objects = append(m.Objects, Object{
						Key:  fmt.Sprintf("%s%s._extra_state/shard_%d.%d_%d.%d", prefix, module, l, e, a.NumLayers, a.Experts),
						Kind: ModuleExtraState,
					})
				}
			}
		}
		const ex = layer + "mlp.experts.experts."
		tensor(ex+"linear_fc1.weight", L, E, glu*F, H)
		if a.AddBiasLinear {
			tensor(ex+"linear_fc1.bias", L, E, glu*F)
		}
		experts(ex + "linear_fc1")
		tensor(ex+"linear_fc2.weight", L, E, H, F)
		if a.AddBiasLinear {
			tensor(ex+"linear_fc2.bias", L, E, H)
		}
		experts(ex + "linear_fc2")
		if S := int64(a.SharedExpertFFN); S > 0 {
			// SharedExpertMLP: an MLP of TE linears without a fused norm
			// (pre_mlp_layernorm serves it too) and without biases.
			const sh = layer + "mlp.shared_experts."
			tensor(sh+"linear_fc1.weight", L, glu*S, H)
			perLayer(sh+"linear_fc1", ModuleExtraState)
			tensor(sh+"linear_fc2.weight", L, H, S)
			perLayer(sh+"linear_fc2", ModuleExtraState)
		}
	}

	norm("decoder.final_layernorm", H, false)
	if !a.ShareEmbeddings {
		tensor("output_layer.weight", int64(vocab), H)
	}
	return m, nil
}

// NumParams returns the number of parameter elements in the manifest's
// tensors.
func (m *Manifest) NumParams() int64 {
	var n int64
	for _, t := range m.Tensors {
		p := int64(1)
		for _, d := range t.Shape {
			p *= d
		}
		n += p
	}
	return n
}

// Tensor returns the tensor with key, if requested.
func (m *Manifest) Tensor(key string) (Tensor, bool) {
	for _, t := range m.Tensors {
		if t.Key == key {
			return t, true
		}
	}
	return Tensor{}, false
}

// formatShape writes a shape as Python prints a torch.Size's tuple:
// (32, 4096).
func formatShape(s []int64) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.FormatInt(d, 10)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

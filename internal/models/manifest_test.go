package models

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func manifestFor(t *testing.T, id string, vocab int, opt Options) *Manifest {
	t.Helper()
	m, err := Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewConfig(m.Config).Arch()
	if err != nil {
		t.Fatal(err)
	}
	man, err := a.Manifest(vocab, opt)
	if err != nil {
		t.Fatal(err)
	}
	return man
}

// shapes maps each tensor key (without "module.") to its shape.
func shapes(m *Manifest) map[string]string {
	out := map[string]string{}
	for _, t := range m.Tensors {
		out[strings.TrimPrefix(t.Key, "module.")] = fmt.Sprint(t.Shape)
	}
	return out
}

// The expected manifests are worked out by hand from the published model
// sizes; the parameter counts are the published totals (Llama-3-8B
// 8,030,261,248; Mixtral-8x7B 46,702,792,704; Nemotron-4-15B 15.6B).
func TestManifestSeedModels(t *testing.T) {
	for _, tc := range []struct {
		id      string
		vocab   int
		tensors map[string]string
		objects int
		params  int64
	}{
		{
			id: "meta-llama/Meta-Llama-3-8B", vocab: 128256,
			tensors: map[string]string{
				"embedding.word_embeddings.weight":                           "[128256 4096]",
				"decoder.layers.self_attention.linear_qkv.layer_norm_weight": "[32 4096]",
				"decoder.layers.self_attention.linear_qkv.weight":            "[32 6144 4096]",
				"decoder.layers.self_attention.linear_proj.weight":           "[32 4096 4096]",
				"decoder.layers.mlp.linear_fc1.layer_norm_weight":            "[32 4096]",
				"decoder.layers.mlp.linear_fc1.weight":                       "[32 28672 4096]",
				"decoder.layers.mlp.linear_fc2.weight":                       "[32 4096 14336]",
				"decoder.final_layernorm.weight":                             "[4096]",
				"output_layer.weight":                                        "[128256 4096]",
			},
			objects: 5*32 + 1,
			params:  8030261248,
		},
		{
			id: "mistralai/Mixtral-8x7B-v0.1", vocab: 32000,
			tensors: map[string]string{
				"embedding.word_embeddings.weight":                           "[32000 4096]",
				"decoder.layers.self_attention.linear_qkv.layer_norm_weight": "[32 4096]",
				"decoder.layers.self_attention.linear_qkv.weight":            "[32 6144 4096]",
				"decoder.layers.self_attention.linear_proj.weight":           "[32 4096 4096]",
				"decoder.layers.pre_mlp_layernorm.weight":                    "[32 4096]",
				"decoder.layers.mlp.router.weight":                           "[32 8 4096]",
				"decoder.layers.mlp.experts.experts.linear_fc1.weight":       "[32 8 28672 4096]",
				"decoder.layers.mlp.experts.experts.linear_fc2.weight":       "[32 8 4096 14336]",
				"decoder.final_layernorm.weight":                             "[4096]",
				"output_layer.weight":                                        "[32000 4096]",
			},
			objects: 4*32 + 2*32*8 + 1,
			params:  46702792704,
		},
		{
			id: "nemotron4-15b", vocab: 256000,
			tensors: map[string]string{
				"embedding.word_embeddings.weight":                           "[256000 6144]",
				"decoder.layers.self_attention.linear_qkv.layer_norm_weight": "[32 6144]",
				"decoder.layers.self_attention.linear_qkv.layer_norm_bias":   "[32 6144]",
				"decoder.layers.self_attention.linear_qkv.weight":            "[32 8192 6144]",
				"decoder.layers.self_attention.linear_proj.weight":           "[32 6144 6144]",
				"decoder.layers.mlp.linear_fc1.layer_norm_weight":            "[32 6144]",
				"decoder.layers.mlp.linear_fc1.layer_norm_bias":              "[32 6144]",
				"decoder.layers.mlp.linear_fc1.weight":                       "[32 24576 6144]",
				"decoder.layers.mlp.linear_fc2.weight":                       "[32 6144 24576]",
				"decoder.final_layernorm.weight":                             "[6144]",
				"decoder.final_layernorm.bias":                               "[6144]",
				"output_layer.weight":                                        "[256000 6144]",
			},
			objects: 5*32 + 1,
			params:  15628775424,
		},
	} {
		t.Run(tc.id, func(t *testing.T) {
			m := manifestFor(t, tc.id, tc.vocab, Options{})
			got := shapes(m)
			if len(got) != len(tc.tensors) {
				t.Errorf("%d tensors, want %d: %v", len(got), len(tc.tensors), got)
			}
			for k, want := range tc.tensors {
				if got[k] != want {
					t.Errorf("%s: shape %s, want %s", k, got[k], want)
				}
			}
			for _, x := range m.Tensors {
				if x.DType != "bfloat16" || !strings.HasPrefix(x.Key, "module.") {
					t.Errorf("%s: dtype %s", x.Key, x.DType)
				}
			}
			if len(m.Objects) != tc.objects {
				t.Errorf("%d objects, want %d", len(m.Objects), tc.objects)
			}
			if n := m.NumParams(); n != tc.params {
				t.Errorf("%d parameters, want %d", n, tc.params)
			}
		})
	}
}

func TestManifestObjectKeys(t *testing.T) {
	m := manifestFor(t, "mistralai/Mixtral-8x7B-v0.1", 32000, Options{})
	keys := map[string]ObjectKind{}
	for _, o := range m.Objects {
		if _, dup := keys[o.Key]; dup {
			t.Errorf("duplicate object %s", o.Key)
		}
		keys[o.Key] = o.Kind
	}
	for key, kind := range map[string]ObjectKind{
		"module.decoder.layers.self_attention.linear_qkv._extra_state/shard_0_32":           ModuleExtraState,
		"module.decoder.layers.self_attention.core_attention._extra_state/shard_31_32":      ModuleExtraState,
		"module.decoder.layers.self_attention.linear_proj._extra_state/shard_5_32":          ModuleExtraState,
		"module.decoder.layers.pre_mlp_layernorm._extra_state/shard_3_32":                   OpExtraState,
		"module.decoder.layers.mlp.experts.experts.linear_fc1._extra_state/shard_3.5_32.8":  ModuleExtraState,
		"module.decoder.layers.mlp.experts.experts.linear_fc2._extra_state/shard_31.7_32.8": ModuleExtraState,
		"module.decoder.final_layernorm._extra_state/shard_0_1":                             OpExtraState,
	} {
		got, ok := keys[key]
		if !ok {
			t.Errorf("missing object %s", key)
		} else if got != kind {
			t.Errorf("%s: kind %d, want %d", key, got, kind)
		}
	}
	// Without TE >= 1.13 norm extra state.
	m = manifestFor(t, "mistralai/Mixtral-8x7B-v0.1", 32000, Options{OmitNormExtraState: true})
	if len(m.Objects) != 3*32+2*32*8 {
		t.Errorf("%d objects without norm extra state", len(m.Objects))
	}
}

// Every seed model derives a manifest, with the model's published size.
func TestManifestAllSeeds(t *testing.T) {
	billions := map[string]float64{
		"meta-llama/Llama-2-7b-hf": 6.74, "meta-llama/Llama-2-13b-hf": 13.0, "meta-llama/Llama-2-70b-hf": 69.0,
		"meta-llama/Meta-Llama-3-8B": 8.03, "meta-llama/Meta-Llama-3-70B": 70.6,
		"mistralai/Mixtral-8x7B-v0.1": 46.7, "mistralai/Mixtral-8x22B-v0.1": 140.6,
		"mistralai/Mistral-7B-v0.1": 7.24, "nvidia/nemotron-3-8b-base-4k": 8.5,
		"nemotron4-22b": 21.3, // nominally 22B
		"nemotron4-15b": 15.6, "nemotron4-340b": 341.0,
		// The presets; Gemma 2's counts include its tied embedding once.
		"google/gemma-2-2b": 2.61, "google/gemma-2-9b": 9.24, "google/gemma-2-27b": 27.2,
		"THUDM/chatglm2-6b": 6.24, "THUDM/chatglm3-6b": 6.24, "baichuan-inc/Baichuan2-7B-Base": 7.51,
		"bigcode/starcoder": 15.8, // "15.5B" on its card; its weights hold 15.8B with the untied head
		// NemotronH: the cards' nominal sizes ("This model has 56B model
		// parameters"). The 4B, pruned from the 8B, keeps the 8B's
		// untied 131072-token embeddings (0.8B) and is named below its size.
		"nemotronh8b": 8, "nemotronh47b": 47, "nemotronh56b": 56,
	}
	// The cards' attention layer counts ("combined with just four
	// Attention layers"; the 56B: 54 Mamba-2, 54 MLP, 10 attention).
	attention := map[string]int{"nemotronh4b": 4, "nemotronh8b": 4, "nemotronh47b": 5, "nemotronh56b": 10}
	for _, m := range Models() {
		man := manifestFor(t, m.ID, m.Vocab, Options{})
		got := float64(man.NumParams()) / 1e9
		if m.ID == "nemotronh4b" {
			if got < 4 || got > 4.6 {
				t.Errorf("%s: %.2fB parameters", m.ID, got)
			}
		} else if want := billions[m.ID]; got < want*0.98 || got > want*1.02 {
			t.Errorf("%s: %.2fB parameters, published %.2fB", m.ID, got, want)
		}
		if n, ok := attention[m.ID]; ok {
			qkv := 0
			for _, x := range man.Tensors {
				if strings.HasSuffix(x.Key, "linear_qkv.weight") {
					qkv++
				}
			}
			if qkv != n {
				t.Errorf("%s: %d attention layers, the card says %d", m.ID, qkv, n)
			}
		}
	}
}

func TestManifestVariants(t *testing.T) {
	// A GPT-2-like model: learned positions, biases, tied embeddings,
	// LayerNorm, GELU, no GQA, qk layernorm.
	_, cfg, err := Auto(map[string]any{
		"num_layers": 2, "hidden_size": 64, "ffn_hidden_size": 256, "num_attention_heads": 4,
		"encoder_seq_length": 128, "qk_layernorm": true,
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := cfg.Arch()
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Manifest(50257, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := shapes(m)
	for k, want := range map[string]string{
		"embedding.word_embeddings.weight":                 "[50304 64]",
		"embedding.position_embeddings.weight":             "[128 64]",
		"decoder.layers.self_attention.linear_qkv.weight":  "[2 192 64]",
		"decoder.layers.self_attention.linear_qkv.bias":    "[2 192]",
		"decoder.layers.self_attention.q_layernorm.weight": "[2 16]",
		"decoder.layers.self_attention.k_layernorm.bias":   "[2 16]",
		"decoder.layers.self_attention.linear_proj.bias":   "[2 64]",
		"decoder.layers.mlp.linear_fc1.weight":             "[2 256 64]",
		"decoder.layers.mlp.linear_fc1.bias":               "[2 256]",
		"decoder.layers.mlp.linear_fc1.layer_norm_bias":    "[2 64]",
		"decoder.layers.mlp.linear_fc2.bias":               "[2 64]",
		"decoder.final_layernorm.bias":                     "[64]",
	} {
		if got[k] != want {
			t.Errorf("%s: %s, want %s", k, got[k], want)
		}
	}
	if _, ok := got["output_layer.weight"]; ok {
		t.Error("tied embeddings have an output layer")
	}

	// Explicit vocab_size wins over the tokenizer's.
	if err := cfg.Set("vocab_size", 50432); err != nil {
		t.Fatal(err)
	}
	a, _ = cfg.Arch()
	m, _ = a.Manifest(50257, Options{Prefix: "model.", DType: "float32"})
	if x, ok := m.Tensor("model.embedding.word_embeddings.weight"); !ok || x.Shape[0] != 50432 || x.DType != "float32" {
		t.Errorf("embedding %+v", x)
	}

	// Unsupported layouts are errors, not wrong manifests.
	mx, _ := Lookup("mistralai/Mixtral-8x7B-v0.1")
	c := NewConfig(mx.Config)
	_ = c.Set("moe_layer_freq", 2)
	a, _ = c.Arch()
	if _, err := a.Manifest(32000, Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("moe_layer_freq 2: %v", err)
	}
	c = NewConfig(mx.Config)
	_ = c.Set("moe_router_enable_expert_bias", true)
	a, _ = c.Arch()
	m, _ = a.Manifest(32000, Options{})
	if x, ok := m.Tensor("module.decoder.layers.mlp.router.expert_bias"); !ok || x.DType != "float32" || fmt.Sprint(x.Shape) != "[32 8]" {
		t.Errorf("expert bias %+v", x)
	}
	if _, err := a.Manifest(0, Options{}); err == nil {
		t.Error("no vocabulary size accepted")
	}
}

func TestArchErrors(t *testing.T) {
	l, _ := Lookup("meta-llama/Llama-2-7b-hf")
	for _, tc := range []struct {
		field string
		value any
	}{
		{"num_layers", 0}, {"num_attention_heads", 7}, {"normalization", "BatchNorm"}, {"hidden_size", "big"},
		{"activation_func", "gelu"}, {"num_layers", 1 << 30},
	} {
		c := NewConfig(l.Config)
		if err := c.Set(tc.field, tc.value); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Arch(); err == nil {
			t.Errorf("%s=%v accepted", tc.field, tc.value)
		}
	}
}

func TestCheck(t *testing.T) {
	m := manifestFor(t, "meta-llama/Llama-2-7b-hf", 32000, Options{})
	var src Source
	for _, x := range m.Tensors {
		src.Tensors = append(src.Tensors, SourceTensor{Key: x.Key, DType: x.DType, Shape: slices.Clone(x.Shape)})
	}
	for _, o := range m.Objects {
		src.Objects = append(src.Objects, o.Key)
	}
	if d := Check(m, &src); d != nil {
		t.Fatalf("identical source: %v", d)
	}
	// Break it in every way at once.
	src.Tensors[0].Shape[0] = 32768                // embedding padded at TP 8
	src.Tensors[1].DType = "float32"               // a float32 norm
	src.Tensors = slices.Delete(src.Tensors, 2, 3) // drop linear_qkv.weight
	src.Tensors = append(src.Tensors, SourceTensor{Key: "module.decoder.layers.self_attention.linear_qkv.bias", DType: "bfloat16", Shape: []int64{32, 12288}})
	src.Objects = slices.DeleteFunc(src.Objects, func(k string) bool { return strings.Contains(k, "core_attention") })
	src.Objects = append(src.Objects, "module.decoder.layers.self_attention.linear_qkv._extra_state/shard_32_33")
	src.Objects = append(src.Objects, "module.output_layer.weight/shard_0_1") // an object where a tensor belongs
	src.Tensors = slices.DeleteFunc(src.Tensors, func(x SourceTensor) bool { return x.Key == "module.output_layer.weight" })

	diffs := Check(m, &src)
	var got []string
	for _, d := range diffs {
		got = append(got, d.String())
	}
	text := strings.Join(got, "\n")
	for _, want := range []string{
		"module.embedding.word_embeddings.weight: model expects shape (32000, 4096), checkpoint has (32768, 4096)",
		"module.decoder.layers.self_attention.linear_qkv.layer_norm_weight: model expects dtype bfloat16, checkpoint has float32",
		"missing tensor module.decoder.layers.self_attention.linear_qkv.weight bfloat16 (32, 12288, 4096)",
		"unexpected tensor module.decoder.layers.self_attention.linear_qkv.bias",
		"missing object module.decoder.layers.self_attention.core_attention._extra_state/shard_0_32",
		"missing object module.decoder.layers.self_attention.core_attention._extra_state/shard_31_32",
		"unexpected object module.decoder.layers.self_attention.linear_qkv._extra_state/shard_32_33",
		"module.output_layer.weight: model expects a tensor, checkpoint has an object",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing difference %q in:\n%s", want, text)
		}
	}
	if n := len(diffs); n != 2+1+1+32+1+1 {
		t.Errorf("%d differences, want 38:\n%s", n, text)
	}
	err := &MismatchError{Model: "meta-llama/Llama-2-7b-hf", Diffs: diffs}
	if !strings.Contains(err.Error(), "38 difference") || !strings.Contains(err.Error(), "--model_id auto") {
		t.Errorf("error text: %v", err)
	}
}

func TestNeMo2Key(t *testing.T) {
	if got := NeMo2Key("model.decoder.layers.model_x"); got != "module.decoder.layers.model_x" {
		t.Error(got)
	}
}

func TestVocabSize(t *testing.T) {
	for _, tc := range []struct {
		rows, vocab, div int
		want             int
		note             bool
		fail             bool
	}{
		{32000, 32000, 128, 32000, false, false},    // Llama-2 at TP 1: what NeMo 2 computes at TP 1
		{32768, 32000, 128, 32768, true, false},     // Llama-2 trained at TP 8
		{128256, 128256, 128, 128256, false, false}, // Llama-3 at TP 1
		{129024, 128256, 128, 129024, true, false},  // Llama-3 trained at TP 8
		{50304, 50257, 128, 50304, false, false},    // GPT-2 vocabulary padded
		{50257, 50257, 128, 50257, true, false},     // unpadded embedding
		{31999, 32000, 128, 0, false, true},         // tokenizer too big
		{256000, 0, 128, 256000, false, false},      // no tokenizer size known
		{0, 32000, 128, 0, false, true},
	} {
		got, note, err := VocabSize(tc.rows, tc.vocab, tc.div)
		if (err != nil) != tc.fail || got != tc.want || (note != "") != tc.note {
			t.Errorf("VocabSize(%d, %d, %d) = %d, %q, %v", tc.rows, tc.vocab, tc.div, got, note, err)
		}
	}
	// The note states the real padding.
	if _, note, _ := VocabSize(1024, 873, 128); !strings.Contains(note, "873 tokens") || !strings.Contains(note, "pads them to 896") {
		t.Errorf("note %q does not state 873 -> 896", note)
	}
	if PaddedVocab(32000, 128, 8) != 32768 || PaddedVocab(128256, 128, 8) != 129024 {
		t.Error("PaddedVocab")
	}
}

package models

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
	"github.com/nemo-migrate/nemo-migrate/internal/membudget"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Keys as NeMo 1's HF converters and training configs write them.
const llama2YAML = `
mcore_gpt: true
encoder_seq_length: 4096
max_position_embeddings: 4096
num_layers: 32
hidden_size: 4096
ffn_hidden_size: 11008
num_attention_heads: 32
num_query_groups: 32
init_method_std: 0.02
hidden_dropout: 0.0
attention_dropout: 0.0
kv_channels: null
apply_query_key_layer_scaling: true
normalization: rmsnorm
layernorm_epsilon: 1.0e-05
make_vocab_size_divisible_by: 128
pre_process: true
post_process: true
persist_layer_norm: true
bias: false
activation: fast-swiglu
share_embeddings_and_output_weights: false
position_embedding_type: rope
rotary_percentage: 1.0
rotary_base: 10000.0
tensor_model_parallel_size: 8
precision: bf16
`

func TestAutoCustomLlama(t *testing.T) {
	y := decode(t, strings.NewReplacer("num_layers: 32", "num_layers: 3", "hidden_size: 4096", "hidden_size: 256",
		"ffn_hidden_size: 11008", "ffn_hidden_size: 688", "num_query_groups: 32", "num_query_groups: 2",
		"rotary_base: 10000.0", "rotary_base: 500000").Replace(llama2YAML))
	m, cfg, err := Auto(y)
	if err != nil {
		t.Fatal(err)
	}
	if m.Class.Name() != "nemo.collections.llm.gpt.model.llama.LlamaModel" || m.Config.Name() != "nemo.collections.llm.gpt.model.llama.LlamaConfig" {
		t.Errorf("family %s %s", m.Class.Name(), m.Config.Name())
	}
	var explicit []string
	for _, a := range cfg.Args {
		explicit = append(explicit, a.Name)
	}
	// Sizes always; rotary_base, groups and init because they differ from
	// LlamaConfig's defaults; nothing that agrees with them.
	if got := strings.Join(explicit, ","); got != "num_layers,hidden_size,num_attention_heads,num_query_groups,ffn_hidden_size,rotary_base,seq_length" {
		t.Errorf("explicit fields %s", got)
	}
	a, err := cfg.Arch()
	if err != nil {
		t.Fatal(err)
	}
	if a.NumLayers != 3 || a.Hidden != 256 || a.FFN != 688 || a.Groups != 2 || a.KVChannels != 8 || a.RotaryBase != 500000 || !a.GatedLinearUnit {
		t.Errorf("arch %+v", a)
	}
	man, err := a.Manifest(32000, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if x, _ := man.Tensor("module.decoder.layers.self_attention.linear_qkv.weight"); len(x.Shape) != 3 || x.Shape[1] != (32+4)*8 {
		t.Errorf("qkv %v", x.Shape)
	}
	if x, _ := man.Tensor("module.decoder.layers.mlp.linear_fc1.weight"); x.Shape[1] != 2*688 {
		t.Errorf("fc1 %v", x.Shape)
	}
	// The original Llama-2 YAML cross-checks clean against auto's config.
	if w, err := CrossCheck(cfg, "auto", y); err != nil || len(w) != 0 {
		t.Errorf("CrossCheck(auto) = %v, %v", w, err)
	}
}

func TestAutoFamilies(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, config string
		check              func(t *testing.T, c *Config)
	}{
		{"llama", llama2YAML, "llama.LlamaConfig", nil},
		{"mistral", strings.Replace(llama2YAML, "num_query_groups: 32", "num_query_groups: 8", 1) + "window_size: [4096, 0]\n", "mistral.MistralConfig7B", func(t *testing.T, c *Config) {
			if c.IsSet("window_size") {
				t.Error("window_size equal to the default was set")
			}
		}},
		{"mixtral", llama2YAML + "num_moe_experts: 8\nmoe_router_topk: 2\n", "mixtral.MixtralConfig", nil},
		{"gpt moe", "num_layers: 2\nhidden_size: 64\nnum_attention_heads: 4\nencoder_seq_length: 64\nnum_moe_experts: 4\n", "base.GPTConfig", nil},
		{"nemotron", `
num_layers: 32
hidden_size: 6144
ffn_hidden_size: 24576
num_attention_heads: 48
num_query_groups: 8
encoder_seq_length: 4096
normalization: layernorm1p
activation: squared-relu
bias: false
position_embedding_type: rope
rotary_percentage: 0.5
share_embeddings_and_output_weights: false
init_method_std: 0.0134
hidden_dropout: 0.0
attention_dropout: 0.0
`, "nemotron.NemotronConfig", func(t *testing.T, c *Config) {
			if c.IsSet("layernorm_zero_centered_gamma") || c.IsSet("normalization") || c.IsSet("activation_func") {
				t.Errorf("family defaults set explicitly: %v", c.Args)
			}
			if v, _ := c.Value("kv_channels"); v != nil {
				// NemotronConfig's default is 128; the YAML says None.
				t.Errorf("kv_channels %v", v)
			}
		}},
		{"gpt", "num_layers: 2\nhidden_size: 64\nnum_attention_heads: 4\nencoder_seq_length: 64\nactivation: gelu\n", "base.GPTConfig", func(t *testing.T, c *Config) {
			if v, _ := c.Value("activation_func"); v != gelu {
				t.Errorf("activation %v", v)
			}
		}},
		{"gpt relu glu", "num_layers: 2\nhidden_size: 64\nnum_attention_heads: 4\nencoder_seq_length: 64\nactivation: reglu\nnormalization: rmsnorm\n", "base.GPTConfig", func(t *testing.T, c *Config) {
			if v, _ := c.Value("gated_linear_unit"); v != true {
				t.Error("reglu is gated")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cfg, err := Auto(decode(t, tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(cfg.Class.Name(), tc.config) {
				t.Errorf("config %s, want %s", cfg.Class.Name(), tc.config)
			}
			if tc.check != nil {
				tc.check(t, cfg)
			}
		})
	}
}

func TestAutoErrors(t *testing.T) {
	for _, y := range []string{
		"hidden_size: 64\nnum_attention_heads: 4\nencoder_seq_length: 64\n", // no layers
		"num_layers: 2\nhidden_size: 64\nnum_attention_heads: 4\n",          // no sequence length
		"num_layers: 2\nhidden_size: 64\nnum_attention_heads: 4\nencoder_seq_length: 64\nactivation: approx-gelu\n",
		"num_layers: 2\nhidden_size: 64\nnum_attention_heads: 4\nencoder_seq_length: 64\nposition_embedding_type: alibi\n",
		"num_layers: 2\nhidden_size: 64\nnum_attention_heads: 4\nencoder_seq_length: 64\nnormalization: batchnorm\n",
		"num_layers: -2\nhidden_size: 64\nnum_attention_heads: 4\nencoder_seq_length: 64\n",
		"num_layers: 2\nhidden_size: 64\nnum_attention_heads: 3\nencoder_seq_length: 64\nnum_query_groups: 2\n",
		"num_layers: 2\nhidden_size: 64\nnum_attention_heads: 4\nencoder_seq_length: 64\nbias: maybe\n",
	} {
		if _, _, err := Auto(decode(t, y)); err == nil {
			t.Errorf("accepted:\n%s", y)
		}
	}
}

func TestCrossCheck(t *testing.T) {
	l2, _ := Lookup("meta-llama/Llama-2-7b-hf")
	y := decode(t, llama2YAML)
	if w, err := CrossCheck(NewConfig(l2.Config), l2.ID, y); err != nil || len(w) != 0 {
		t.Fatalf("Llama-2-7b against its own YAML: %v %v", w, err)
	}
	// The same YAML against Llama-3-8B: every differing field is named.
	l3, _ := Lookup("meta-llama/Meta-Llama-3-8B")
	w, err := CrossCheck(NewConfig(l3.Config), l3.ID, y)
	var me *ArchMismatchError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v", err)
	}
	fields := map[string]FieldMismatch{}
	for _, f := range me.Fields {
		fields[f.Field] = f
	}
	if f := fields["ffn_hidden_size"]; f.YAML != "11008" || f.Config != "14336" {
		t.Errorf("ffn_hidden_size %+v", f)
	}
	if f := fields["num_query_groups"]; f.YAML != "32" || f.Config != "8" {
		t.Errorf("num_query_groups %+v", f)
	}
	if _, ok := fields["rotary_base"]; !ok {
		t.Error("rotary_base not reported")
	}
	if len(me.Fields) != 3 {
		t.Errorf("fields %+v", me.Fields)
	}
	if len(w) != 1 || !strings.Contains(w[0], "8192") {
		t.Errorf("sequence length warning %v", w)
	}
	if msg := err.Error(); !strings.Contains(msg, "--model_id auto") || !strings.Contains(msg, "ffn_hidden_size: model_config.yaml has 11008, meta-llama/Meta-Llama-3-8B has 14336") {
		t.Errorf("message: %s", msg)
	}

	// Nemotron: layernorm1p and squared-relu match the Nemotron configs,
	// not Llama's.
	nemo, _ := Lookup("nemotron4-15b")
	ny := decode(t, "num_layers: 32\nhidden_size: 6144\nffn_hidden_size: 24576\nnum_attention_heads: 48\nnum_query_groups: 8\nencoder_seq_length: 4096\nnormalization: layernorm1p\nactivation: squared-relu\nbias: false\nposition_embedding_type: rope\nrotary_percentage: 0.5\nshare_embeddings_and_output_weights: false\n")
	if _, err := CrossCheck(NewConfig(nemo.Config), nemo.ID, ny); err != nil {
		t.Errorf("nemotron4-15b: %v", err)
	}
	_, err = CrossCheck(NewConfig(l2.Config), l2.ID, ny)
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "normalization: model_config.yaml has layernorm1p") ||
		!strings.Contains(err.Error(), "activation: model_config.yaml has nemo.collections.llm.fn.activation.squared_relu") {
		t.Errorf("nemotron YAML against Llama: %v", err)
	}
	// Learned positions make the sequence length part of the weights.
	gy := decode(t, "num_layers: 2\nhidden_size: 64\nnum_attention_heads: 4\nencoder_seq_length: 64\n")
	_, gcfg, _ := Auto(gy)
	gy["encoder_seq_length"] = 128
	if _, err := CrossCheck(gcfg, "auto", gy); err == nil || !strings.Contains(err.Error(), "encoder_seq_length") {
		t.Errorf("learned positions: %v", err)
	}
}

func TestConverterArgs(t *testing.T) {
	l3, _ := Lookup("meta-llama/Meta-Llama-3-8B")
	for _, tc := range []struct {
		yaml string
		want string // explicit args
		fail bool
	}{
		{"precision: bf16\n", "bf16=true params_dtype=torch.bfloat16", false},
		{"fp8: false\nfp8_e4m3: false\n", "bf16=true params_dtype=torch.bfloat16 fp8=<nil>", false},
		{"fp8: true\nfp8_hybrid: true\nfp8_margin: 0\nfp8_interval: 1\nfp8_amax_history_len: 1024\nfp8_amax_compute_algo: max\n",
			"bf16=true params_dtype=torch.bfloat16 fp8=hybrid fp8_margin=0 fp8_interval=1 fp8_amax_history_len=1024 fp8_amax_compute_algo=max", false},
		{"fp8: true\nfp8_e4m3: true\n", "bf16=true params_dtype=torch.bfloat16 fp8=e4m3", false},
		{"fp8: true\n", "", true},
		{"fp8: maybe\n", "", true},
		{"fp8_amax_compute_algo: mean\n", "", true},
	} {
		c := NewConfig(l3.Config)
		err := ConverterArgs(c, decode(t, tc.yaml))
		if (err != nil) != tc.fail {
			t.Errorf("%q: err %v", tc.yaml, err)
			continue
		}
		if tc.fail {
			continue
		}
		var parts []string
		for _, a := range c.Args {
			v := a.Value
			if r, ok := v.(fiddle.Ref); ok {
				v = r.String()
			}
			parts = append(parts, a.Name+"="+strings.TrimSpace(strings.ReplaceAll(fmtValue(v), "\n", "")))
		}
		if got := strings.Join(parts, " "); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.yaml, got, tc.want)
		}
	}
}

func fmtValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "<nil>"
	case bool:
		if v {
			return "true"
		}
		return "false"
	case string:
		return v
	case int:
		return itoa(v)
	}
	return "?"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	if neg {
		return "-" + string(b)
	}
	return string(b)
}

// FuzzAuto feeds decoded model_config.yaml documents to Auto, CrossCheck
// and the manifest: any input must end in a config or an error, never a
// panic.
func FuzzAuto(f *testing.F) {
	f.Add(llama2YAML)
	f.Add(llama2YAML + "num_moe_experts: 8\nmoe_router_topk: 2\n")
	f.Add("num_layers: 32\nhidden_size: 6144\nffn_hidden_size: 24576\nnum_attention_heads: 48\nnum_query_groups: 8\nencoder_seq_length: 4096\nnormalization: layernorm1p\nactivation: squared-relu\nbias: false\nposition_embedding_type: rope\n")
	f.Add("num_layers: 2\nhidden_size: 64\nnum_attention_heads: 4\nencoder_seq_length: 64\nwindow_size: [1, x]\nfp8: true\n")
	f.Add("num_layers: 1e400\nhidden_size: -0\nnum_attention_heads: .inf\nencoder_seq_length: [1]\n")
	f.Add(nemotronH8bYAML)
	f.Add("target: x.MegatronMambaModel\nnum_layers: 3\nhidden_size: 32\nnum_attention_heads: 2\nencoder_seq_length: 16\nhybrid_override_pattern: M*-\nmamba_head_dim: 8\nmamba_state_dim: 4\nmamba_ssm_ngroups: 2\nmamba_num_heads: 4\n")
	f.Add("name: megatron_gpt_full_te_layer_autocast\nnum_layers: 2\nhidden_size: 64\nnum_attention_heads: 4\nencoder_seq_length: 64\nnormalization: layernorm\n")
	l2, _ := Lookup("meta-llama/Llama-2-7b-hf")
	f.Fuzz(func(t *testing.T, doc string) {
		defer membudget.Check(t, len(doc))()
		var y map[string]any
		if yaml.Unmarshal([]byte(doc), &y) != nil {
			return
		}
		_, _ = CrossCheck(NewConfig(l2.Config), l2.ID, y)
		_, cfg, err := Auto(y)
		if err != nil {
			return
		}
		if err := ConverterArgs(cfg, y); err != nil {
			return
		}
		a, err := cfg.Arch()
		if err != nil {
			t.Fatalf("Auto returned a config without a valid architecture: %v", err)
		}
		if a.NumLayers*a.Hidden > 1<<20 || a.Experts*a.NumLayers > 1<<12 {
			return // keep manifests small
		}
		if _, err := a.Manifest(1000, Options{}); err != nil && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("manifest: %v", err)
		}
	})
}

// gemma2YAML is the model section NeMo 1's convert_gemma2_hf_to_nemo.py
// writes for gemma-2-9b (megatron_gemma2_config.yaml with the HF values).
const gemma2YAML = `
mcore_gpt: true
name: megatron_gemma2
encoder_seq_length: 8192
max_position_embeddings: 8192
num_layers: 42
hidden_size: 3584
ffn_hidden_size: 14336
num_attention_heads: 16
num_query_groups: 8
kv_channels: 256
init_method_std: 0.02
normalization: rmsnorm
layernorm_zero_centered_gamma: true
layernorm_epsilon: 1.0e-06
activation: fast-geglu
openai_gelu: true
bias: false
position_embedding_type: rope
rotary_percentage: 1.0
apply_embedding_scaling: true
share_embeddings_and_output_weights: true
window_size: [4096, 0]
bias_activation_fusion: false
mcore_customization_config:
  query_pre_attn_scalar: 256
  attn_logit_softcapping: 50.0
  final_logit_softcapping: 30.0
`

// TestGemma2: the Gemma 2 layer spec becomes Gemma2Config with the
// soft-capping values and query scale of mcore_customization_config, and
// the model loads the post norms and no attention extra state.
func TestGemma2(t *testing.T) {
	m, cfg, err := Auto(decode(t, gemma2YAML))
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Name() != gemma2Module+"Gemma2Config" || m.Class.Name() != gemma2Module+"Gemma2Model" {
		t.Fatalf("auto chose %s, %s", m.Class.Name(), m.Config.Name())
	}
	for name, want := range map[string]any{
		"query_pre_attn_scalar": 256, "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0,
		"layernorm_zero_centered_gamma": true, "layernorm_epsilon": 1e-6, "kv_channels": 256,
		"activation_func": openAIGelu, "gated_linear_unit": true, "share_embeddings_and_output_weights": true,
	} {
		if v, _ := cfg.Value(name); !sameValue(v, want) {
			t.Errorf("%s = %v, want %v", name, describeValue(v), describeValue(want))
		}
	}
	if w, _ := cfg.Value("window_size"); describeValue(w) != "[4096 0]" {
		t.Errorf("window_size = %#v", w)
	} else if _, tuple := w.(*fiddle.Tuple); !tuple {
		t.Errorf("window_size is %T, want a tuple as Gemma2Config declares it", w)
	}
	a, err := cfg.Arch()
	if err != nil || a.LayerSpec != Gemma2Layer || !a.EmbeddingScaling {
		t.Fatalf("arch %+v, %v", a, err)
	}
	man, err := a.Manifest(256000, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"self_attention.linear_proj.post_layernorm.weight", "mlp.linear_fc2.post_layernorm.weight"} {
		if tt, ok := man.Tensor("module.decoder.layers." + k); !ok || fmt.Sprint(tt.Shape) != "[42 3584]" {
			t.Errorf("%s: %v %v", k, tt.Shape, ok)
		}
	}
	for _, o := range man.Objects {
		if strings.Contains(o.Key, "core_attention") {
			t.Errorf("Gemma 2's unfused attention has no extra state, manifest has %s", o.Key)
			break
		}
	}

	// Without what the spec reads, or with a setting it does not, refused.
	for bad, want := range map[string]string{
		strings.Replace(gemma2YAML, "  query_pre_attn_scalar: 256\n", "", 1):                              "mcore_customization_config.query_pre_attn_scalar, which is missing",
		strings.Replace(gemma2YAML, "apply_embedding_scaling: true", "apply_embedding_scaling: false", 1): "always scales the embeddings",
		gemma2YAML + "  hidden_dropout: 0.5\n":                                                            "mcore_customization_config.hidden_dropout",
		strings.Replace(gemma2YAML, "name: megatron_gemma2\n", "", 1):                                     "only for the Gemma 2 layer spec",
	} {
		if _, _, err := Auto(decode(t, bad)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error saying %q, got %v", want, err)
		}
	}
	// A Gemma (1) config is not a Gemma 2 one.
	g1 := strings.Replace(strings.Replace(gemma2YAML, "name: megatron_gemma2\n", "", 1), "mcore_customization_config:\n  query_pre_attn_scalar: 256\n  attn_logit_softcapping: 50.0\n  final_logit_softcapping: 30.0\n", "", 1)
	_, g1cfg, err := Auto(decode(t, g1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CrossCheck(g1cfg, "gemma", decode(t, gemma2YAML)); err == nil || !strings.Contains(err.Error(), "query_pre_attn_scalar") || !strings.Contains(err.Error(), "layer spec") {
		t.Errorf("Gemma 2 source against a Gemma config: %v", err)
	}
}

// chatglmYAML is the model section convert_chatglm_hf_to_nemo.py writes
// for chatglm3-6b (megatron_chatglm_config.yaml with the HF values).
const chatglmYAML = `
mcore_gpt: true
encoder_seq_length: 8192
max_position_embeddings: 8192
num_layers: 28
hidden_size: 4096
ffn_hidden_size: 13696
num_attention_heads: 32
num_query_groups: 2
kv_channels: null
init_method_std: 0.02
normalization: rmsnorm
layernorm_epsilon: 1.0e-05
activation: fast-swiglu
bias: false
qkv_bias: true
position_embedding_type: rope
rotary_percentage: 0.5
rotary_interleaved: true
share_embeddings_and_output_weights: false
override_vocab_size: 65024
bias_activation_fusion: false
`

// starcoderYAML is what convert_starcoder_hf_to_nemo.py writes for
// bigcode/starcoder on top of megatron_gpt_config.yaml.
const starcoderYAML = `
mcore_gpt: true
encoder_seq_length: 8192
max_position_embeddings: 8192
num_layers: 40
hidden_size: 6144
ffn_hidden_size: 24576
num_attention_heads: 48
num_query_groups: 1
init_method_std: 0.02
normalization: layernorm
layernorm_epsilon: 1.0e-05
activation: gelu
bias: true
position_embedding_type: learned_absolute
share_embeddings_and_output_weights: false
transformer_block_type: pre_ln
normalize_attention_scores: true
`

// TestChatGLMAndStarcoder: each maps to its own NeMo 2 class, with every
// field that changes the network as NeMo 1 built it.
func TestChatGLMAndStarcoder(t *testing.T) {
	for _, c := range []struct {
		yaml, config string
		want         map[string]any
	}{
		{chatglmYAML, chatglmModule + "ChatGLMConfig", map[string]any{
			"rotary_interleaved": true, "rotary_percent": 0.5, "add_qkv_bias": true, "add_bias_linear": false,
			"num_query_groups": 2, "kv_channels": nil, "share_embeddings_and_output_weights": false,
			"activation_func": silu, "gated_linear_unit": true, "normalization": "RMSNorm", "seq_length": 8192,
			"bias_activation_fusion": false, "make_vocab_size_divisible_by": 128, "layernorm_epsilon": 1e-5,
		}},
		{starcoderYAML, starcoderMod + "StarcoderConfig", map[string]any{
			"num_query_groups": 1, "position_embedding_type": "learned_absolute", "add_bias_linear": true,
			"activation_func": gelu, "bias_activation_fusion": true, "normalization": "LayerNorm",
			"share_embeddings_and_output_weights": false, "hidden_dropout": 0.1, "attention_dropout": 0.1,
			"init_method_std": 0.02, "seq_length": 8192,
		}},
	} {
		m, cfg, err := Auto(decode(t, c.yaml))
		if err != nil {
			t.Fatal(err)
		}
		if m.Config.Name() != c.config {
			t.Errorf("auto chose %s, want %s", m.Config.Name(), c.config)
			continue
		}
		for name, want := range c.want {
			if v, _ := cfg.Value(name); !sameValue(v, want) {
				t.Errorf("%s.%s = %v, want %v", c.config, name, describeValue(v), describeValue(want))
			}
		}
		a, err := cfg.Arch()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Manifest(65024, Options{}); err != nil {
			t.Errorf("%s: %v", c.config, err)
		}
	}
}

// TestPresetIDs: a Gemma 2 checkpoint converts with its preset id, and one
// whose norms are not zero-centered (NeMo 1's Gemma convention) is refused
// by it, where the preset would count the 1 twice.
func TestPresetIDs(t *testing.T) {
	m, err := Lookup("google/gemma-2-9b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CrossCheck(NewConfig(m.Config), m.ID, decode(t, gemma2YAML)); err != nil {
		t.Errorf("gemma-2-9b's own YAML: %v", err)
	}
	notZC := strings.Replace(gemma2YAML, "layernorm_zero_centered_gamma: true", "layernorm_zero_centered_gamma: false", 1)
	if _, err := CrossCheck(NewConfig(m.Config), m.ID, decode(t, notZC)); err == nil || !strings.Contains(err.Error(), "layernorm_zero_centered_gamma: model_config.yaml has false") {
		t.Errorf("norms stored as 1 + w against %s: %v", m.ID, err)
	}
	b, _ := Lookup("baichuan-inc/Baichuan2-7B-Base")
	// Baichuan2-7B is Llama 2 7B's architecture with a smaller epsilon.
	baichuan := strings.Replace(llama2YAML, "layernorm_epsilon: 1.0e-05", "layernorm_epsilon: 1.0e-06", 1)
	if baichuan == llama2YAML {
		t.Fatal("llama2YAML has no layernorm_epsilon to change")
	}
	if _, err := CrossCheck(NewConfig(b.Config), b.ID, decode(t, baichuan)); err != nil {
		t.Errorf("Baichuan2-7B: %v", err)
	}
}

// TestFusionOnlyWhereMegatronCan: NeMo 1's default bias_activation_fusion
// (true) is carried over only where Megatron-Core has the fused kernel; a
// NeMo 2 config with it on for another activation raises in
// TransformerConfig.__post_init__.
func TestFusionOnlyWhereMegatronCan(t *testing.T) {
	for _, c := range []struct {
		activation, bias string
		want             bool
	}{
		{"fast-swiglu", "false", true},
		{"geglu", "false", true},
		{"gelu", "true", true},
		{"gelu", "false", false},
		{"squared-relu", "false", false},
		{"squared-relu", "true", false},
		{"reglu", "false", false},
	} {
		y := decode(t, strings.NewReplacer("activation: fast-swiglu", "activation: "+c.activation,
			"bias: false", "bias: "+c.bias).Replace(llama2YAML))
		_, cfg, err := Auto(y)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := cfg.Value("bias_activation_fusion"); v != c.want {
			t.Errorf("%s, bias %s: bias_activation_fusion %v, want %v", c.activation, c.bias, v, c.want)
		}
	}
	// A Mamba hybrid's squared-ReLU MLP, with NeMo 1's default.
	_, cfg, err := Auto(decode(t, nemotronH8bYAML))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := cfg.Value("bias_activation_fusion"); v != false {
		t.Errorf("hybrid: bias_activation_fusion %v", v)
	}
}

package models

import (
	"strings"
	"testing"
)

// nemotronH8bYAML is a NemotronH 8B's model_config.yaml as
// MegatronMambaModel reads it (keys of NeMo's megatron_mamba_config.yaml).
const nemotronH8bYAML = `
target: nemo.collections.nlp.models.language_modeling.megatron_mamba_model.MegatronMambaModel
mcore_gpt: true
encoder_seq_length: 8192
max_position_embeddings: 8192
position_embedding_type: rope
num_layers: 52
hybrid_override_pattern: M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-
gated_linear_unit: false
add_bias_linear: false
bias: true
num_query_groups: 8
mamba_ssm_ngroups: 8
hidden_size: 4096
ffn_hidden_size: 21504
num_attention_heads: 32
normalization: RMSNorm
layernorm_epsilon: 1e-5
activation: squared-relu
vocab_size: 131072
share_embeddings_and_output_weights: true
make_vocab_size_divisible_by: 128
`

// TestMambaAuto: auto maps a MegatronMambaModel to MambaModel/SSMConfig as
// NeMo 1 built it: the pattern and groups passed, the mixer at NeMo 1's
// Megatron-Core defaults, add_bias_linear and gated_linear_unit from
// their own keys, no position embedding and an untied output layer
// whatever the GPT keys say.
func TestMambaAuto(t *testing.T) {
	m, cfg, err := Auto(decode(t, nemotronH8bYAML))
	if err != nil {
		t.Fatal(err)
	}
	if m.Class.Name() != ssmModule+"MambaModel" || cfg.Class.Name() != ssmModule+"SSMConfig" {
		t.Fatalf("auto chose %s / %s", m.Class.Name(), cfg.Class.Name())
	}
	a, err := cfg.Arch()
	if err != nil {
		t.Fatal(err)
	}
	want := Mamba{StateDim: 128, HeadDim: 64, Groups: 8, Heads: 128}
	if a.Mamba != want || a.Mamba.Inner() != 8192 {
		t.Errorf("mixer %+v, want %+v", a.Mamba, want)
	}
	if a.Pattern != "M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-" || a.PositionEmbedding != "none" ||
		a.ShareEmbeddings || a.AddBiasLinear || a.GatedLinearUnit || a.ActivationName() != "squared_relu" {
		t.Errorf("arch %+v", a)
	}
	// The same architecture as NeMo's NemotronH 8B preset.
	n8, _ := Lookup("nemotronh8b")
	warnings, err := CrossCheck(NewConfig(n8.Config), n8.ID, decode(t, nemotronH8bYAML))
	if err != nil || len(warnings) != 0 {
		t.Errorf("cross-check against nemotronh8b: %v, %v", warnings, err)
	}
	// A NemotronH 8B manifest: the checkpoint's per-layer keys.
	man, err := a.Manifest(131072, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for key, shape := range map[string][]int64{
		"module.decoder.layers.0.mixer.in_proj.weight.z":           {8192, 4096},
		"module.decoder.layers.0.mixer.in_proj.weight.B":           {1024, 4096},
		"module.decoder.layers.0.mixer.in_proj.weight.dt":          {128, 4096},
		"module.decoder.layers.0.mixer.in_proj.layer_norm_weight":  {4096},
		"module.decoder.layers.2.mixer.conv1d.weight.x":            {8192, 1, 4},
		"module.decoder.layers.2.mixer.conv1d.bias.C":              {1024},
		"module.decoder.layers.50.mixer.A_log":                     {128},
		"module.decoder.layers.50.mixer.norm.weight":               {8192},
		"module.decoder.layers.50.mixer.out_proj.weight":           {4096, 8192},
		"module.decoder.layers.7.self_attention.linear_qkv.weight": {(32 + 2*8) * 128, 4096},
		"module.decoder.layers.51.mlp.linear_fc1.weight":           {21504, 4096},
		"module.decoder.final_norm.weight":                         {4096},
		"module.output_layer.weight":                               {131072, 4096},
	} {
		if got, ok := man.Tensor(key); !ok || formatShape(got.Shape) != formatShape(shape) {
			t.Errorf("%s: %v, %v; want %v", key, got.Shape, ok, shape)
		}
	}
	for _, key := range []string{"module.decoder.layers.0.mixer.in_proj.weight", "module.decoder.layers.1.mixer.A_log",
		"module.decoder.layers.0.mlp.linear_fc1.weight", "module.decoder.final_layernorm.weight"} {
		if _, ok := man.Tensor(key); ok {
			t.Errorf("manifest has %s", key)
		}
	}
	objects := map[string]bool{}
	for _, o := range man.Objects {
		objects[o.Key] = true
	}
	for _, key := range []string{"module.decoder.layers.0.mixer.in_proj._extra_state/shard_0_1",
		"module.decoder.layers.7.self_attention.core_attention._extra_state/shard_0_1",
		"module.decoder.layers.51.mlp.linear_fc2._extra_state/shard_0_1", "module.decoder.final_norm._extra_state/shard_0_1"} {
		if !objects[key] {
			t.Errorf("manifest lacks object %s", key)
		}
	}
}

// TestMambaCrossCheck: a differing pattern or mixer, and a GPT model
// against a hybrid id, are refused naming the field.
func TestMambaCrossCheck(t *testing.T) {
	n8, _ := Lookup("nemotronh8b")
	for _, c := range []struct{ yaml, want string }{
		{strings.Replace(nemotronH8bYAML, "M-M-M-M*-", "M-M-MM-*-", 1), "hybrid_override_pattern"},
		{nemotronH8bYAML + "mamba_state_dim: 256\n", "mamba_state_dim"},
		{strings.Replace(nemotronH8bYAML, "mamba_ssm_ngroups: 8", "mamba_ssm_ngroups: 4", 1), "mamba_ssm_ngroups"},
		{llama2YAML, "hybrid_override_pattern: model_config.yaml has none (a GPT model)"},
	} {
		_, err := CrossCheck(NewConfig(n8.Config), n8.ID, decode(t, c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v", c.want, err)
		}
	}
	// And a hybrid against a GPT id.
	ll, _ := Lookup("meta-llama/Llama-2-7b-hf")
	if _, err := CrossCheck(NewConfig(ll.Config), ll.ID, decode(t, nemotronH8bYAML)); err == nil || !strings.Contains(err.Error(), "hybrid_override_pattern") {
		t.Errorf("hybrid against %s: %v", ll.ID, err)
	}
}

// TestMambaRefusals: what a hybrid's YAML cannot mean.
func TestMambaRefusals(t *testing.T) {
	for extra, want := range map[string]string{
		"mamba_num_groups: 4":  "disagree",
		"num_moe_experts: 8":   "mixture-of-experts",
		"mamba_head_dim: 48":   "not a multiple",
		"mamba_num_heads: 100": "not a multiple of mamba_num_groups",
	} {
		y := decode(t, nemotronH8bYAML+extra+"\n")
		if _, _, err := Auto(y); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", extra, err, want)
		}
	}
	y := decode(t, strings.Replace(nemotronH8bYAML, "num_layers: 52", "num_layers: 50", 1))
	if _, _, err := Auto(y); err == nil || !strings.Contains(err.Error(), "has 52 layers, num_layers is 50") {
		t.Errorf("pattern length: %v", err)
	}
	y = decode(t, strings.Replace(nemotronH8bYAML, "M-M-M-M*", "M-M-M-ME", 1))
	if _, _, err := Auto(y); err == nil || !strings.Contains(err.Error(), `layer 7 is 'E'`) {
		t.Errorf("unknown symbol: %v", err)
	}
	// Without a pattern every layer is a Mamba layer.
	y = decode(t, strings.Replace(nemotronH8bYAML, "hybrid_override_pattern: M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-\n", "", 1))
	_, cfg, err := Auto(y)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := cfg.Arch(); err != nil || a.Pattern != strings.Repeat("M", 52) {
		t.Errorf("no pattern: %q, %v", a.Pattern, err)
	}
}

// TestSetVocabSSM: MambaModel has no vocab_size, so the divisor is chosen
// to pad the tokenizer to the stored rows.
func TestSetVocabSSM(t *testing.T) {
	c := newClasses()
	for _, tc := range []struct {
		rows, tok, wantDiv int
		note               string
	}{
		{131072, 131072, 128, ""},
		{50304, 50277, 128, "tensor parallel size 1 only"},
		{256000, 50277, 256000, "make_vocab_size_divisible_by=256000"},
		{384, 320, 128, "size 1 only"},
		{400, 320, 100, "make_vocab_size_divisible_by=100"},
	} {
		cfg := NewConfig(c.ssm)
		note, err := SetVocab(cfg, tc.rows, tc.tok)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := cfg.Value("make_vocab_size_divisible_by")
		if d != tc.wantDiv || (tc.note == "") != (note == "") || !strings.Contains(note, tc.note) {
			t.Errorf("%d rows, %d tokens: divisor %v, note %q", tc.rows, tc.tok, d, note)
		}
		if PaddedVocab(tc.tok, tc.wantDiv, 1) != tc.rows {
			t.Errorf("divisor %d pads %d to %d, not %d", tc.wantDiv, tc.tok, PaddedVocab(tc.tok, tc.wantDiv, 1), tc.rows)
		}
	}
	if _, err := SetVocab(NewConfig(c.ssm), 100, 200); err == nil {
		t.Error("a tokenizer larger than the embedding was accepted")
	}
}

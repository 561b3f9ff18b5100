package configmig

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/omegaconf"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// configs are the NeMo-1.0-shaped configs of testdata/.
func configs(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) < 6 {
		t.Fatalf("testdata configs: %v %v", files, err)
	}
	return files
}

func render(t testing.TB, file string) (*Migration, []byte, []byte) {
	t.Helper()
	m, err := Load(file, nil)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	py, js := write(t, file, m)
	return m, py, js
}

// write returns the script and the JSON for the migration of file.
func write(t testing.TB, file string, m *Migration) (py, js []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := m.WritePython(&b); err != nil {
		t.Fatal(err)
	}
	js, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(js) {
		t.Fatalf("%s: invalid JSON", file)
	}
	return b.Bytes(), js
}

// TestGolden compares the script and the JSON for each config with
// testdata/golden; run with -update to rewrite them after a deliberate
// change (and review the diff).
func TestGolden(t *testing.T) {
	for _, f := range configs(t) {
		_, py, js := render(t, f)
		base := strings.TrimSuffix(filepath.Base(f), ".yaml")
		for ext, got := range map[string][]byte{".py": py, ".json": js} {
			golden := filepath.Join("testdata", "golden", base+ext)
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s; run go test ./internal/configmig -update and review the diff\n%s", f, golden, firstDiff(got, want))
			}
		}
	}
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return "line " + itoa(i+1) + ":\n got: " + al[i] + "\nwant: " + bl[i]
		}
	}
	return "lengths differ"
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// covered collects every YAML key a migration accounts for: mapped or
// listed as unmapped.
func covered(m *Migration) map[string]bool {
	keys := mapped(m)
	for _, u := range m.Unmapped {
		keys[u.Key] = true
	}
	return keys
}

// mapped collects the YAML keys a migration turned into settings: the keys
// of arguments, the keys they were computed from, and the keys that
// decided to make a call.
func mapped(m *Migration) map[string]bool {
	keys := map[string]bool{}
	var call func(c *Call)
	var value func(v Value)
	value = func(v Value) {
		switch v := v.(type) {
		case *Call:
			call(v)
		case List:
			for _, x := range v {
				value(x)
			}
		}
	}
	arg := func(a *Arg) {
		if a.Key != "" && !a.Default {
			keys[a.Key] = true
		}
		for _, u := range a.Uses {
			keys[u] = true
		}
		value(a.Value)
	}
	call = func(c *Call) {
		if c == nil {
			return
		}
		for _, f := range c.From {
			keys[f] = true
		}
		for _, a := range c.Args {
			arg(a)
		}
	}
	for _, s := range m.Sections() {
		call(s.Call)
	}
	for _, c := range m.Callbacks {
		call(c)
	}
	for _, a := range m.ModelConfigOverrides {
		arg(a)
	}
	return keys
}

// TestEveryKeyAccounted proves no YAML key is dropped silently: each one
// is the source of an argument, decides a call, or is listed as unmapped
// with a reason (itself or a section above it).
func TestEveryKeyAccounted(t *testing.T) {
	for _, f := range configs(t) {
		m, _, _ := render(t, f)
		checkAccounted(t, f, m)
	}
}

// TestNoKeyBothMappedAndUnmapped proves that a key is either mapped or
// listed as unmapped, never both: not the key itself, not a section above
// a mapped key (optim.betas when betas.0 and betas.1 are mapped), not a key
// inside a mapped section.
func TestNoKeyBothMappedAndUnmapped(t *testing.T) {
	for _, f := range configs(t) {
		m, _, _ := render(t, f)
		checkExclusive(t, f, m)
	}
}

func checkExclusive(t *testing.T, f string, m *Migration) {
	t.Helper()
	keys := mapped(m)
	under := func(k, section string) bool { return strings.HasPrefix(k, section+".") }
	for _, u := range m.Unmapped {
		for k := range keys {
			if k == u.Key || under(k, u.Key) || under(u.Key, k) {
				t.Errorf("%s: %s (line %d) is listed as unmapped (%s), but %s is mapped", f, u.Key, u.Line, u.Reason, k)
			}
		}
	}
}

func checkAccounted(t *testing.T, f string, m *Migration) {
	t.Helper()
	raw, err := omegaconf.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	keys := covered(m)
	for _, u := range m.Unmapped {
		if u.Reason == "" {
			t.Errorf("%s: %s is unmapped without a reason", f, u.Key)
		}
	}
	omegaconf.Walk(raw, func(path string, n *omegaconf.Node) bool {
		if path == "" {
			return true
		}
		for p := path; ; {
			if keys[p] {
				return false
			}
			i := strings.LastIndexByte(p, '.')
			if i < 0 {
				break
			}
			p = p[:i]
		}
		if n.IsScalar() || (n.Kind == omegaconf.Map && len(n.Entries) == 0) || (n.Kind == omegaconf.List && len(n.Items) == 0) {
			t.Errorf("%s: key %s (line %d) is neither mapped nor listed as unmapped", f, path, n.Line)
			return false
		}
		return true
	})
}

func migrateString(t *testing.T, src string) *Migration {
	t.Helper()
	raw, err := omegaconf.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Migrate("test.yaml", raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func argOf(c *Call, path ...string) *Arg {
	for i, name := range path {
		a := c.arg(name)
		if a == nil || i == len(path)-1 {
			return a
		}
		c, _ = a.Value.(*Call)
	}
	return nil
}

func litValue(t *testing.T, a *Arg) string {
	t.Helper()
	if a == nil {
		t.Fatal("argument missing")
	}
	switch v := a.Value.(type) {
	case Lit:
		return omegaconf.PyRepr(v.N)
	case Expr:
		return v.Code
	}
	return "?"
}

func hasWarning(m *Migration, key, text string) bool {
	for _, w := range m.Warnings {
		if w.Key == key && strings.Contains(w.Message, text) {
			return true
		}
	}
	return false
}

func isUnmapped(m *Migration, key string) bool {
	for _, u := range m.Unmapped {
		if u.Key == key {
			return true
		}
	}
	return false
}

// TestCheckpointSettings pins the distributed-checkpoint mapping of
// nemo-conversion.md section 6 against MegatronStrategy's argument names
// and defaults.
func TestCheckpointSettings(t *testing.T) {
	m := migrateString(t, `
trainer: {precision: bf16}
exp_manager:
  checkpoint_callback_params: {async_save: true}
model:
  dist_ckpt_format: torch_dist
  dist_ckpt_load_on_device: false
  dist_ckpt_parallel_save_within_dp: true
  dist_ckpt_torch_dist_multiproc: 4
  dist_ckpt_parallel_dist_opt: false
  dist_ckpt_load_strictness: raise_all
`)
	s := m.Strategy
	want := map[string]string{
		"save_ckpt_format": "'torch_dist'", "ckpt_load_directly_on_device": "False",
		"ckpt_parallel_save_within_dp": "True", "ckpt_torch_dist_multiproc": "4", "ckpt_parallel_save_optim": "False",
		"ckpt_load_strictness": "'raise_all'", "ckpt_async_save": "True",
		// Absent: NeMo 1.0's from_config defaults, written out because NeMo 2.0's are True.
		"ckpt_parallel_save": "False", "ckpt_parallel_load": "False",
	}
	for name, v := range want {
		if got := litValue(t, argOf(s, name)); got != v {
			t.Errorf("%s = %s, want %s", name, got, v)
		}
	}
	if s.arg("ckpt_load_on_device") != nil {
		t.Error("the strategy has no ckpt_load_on_device argument (the migration guide's typo)")
	}
	if a := s.arg("ckpt_parallel_load"); !a.Default || a.Key != "model.dist_ckpt_parallel_load" {
		t.Errorf("ckpt_parallel_load: %+v", a)
	}
	if !hasWarning(m, "model.dist_ckpt_parallel_load", "ckpt_parallel_load") || !hasWarning(m, "model.dist_ckpt_parallel_save", "ckpt_parallel_save") {
		t.Errorf("no drift warning: %+v", m.Warnings)
	}
	if hasWarning(m, asyncSaveKey, "") {
		t.Error("async_save True matches NeMo 2.0; no warning expected")
	}
	if !strings.Contains(s.Note, "non-distributed") {
		t.Errorf("strategy note: %q", s.Note)
	}
	m = migrateString(t, "model: {num_layers: 2}\n")
	if a := m.Strategy.arg("ckpt_async_save"); a == nil || !a.Default || litValue(t, a) != "False" || !hasWarning(m, asyncSaveKey, "True") {
		t.Errorf("absent async_save: %+v", a)
	}
}

func TestPrecisionMapping(t *testing.T) {
	for in, want := range map[string]string{"16": "'16-mixed'", "'16-mixed'": "'16-mixed'", "bf16": "'bf16-mixed'", "bf16-mixed": "'bf16-mixed'", "32": "'32'", "32-true": "'32'"} {
		m := migrateString(t, "trainer: {precision: "+in+"}\nmodel: {megatron_amp_O2: true}\n")
		if got := litValue(t, m.Precision.arg("precision")); got != want {
			t.Errorf("precision %s -> %s, want %s", in, got, want)
		}
	}
	m := migrateString(t, "trainer: {precision: bf16}\nmodel: {megatron_amp_O2: true, fp8: true, fp8_e4m3: true, fp8_hybrid: true, fp8_margin: 1, fp8_params: true}\n")
	if got := litValue(t, m.Precision.arg("fp8")); got != "'e4m3'" {
		t.Errorf("fp8_e4m3 wins (as in NeMo 1.0): got %s", got)
	}
	if litValue(t, m.Precision.arg("params_dtype")) != "torch.bfloat16" || litValue(t, m.Precision.arg("fp8_param_gather")) != "True" {
		t.Errorf("params_dtype / fp8_param_gather: %+v", m.Precision.Args)
	}
	m = migrateString(t, "trainer: {precision: 16}\nmodel: {native_amp_init_scale: 1024, hysteresis: 3, fp8: false, fp8_margin: 2}\n")
	if litValue(t, m.Precision.arg("fp16_initial_loss_scale")) != "1024" || litValue(t, m.Precision.arg("fp16_hysteresis")) != "3" {
		t.Errorf("fp16 loss scaling: %+v", m.Precision.Args)
	}
	if m.Precision.arg("fp8") != nil || !isUnmapped(m, "model.fp8_margin") {
		t.Error("fp8 off: no fp8 arguments, fp8_margin listed as unmapped")
	}
}

func TestTrainerAndOptim(t *testing.T) {
	m := migrateString(t, `
trainer: {devices: 2, max_steps: 1000, gradient_clip_val: 0.3, logger: false, limit_val_batches: 1.0}
model:
  optim:
    name: sgd
    lr: 0.1
    sched: {name: CosineAnnealing, warmup_ratio: 0.05, constant_ratio: 0.1}
`)
	if m.Trainer.arg("gradient_clip_val") != nil {
		t.Error("gradient_clip_val must not reach nl.Trainer: MegatronMixedPrecision raises on it")
	}
	cfg := argOf(m.Optim, "config").Value.(*Call)
	for name, v := range map[string]string{"optimizer": "'sgd'", "clip_grad": "0.3", "sgd_momentum": "0.0", "weight_decay": "0.0", "use_distributed_optimizer": "False"} {
		if got := litValue(t, cfg.arg(name)); got != v {
			t.Errorf("OptimizerConfig %s = %s, want %s", name, got, v)
		}
	}
	s := argOf(m.Optim, "lr_scheduler").Value.(*Call)
	for name, v := range map[string]string{"max_steps": "1000", "warmup_steps": "50", "constant_steps": "100", "min_lr": "0.0"} {
		if got := litValue(t, s.arg(name)); got != v {
			t.Errorf("scheduler %s = %s, want %s", name, got, v)
		}
	}
	if !isUnmapped(m, "trainer.logger") || litValue(t, m.Trainer.arg("limit_val_batches")) != "1.0" {
		t.Error("trainer.logger must be listed; limit_val_batches kept as a float")
	}
	m = migrateString(t, "trainer: {devices: 1}\nmodel: {optim: {name: fused_adam, lr: 1e-4}}\n")
	cfg = argOf(m.Optim, "config").Value.(*Call)
	if a := cfg.arg("clip_grad"); !a.Default || litValue(t, a) != "0.0" || !hasWarning(m, "trainer.gradient_clip_val", "clip_grad=0.0") {
		t.Errorf("absent gradient_clip_val: %+v", a)
	}
	if litValue(t, cfg.arg("lr")) != "0.0001" {
		t.Errorf("1e-4 must be the float 0.0001")
	}
}

func TestNsysAndPEFT(t *testing.T) {
	m := migrateString(t, `
model:
  restore_from_path: /m/base.nemo
  nsys_profile: {enabled: true, start_step: 3, end_step: 5, ranks: [0], gen_shape: true}
  peft:
    peft_scheme: lora
    lora_tuning: {target_modules: [all], adapter_dim: 8, layer_selection: [1, 3]}
  data: {train_ds: {file_names: [/d/training.jsonl]}}
`)
	if len(m.Callbacks) != 1 || m.Callbacks[0].Func != "NsysCallback" || m.Callbacks[0].arg("enabled") != nil {
		t.Fatalf("nsys: %+v", m.Callbacks)
	}
	if litValue(t, m.Callbacks[0].arg("gen_shape")) != "True" {
		t.Error("gen_shape")
	}
	if m.Recipe != "finetune" || m.PEFT == nil || m.PEFT.Func != "llm.peft.LoRA" {
		t.Fatalf("peft: %s %+v", m.Recipe, m.PEFT)
	}
	want := "['*.layers.0.*.linear_qkv', '*.layers.2.*.linear_qkv', '*.layers.0.*.linear_proj', '*.layers.2.*.linear_proj', " +
		"'*.layers.0.*.linear_fc1', '*.layers.2.*.linear_fc1', '*.layers.0.*.linear_fc2', '*.layers.2.*.linear_fc2']"
	if got := litValue(t, m.PEFT.arg("target_modules")); got != want {
		t.Errorf("target_modules %s", got)
	}
	for name, v := range map[string]string{"dim": "8", "alpha": "8", "dropout_position": "'post'", "lora_A_init_method": "'normal'"} {
		if got := litValue(t, m.PEFT.arg(name)); got != v {
			t.Errorf("LoRA %s = %s, want %s", name, got, v)
		}
	}
	if m.Model.Func != "load_context" || litValue(t, m.Model.arg("path")) != "'/m/base_nemo2/context'" {
		t.Errorf("fine-tuning model: %+v", m.Model)
	}
	m = migrateString(t, "model: {nsys_profile: {enabled: false, start_step: 1}}\n")
	if len(m.Callbacks) != 0 || !isUnmapped(m, "model.nsys_profile") {
		t.Error("disabled nsys profile must be listed, not migrated")
	}
}

// TestModelFamilies checks that each family convert --model_id auto
// recognises gets its NeMo 2.0 model and config class, imported from the
// module that defines it, in the generated Python.
func TestModelFamilies(t *testing.T) {
	const llama = "normalization: rmsnorm, activation: swiglu, position_embedding_type: rope, bias: false"
	cases := []struct {
		name, model string
		module      string // of the classes
		modelClass  string
		config      string
		args        map[string]string // config arguments and their Python values
	}{
		{"llama", "{num_layers: 2, " + llama + "}", "llama", "LlamaModel", "LlamaConfig",
			// NeMo 1.0's dropout and tied embeddings, where LlamaConfig's differ.
			map[string]string{"hidden_dropout": "0.1", "attention_dropout": "0.1", "share_embeddings_and_output_weights": "True"}},
		{"llama 3.1", "{num_layers: 32, hidden_size: 4096, ffn_hidden_size: 14336, num_attention_heads: 32, num_query_groups: 8, " + llama +
			", rotary_base: 500000, scale_positional_embedding: true, share_embeddings_and_output_weights: false, encoder_seq_length: 8192}",
			"llama", "LlamaModel", "Llama31Config", map[string]string{"rotary_base": "500000", "num_query_groups": "8", "hidden_dropout": "0.1"}},
		{"llama 3.2 rope scaling", "{num_layers: 16, " + llama + ", scale_positional_embedding: true, scale_factor: 32}",
			"llama", "LlamaModel", "Llama31Config", map[string]string{"scale_factor": "32", "num_query_groups": "None"}},
		{"mistral", "{num_layers: 2, " + llama + ", window_size: [4096, 0]}", "mistral", "MistralModel", "MistralConfig7B",
			map[string]string{"window_size": "[4096, 0]"}},
		{"mixtral", "{num_layers: 2, " + llama + ", num_moe_experts: 4}", "mixtral", "MixtralModel", "MixtralConfig",
			map[string]string{"moe_aux_loss_coeff": "0.0", "rotary_base": "10000", "num_moe_experts": "4"}},
		{"nemotron", "{num_layers: 2, normalization: layernorm1p, activation: squared-relu, position_embedding_type: rope, bias: false, rotary_percentage: 0.5}",
			"nemotron", "NemotronModel", "NemotronConfig", map[string]string{"activation_func": "squared_relu", "layernorm_zero_centered_gamma": "True", "kv_channels": "None"}},
		{"qwen2", "{num_layers: 2, " + llama + ", qkv_bias: true}", "qwen2", "Qwen2Model", "Qwen2Config",
			map[string]string{"add_qkv_bias": "True", "layernorm_epsilon": "1e-05", "rotary_base": "10000"}},
		{"starcoder 2", "{num_layers: 2, normalization: layernorm, activation: gelu, position_embedding_type: rope, bias: true}",
			"starcoder2", "Starcoder2Model", "Starcoder2Config", map[string]string{"add_bias_linear": "True"}},
		{"gpt", "{num_layers: 2, activation: gelu}", "base", "GPTModel", "GPTConfig",
			map[string]string{"activation_func": "F.gelu", "gated_linear_unit": "False", "bias_activation_fusion": "True"}},
		{"full TE layer", "{num_layers: 2, activation: gelu, name: megatron_gpt_full_te_layer_autocast}", "base", "GPTModel", "GPTConfig",
			map[string]string{"use_transformer_engine_full_layer_spec": "True"}},
		// MegatronMambaModel: gated_linear_unit from its own key, not the
		// activation's name; bias and rope ignored.
		{"mamba", "{num_layers: 3, hidden_size: 128, num_attention_heads: 2, hybrid_override_pattern: M*-, mamba_ssm_ngroups: 2, activation: swiglu, bias: true, position_embedding_type: rope}",
			"ssm", "MambaModel", "SSMConfig",
			map[string]string{"hybrid_override_pattern": "'M*-'", "mamba_num_groups": "2", "gated_linear_unit": "False", "activation_func": "F.silu"}},
	}
	for _, c := range cases {
		m := migrateString(t, "model: "+c.model+"\n")
		cfg := argOf(m.Model, "config").Value.(*Call)
		if m.Model.Func != c.modelClass || cfg.Func != c.config {
			t.Errorf("%s: %s(config=%s(...)), want %s, %s", c.name, m.Model.Func, cfg.Func, c.modelClass, c.config)
			continue
		}
		for name, want := range c.args {
			if a := cfg.arg(name); a == nil || litValue(t, a) != want {
				t.Errorf("%s: %s(%s=...) is %+v, want %s", c.name, c.config, name, a, want)
			}
		}
		var py bytes.Buffer
		if err := m.WritePython(&py); err != nil {
			t.Fatal(err)
		}
		imp := "from nemo.collections.llm.gpt.model." + c.module + " import "
		classes := []string{c.config, c.modelClass}
		sort.Strings(classes)
		for _, want := range []string{imp + strings.Join(classes, ", ") + "\n", "model = " + c.modelClass + "(\n", "config=" + c.config + "("} {
			if !strings.Contains(py.String(), want) {
				t.Errorf("%s: the script lacks %q", c.name, want)
			}
		}
		checkClassFields(t, c.name, m)
	}
}

// checkClassFields checks the model config call against the registry:
// its class is one NeMo 2.0 has, and every argument is a field of it.
func checkClassFields(t *testing.T, name string, m *Migration) {
	t.Helper()
	if m.Model == nil || m.Model.Func == "load_context" {
		return
	}
	cfg := argOf(m.Model, "config").Value.(*Call)
	var class *models.Class
	for path, c := range models.ConfigClasses() {
		if strings.HasSuffix(path, "."+cfg.Func) && contains(cfg.Imports, "from "+strings.TrimSuffix(path, "."+cfg.Func)+" import "+cfg.Func) {
			class = c
		}
	}
	if class == nil {
		t.Errorf("%s: %s (%v) is no NeMo 2.0 config class the registry knows", name, cfg.Func, cfg.Imports)
		return
	}
	for _, a := range cfg.Args {
		if _, ok := class.Param(a.Name); !ok {
			t.Errorf("%s: %s has no field %s", name, class.Name(), a.Name)
		}
	}
}

// TestFamilyWithOpenSizes checks that sizes left to the command line
// (???) or the environment do not keep the family from being chosen.
func TestFamilyWithOpenSizes(t *testing.T) {
	m := migrateString(t, "model:\n  num_layers: ???\n  hidden_size: ${oc.env:HIDDEN}\n  num_attention_heads: 32\n  num_query_groups: 8\n"+
		"  normalization: rmsnorm\n  activation: swiglu\n  position_embedding_type: rope\n  bias: false\n")
	cfg := argOf(m.Model, "config").Value.(*Call)
	if cfg.Func != "LlamaConfig" || !cfg.arg("num_layers").Missing || cfg.arg("hidden_size").Unresolved == nil || cfg.Note != "" {
		t.Errorf("%s %+v %+v note %q", cfg.Func, cfg.arg("num_layers"), cfg.arg("hidden_size"), cfg.Note)
	}
	checkClassFields(t, "open sizes", m)
}

// TestModelClassFields checks every testdata config's model call against
// the registry.
func TestModelClassFields(t *testing.T) {
	for _, f := range configs(t) {
		m, _, _ := render(t, f)
		checkClassFields(t, f, m)
	}
}

// TestArchitectureRefused checks that an architecture convert --model_id
// auto refuses is refused by config too, rather than trained as something
// else, and that one it accepts later gets that class.
func TestArchitectureRefused(t *testing.T) {
	cases := []struct {
		name, src, family string
	}{
		{"gemma", "model:\n  num_layers: 2\n  normalization: rmsnorm\n  activation: geglu\n  position_embedding_type: rope\n  bias: false\n  apply_embedding_scaling: true\n", "Gemma"},
		{"gemma 2", "model:\n  num_layers: 2\n  mcore_customization_config: {attn_logit_softcapping: 50.0, final_logit_softcapping: 30.0, query_pre_attn_scalar: 224}\n", "Gemma 2"},
		{"multi-latent attention", "model: {num_layers: 2, multi_latent_attention: true}\n", "architecture"},
		{"unknown activation", "model: {num_layers: 2, activation: swish-3}\n", "architecture"},
	}
	for _, c := range cases {
		raw, err := omegaconf.Parse([]byte(c.src))
		if err != nil {
			t.Fatal(err)
		}
		m, err := Migrate("x.yaml", raw, nil)
		var re *RefusedError
		switch {
		case errors.As(err, &re):
			if re.Reason != NotMigrated || re.Detected != c.family || !strings.Contains(err.Error(), "convert --model_id auto refuses it") {
				t.Errorf("%s: %v (%s)", c.name, err, re.Detected)
			}
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		default:
			// The registry has learnt the family meanwhile: then it must
			// be its class, never a GPTConfig that computes otherwise.
			cfg := argOf(m.Model, "config").Value.(*Call)
			if c.family == "architecture" || !strings.Contains(strings.ToLower(cfg.Func), strings.ToLower(strings.Fields(c.family)[0])) {
				t.Errorf("%s: migrated as %s", c.name, cfg.Func)
			}
		}
	}
	// The refusal points at the key that shows the family.
	raw, _ := omegaconf.Parse([]byte(cases[0].src))
	_, err := Migrate("g.yaml", raw, nil)
	var re *RefusedError
	if errors.As(err, &re) && (re.Line != 7 || re.Evidence != "model.apply_embedding_scaling") {
		t.Errorf("gemma refusal at %d (%s): %v", re.Line, re.Evidence, err)
	}
}

func TestEnvInterpolation(t *testing.T) {
	m := migrateString(t, "model:\n  data:\n    data_prefix: [\"${oc.env:DATA}/a\", x]\n    index_mapping_dir: ${oc.env:IDX,/tmp/i}\n")
	a := m.Data.arg("index_mapping_dir")
	if litValue(t, a) != `os.environ.get("IDX", "/tmp/i")` || a.Unresolved == nil {
		t.Errorf("env: %+v", a)
	}
	p := m.Data.arg("paths")
	if litValue(t, p) != "None" || p.Unresolved == nil || !hasWarning(m, "model.data.data_prefix", "could not be resolved") {
		t.Errorf("list holding an env var: %+v", p)
	}
}

// TestErrors checks that bad input ends in a clear error naming the file,
// line and column.
func TestErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, src    string
		line, column int
		text         string
		syntax       bool
	}{
		{"bad.yaml", "trainer:\n  devices: 1\n model: {}\n", 3, 2, "did not find expected key", true},
		{"dup.yaml", "model:\n  num_layers: 2\n  num_layers: 3\n", 3, 3, "duplicate key", true},
		{"interp.yaml", "model:\n  x: ${model.y\n", 2, 6, "invalid interpolation", true},
		{"notnemo.yaml", "name: x\nservers: [a, b]\n", 1, 1, "not a NeMo 1.0", false},
		{"list.yaml", "- trainer\n- model\n", 1, 1, "top level is a list", false},
		{"section.yaml", "name: x\ntrainer: 5\n", 2, 10, "not a map", false},
	}
	for _, c := range cases {
		p := write(c.name, c.src)
		_, err := Load(p, nil)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		var se *omegaconf.SyntaxError
		var ne *NotNeMoError
		switch {
		case c.syntax && errors.As(err, &se):
			if se.Line != c.line || se.Column != c.column {
				t.Errorf("%s: at %d:%d, want %d:%d", c.name, se.Line, se.Column, c.line, c.column)
			}
		case !c.syntax && errors.As(err, &ne):
			if ne.Line != c.line || ne.Column != c.column {
				t.Errorf("%s: at %d:%d, want %d:%d", c.name, ne.Line, ne.Column, c.line, c.column)
			}
		default:
			t.Errorf("%s: unexpected error type %T: %v", c.name, err, err)
		}
		if !strings.Contains(err.Error(), c.text) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: message %q", c.name, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "absent.yaml"), nil); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing file: %v", err)
	}
}

// TestMonitorNeMo2Metric checks that checkpoints and early stopping monitor
// val_loss, the name NeMo 2.0 logs the validation loss under, whatever NeMo
// 1.0's fine-tuning config called it.
func TestMonitorNeMo2Metric(t *testing.T) {
	m := migrateString(t, `
name: sft
exp_manager:
  create_early_stopping_callback: true
  early_stopping_callback_params: {monitor: "validation_${model.data.validation_ds.metric.name}", mode: min}
  checkpoint_callback_params:
    monitor: validation_${model.data.validation_ds.metric.name}
    mode: min
    filename: '${name}--{${exp_manager.checkpoint_callback_params.monitor}:.3f}-{step}-{consumed_samples}'
model:
  restore_from_path: /m/base.nemo
  data:
    train_ds: {file_names: [/d/training.jsonl]}
    validation_ds: {file_names: [/d/validation.jsonl], metric: {name: loss}}
`)
	ck := argOf(m.Logger, "ckpt").Value.(*Call)
	if got := litValue(t, ck.arg("monitor")); got != "'val_loss'" {
		t.Errorf("ModelCheckpoint monitor = %s, want 'val_loss'", got)
	}
	if a := ck.arg("monitor"); a.YAML == nil || a.YAML.Str != "validation_loss" {
		t.Errorf("monitor must record the YAML's validation_loss: %+v", a)
	}
	if got := litValue(t, ck.arg("filename")); got != "'sft--{val_loss:.3f}-{step}-{consumed_samples}'" {
		t.Errorf("filename = %s", got)
	}
	if got := litValue(t, ck.arg("mode")); got != "'min'" {
		t.Errorf("mode = %s", got)
	}
	if len(m.Callbacks) != 1 || litValue(t, m.Callbacks[0].arg("monitor")) != "'val_loss'" {
		t.Errorf("EarlyStopping must monitor val_loss: %+v", m.Callbacks)
	}
	if !hasWarning(m, "exp_manager.checkpoint_callback_params.monitor", "val_loss") {
		t.Errorf("no warning about the renamed metric: %+v", m.Warnings)
	}

	// A metric NeMo 2.0 does not compute: the loss instead, minimized.
	m = migrateString(t, `
exp_manager:
  checkpoint_callback_params: {monitor: validation_exact_string_match, mode: max, filename: 'x--{validation_exact_string_match:.3f}-{val_acc}'}
model: {restore_from_path: /m/base.nemo, data: {train_ds: {file_names: [/d/training.jsonl]}}}
`)
	ck = argOf(m.Logger, "ckpt").Value.(*Call)
	if litValue(t, ck.arg("monitor")) != "'val_loss'" || litValue(t, ck.arg("mode")) != "'min'" {
		t.Errorf("metric: monitor %s mode %s, want val_loss, min", litValue(t, ck.arg("monitor")), litValue(t, ck.arg("mode")))
	}
	if got := litValue(t, ck.arg("filename")); got != "'x--{val_loss:.3f}-{val_acc}'" {
		t.Errorf("filename = %s", got)
	}
	if !hasWarning(m, "exp_manager.checkpoint_callback_params.filename", "val_acc") {
		t.Errorf("no warning about val_acc, which nothing logs: %+v", m.Warnings)
	}

	// val_loss and the other metrics NeMo 2.0 logs stay as they are.
	for _, metric := range []string{"val_loss", "reduced_train_loss"} {
		m = migrateString(t, "exp_manager: {checkpoint_callback_params: {monitor: "+metric+", filename: 'a--{"+metric+":.2f}-{step}'}}\nmodel: {num_layers: 2}\n")
		ck = argOf(m.Logger, "ckpt").Value.(*Call)
		if a := ck.arg("monitor"); litValue(t, a) != "'"+metric+"'" || a.YAML != nil || ck.arg("filename").YAML != nil {
			t.Errorf("%s: changed: %+v", metric, a)
		}
		if hasWarning(m, "exp_manager.checkpoint_callback_params.monitor", "") || hasWarning(m, "exp_manager.checkpoint_callback_params.filename", "") {
			t.Errorf("%s: unexpected warning: %+v", metric, m.Warnings)
		}
	}
}

package nemo2

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
	"github.com/nemo-migrate/nemo-migrate/internal/fiddle/fiddletest"
	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
	"github.com/nemo-migrate/nemo-migrate/internal/tokenizer"
)

// yamlCheckScript reads model.yaml with yaml.safe_load, as NeMo's
// TensorRT-LLM and vLLM exporters do, and reports what they read; it also
// checks the file is byte for byte what yaml.safe_dump writes for the same
// data (the writer NeMo uses).
const yamlCheckScript = `
import json, os, sys, yaml
path, ctx = sys.argv[1], sys.argv[2]
text = open(path).read()
d = yaml.safe_load(text)
tok = d["tokenizer"]
art = tok.get("model_path") or tok.get("pretrained_model_name") or tok.get("vocab_file")
print(json.dumps({
    "target": d["_target_"],
    "config_target": d["config"]["_target_"],
    "params_dtype": d["config"]["params_dtype"]["_target_"],
    "activation": d["config"]["activation_func"]["_target_"],
    "activation_call": d["config"]["activation_func"]["_call_"],
    "tokenizer_target": tok["_target_"],
    "tokenizer_file": art,
    "tokenizer_file_exists": os.path.exists(os.path.join(ctx, art)),
    "config_fields": len(d["config"]),
    "model_keys": sorted(d),
    "redump_equal": yaml.safe_dump(d) == text,
    "config": {k: v for k, v in d["config"].items() if not isinstance(v, dict)},
}))
`

type yamlReport struct {
	Target              string         `json:"target"`
	ConfigTarget        string         `json:"config_target"`
	ParamsDType         string         `json:"params_dtype"`
	Activation          string         `json:"activation"`
	ActivationCall      bool           `json:"activation_call"`
	TokenizerTarget     string         `json:"tokenizer_target"`
	TokenizerFile       string         `json:"tokenizer_file"`
	TokenizerFileExists bool           `json:"tokenizer_file_exists"`
	ConfigFields        int            `json:"config_fields"`
	ModelKeys           []string       `json:"model_keys"`
	RedumpEqual         bool           `json:"redump_equal"`
	Config              map[string]any `json:"config"`
}

func checkYAML(t *testing.T, dir string) yamlReport {
	t.Helper()
	out := oracle.Run(t, []string{"yaml"}, yamlCheckScript, filepath.Join(dir, ModelYAMLName), dir)
	var r yamlReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return r
}

// spmInfo describes a SentencePiece artifact as the tokenizer package
// does for a .nemo's hashed tokenizer.model.
func spmInfo(legacy bool) *tokenizer.Info {
	return &tokenizer.Info{Library: tokenizer.SentencePiece, Class: tokenizer.SentencePieceClass, Arg: "model_path",
		Path: "0123456789abcdef0123456789abcdef_tokenizer.model", Legacy: legacy}
}

func writeContext(t *testing.T, c *Context, files ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "context")
	if err := WriteContext(dir, c); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("tokenizer bytes"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestContextSeedModels writes the context of every seed model as NeMo's
// converter would (bf16, params_dtype, fp8 settings from the NeMo 1 YAML,
// a SentencePiece tokenizer) and reads it back as NeMo does: io.json walked
// like fiddle's deserializer, model.yaml with yaml.safe_load.
func TestContextSeedModels(t *testing.T) {
	nemo1 := map[string]any{"fp8": true, "fp8_hybrid": true, "fp8_amax_history_len": 1024, "fp8_amax_compute_algo": "max"}
	for _, m := range models.Models() {
		t.Run(m.ID, func(t *testing.T) {
			cfg := models.NewConfig(m.Config)
			if err := models.ConverterArgs(cfg, nemo1); err != nil {
				t.Fatal(err)
			}
			tok, err := TokenizerConfig(spmInfo(true))
			if err != nil {
				t.Fatal(err)
			}
			dir := writeContext(t, &Context{Model: m.Class, Config: cfg, Tokenizer: tok}, spmInfo(true).Path)

			report := fiddletest.Walk(t, filepath.Join(dir, IOJSONName))
			for p, want := range map[string]string{
				"<root>":                  "nemo.lightning.io.pl.TrainerContext",
				"<root>.model":            m.Class.Name(),
				"<root>.model.config":     m.Config.Name(),
				"<root>.model.tokenizer":  tokenizer.SentencePieceClass,
				"<root>.trainer":          "nemo.lightning.pytorch.trainer.Trainer",
				"<root>.trainer.strategy": "nemo.lightning.pytorch.strategies.megatron_strategy.MegatronStrategy",
				"<root>.trainer.strategy.kwargs['plugins']": "nemo.lightning.pytorch.plugins.mixed_precision.MegatronMixedPrecision",
			} {
				if got := report[p].Class; got != want {
					t.Errorf("io.json %s: %q, want %q", p, got, want)
				}
			}
			args := report["<root>.model.config"].Args
			if len(args) != 5 || args["bf16"] != true || args["params_dtype"] != "pyref:torch.bfloat16" ||
				args["fp8"] != "hybrid" || args["fp8_amax_history_len"] != 1024.0 || args["fp8_amax_compute_algo"] != "max" {
				t.Errorf("config args %v", args)
			}
			targs := report["<root>.model.tokenizer"].Args
			if targs["model_path"] != spmInfo(true).Path || targs["legacy"] != true || len(targs) != 4 {
				t.Errorf("tokenizer args %v", targs)
			}
			if _, err := os.Stat(filepath.Join(dir, targs["model_path"].(string))); err != nil {
				t.Errorf("tokenizer artifact: %v", err)
			}

			y := checkYAML(t, dir)
			if y.Target != m.Class.Name() || y.ConfigTarget != m.Config.Name() || y.ParamsDType != "torch.bfloat16" ||
				y.TokenizerTarget != tokenizer.SentencePieceClass || !y.TokenizerFileExists || y.ActivationCall {
				t.Errorf("model.yaml %+v", y)
			}
			wantAct := "torch.nn.functional.silu"
			switch {
			case strings.Contains(strings.ToLower(m.Config.Name()), "nemotron"):
				wantAct = "nemo.collections.llm.fn.activation.squared_relu"
			case strings.Contains(m.Config.Name(), "gemma"):
				wantAct = "nemo.collections.llm.fn.activation.openai_gelu"
			case strings.Contains(m.Config.Name(), "starcoder"):
				wantAct = "torch._C._nn.gelu" // torch.nn.functional.gelu
			}
			if y.Activation != wantAct {
				t.Errorf("activation %s, want %s", y.Activation, wantAct)
			}
			if y.ConfigFields != len(m.Config.Params)+1 {
				t.Errorf("model.yaml config has %d keys, class has %d fields", y.ConfigFields, len(m.Config.Params))
			}
			if !y.RedumpEqual {
				t.Error("model.yaml differs from yaml.safe_dump of its own data")
			}
			// The scalars the exporters read, with the class defaults and
			// the converter's settings.
			a, _ := cfg.Arch()
			if y.Config["num_layers"] != float64(a.NumLayers) || y.Config["hidden_size"] != float64(a.Hidden) ||
				y.Config["bf16"] != true || y.Config["fp8"] != "hybrid" || y.Config["seq_length"] != float64(a.SeqLength) {
				t.Errorf("config scalars %v", y.Config)
			}
			wantKeys := "_target_ config model_transform optim tokenizer"
			if m.Class.Name() == "nemo.collections.llm.gpt.model.llama.LlamaModel" {
				wantKeys = "_target_ config model_context_managers model_transform optim tokenizer"
			}
			if got := strings.Join(y.ModelKeys, " "); got != wantKeys {
				t.Errorf("model.yaml keys %s, want %s", got, wantKeys)
			}
		})
	}
}

// TestContextTokenizers covers the Hugging Face directory, tiktoken and
// megatron GPT-2 artifacts.
func TestContextTokenizers(t *testing.T) {
	m, _ := models.Lookup("meta-llama/Meta-Llama-3-8B")
	for _, tc := range []struct {
		info  *tokenizer.Info
		files []string
		arg   string
	}{
		{&tokenizer.Info{Library: tokenizer.HuggingFace, Class: tokenizer.AutoTokenizerClass, Arg: "pretrained_model_name",
			Path: tokenizer.HFContextDir}, []string{"nemo_tokenizer/tokenizer.json", "nemo_tokenizer/tokenizer_config.json"}, "pretrained_model_name"},
		{&tokenizer.Info{Library: tokenizer.Tiktoken, Class: tokenizer.TiktokenClass, Arg: "vocab_file",
			Path: "tokenizer.json"}, []string{"tokenizer.json"}, "vocab_file"},
		{&tokenizer.Info{Library: tokenizer.Megatron, Class: tokenizer.AutoTokenizerClass, Arg: "pretrained_model_name",
			Path: tokenizer.HFContextDir}, []string{"nemo_tokenizer/vocab.json", "nemo_tokenizer/merges.txt", "nemo_tokenizer/tokenizer_config.json"}, "pretrained_model_name"},
	} {
		t.Run(string(tc.info.Library), func(t *testing.T) {
			tok, err := TokenizerConfig(tc.info)
			if err != nil {
				t.Fatal(err)
			}
			cfg := models.NewConfig(m.Config)
			if err := models.ConverterArgs(cfg, nil); err != nil {
				t.Fatal(err)
			}
			dir := writeContext(t, &Context{Model: m.Class, Config: cfg, Tokenizer: tok}, tc.files...)
			report := fiddletest.Walk(t, filepath.Join(dir, IOJSONName))
			o := report["<root>.model.tokenizer"]
			wantArgs := 1
			if tc.info.Library == tokenizer.Megatron {
				// NeMo 1 built the slow GPT2Tokenizer.
				wantArgs = 2
				if o.Args["use_fast"] != false {
					t.Errorf("io.json use_fast %v", o.Args["use_fast"])
				}
			}
			if o.Class != tc.info.Class || len(o.Args) != wantArgs || o.Args[tc.arg] != tc.info.Path {
				t.Errorf("io.json tokenizer %+v", o)
			}
			y := checkYAML(t, dir)
			if y.TokenizerTarget != tc.info.Class || y.TokenizerFile != tc.info.Path || !y.TokenizerFileExists || !y.RedumpEqual {
				t.Errorf("model.yaml %+v", y)
			}
		})
	}
	if _, err := TokenizerConfig(&tokenizer.Info{Library: "byte-level", Path: "x"}); err == nil {
		t.Error("byte-level tokenizer accepted")
	}
	if _, err := TokenizerConfig(&tokenizer.Info{Library: tokenizer.Megatron, Class: tokenizer.SentencePieceClass, Path: "x"}); err == nil {
		t.Error("megatron tokenizer with another class accepted")
	}
	if _, err := TokenizerConfig(&tokenizer.Info{Library: tokenizer.SentencePiece, Class: tokenizer.AutoTokenizerClass, Path: "x"}); err == nil {
		t.Error("mismatched class accepted")
	}
}

// TestContextAuto writes the context of a custom-sized model from its NeMo 1
// YAML: the family's base class with the architecture as explicit
// arguments, which io.json must carry (fiddle fills in only class defaults).
func TestContextAuto(t *testing.T) {
	for _, tc := range []struct {
		name, config, activation string
		y                        map[string]any
		args                     map[string]any
	}{
		{
			name: "llama", config: "nemo.collections.llm.gpt.model.llama.LlamaConfig", activation: "torch.nn.functional.silu",
			y: map[string]any{"num_layers": 3, "hidden_size": 256, "ffn_hidden_size": 688, "num_attention_heads": 8,
				"num_query_groups": 2, "encoder_seq_length": 2048, "normalization": "rmsnorm", "activation": "swiglu",
				"bias": false, "position_embedding_type": "rope", "share_embeddings_and_output_weights": false,
				"rotary_base": 500000, "hidden_dropout": 0.0, "attention_dropout": 0.0},
			args: map[string]any{"num_layers": 3.0, "hidden_size": 256.0, "ffn_hidden_size": 688.0, "num_attention_heads": 8.0,
				"num_query_groups": 2.0, "seq_length": 2048.0, "rotary_base": 500000.0, "bf16": true, "params_dtype": "pyref:torch.bfloat16"},
		},
		{
			// A GPT with GELU: F.gelu is a builtin, which NeMo writes as a
			// pyref without paths.
			name: "gpt", config: "nemo.collections.llm.gpt.model.base.GPTConfig", activation: "torch._C._nn.gelu",
			y: map[string]any{"num_layers": 2, "hidden_size": 64, "ffn_hidden_size": 256, "num_attention_heads": 4,
				"encoder_seq_length": 128, "activation": "geglu", "window_size": []any{128, 0}},
			args: map[string]any{"num_layers": 2.0, "gated_linear_unit": true, "window_size": "obj:builtins.list"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, cfg, err := models.Auto(tc.y)
			if err != nil {
				t.Fatal(err)
			}
			if err := models.ConverterArgs(cfg, tc.y); err != nil {
				t.Fatal(err)
			}
			tok, _ := TokenizerConfig(spmInfo(false))
			dir := writeContext(t, &Context{Model: m.Class, Config: cfg, Tokenizer: tok}, spmInfo(false).Path)
			report := fiddletest.Walk(t, filepath.Join(dir, IOJSONName))
			o := report["<root>.model.config"]
			if o.Class != tc.config {
				t.Errorf("config class %s", o.Class)
			}
			for k, v := range tc.args {
				if o.Args[k] != v {
					t.Errorf("io.json config %s = %v, want %v", k, o.Args[k], v)
				}
			}
			y := checkYAML(t, dir)
			if y.ConfigTarget != tc.config || y.Activation != tc.activation || !y.RedumpEqual {
				t.Errorf("model.yaml %+v", y)
			}
			if y.Config["num_layers"] != float64(tc.y["num_layers"].(int)) {
				t.Errorf("num_layers %v", y.Config["num_layers"])
			}
		})
	}
}

func TestWriteContextErrors(t *testing.T) {
	m, _ := models.Lookup("nemotron4-15b")
	tok, _ := TokenizerConfig(spmInfo(false))
	c := &Context{Model: m.Class, Config: models.NewConfig(m.Config), Tokenizer: tok}
	dir := t.TempDir()
	if err := WriteContext(dir, c); err != nil {
		t.Fatal(err)
	}
	if err := WriteContext(dir, c); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second write: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("left %d files", len(entries))
	}
	if err := WriteContext(t.TempDir(), &Context{Model: m.Class}); err == nil {
		t.Error("context without config accepted")
	}
}

// TestTiktokenDefaultsOnly: a TiktokenTokenizer with other than NeMo's
// vocabulary size, special tokens or pattern is refused by name, since the
// ids would differ; the defaults, given or not, and the encoding-only
// tokens pass.
func TestTiktokenDefaultsOnly(t *testing.T) {
	cfg := func(args ...fiddle.Arg) *fiddle.Config {
		return &fiddle.Config{Fn: fiddle.Dotted(tokenizer.TiktokenClass), Args: append([]fiddle.Arg{{Name: "vocab_file", Value: "t.json"}}, args...)}
	}
	for _, ok := range []*fiddle.Config{
		cfg(), cfg(fiddle.Arg{Name: "vocab_size", Value: 131072}, fiddle.Arg{Name: "num_special_tokens", Value: int64(1000)}),
		cfg(fiddle.Arg{Name: "pattern", Value: tokenizer.TiktokenPattern}, fiddle.Arg{Name: "bos_token", Value: "<x>"}),
	} {
		if err := tiktokenDefaults(ok); err != nil {
			t.Errorf("%v: %v", ok.Args, err)
		}
	}
	for _, bad := range []fiddle.Arg{
		{Name: "vocab_size", Value: 65536}, {Name: "num_special_tokens", Value: 100},
		{Name: "pattern", Value: `\s+`}, {Name: "special_tokens", Value: &fiddle.List{Items: []any{"<unk>"}}},
		{Name: "encoding_name", Value: "o200k_base"},
	} {
		if err := tiktokenDefaults(cfg(bad)); err == nil || !strings.Contains(err.Error(), bad.Name) {
			t.Errorf("%s: %v", bad.Name, err)
		}
	}
}

package convert

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo2"
	"github.com/nemo-migrate/nemo-migrate/internal/tokenizer"
)

func reuseTokenizer(t *testing.T) *models.Config {
	t.Helper()
	tok, err := nemo2.TokenizerConfig(&tokenizer.Info{Library: tokenizer.SentencePiece, Class: tokenizer.SentencePieceClass,
		Arg: "model_path", Path: "0123456789abcdef0123456789abcdef_tokenizer.model"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// writeCheckpointContext writes <tmp>/ckpt/context as our converter
// writes it and returns the checkpoint directory.
func writeCheckpointContext(t *testing.T, m models.Model, cfg *models.Config) string {
	t.Helper()
	ckpt := filepath.Join(t.TempDir(), "ckpt")
	if err := nemo2.WriteContext(filepath.Join(ckpt, "context"), &nemo2.Context{Model: m.Class, Config: cfg, Tokenizer: reuseTokenizer(t)}); err != nil {
		t.Fatal(err)
	}
	return ckpt
}

// reuseCases are configs as our converter builds them: seed ids, and
// "auto" configs of every family, with the converter's arguments (bf16,
// params_dtype, fp8) and extra arguments of every value kind.
func reuseCases(t *testing.T) map[string]func() (models.Model, *models.Config) {
	nemo1 := map[string]any{"fp8": true, "fp8_hybrid": true, "fp8_amax_history_len": 1024, "fp8_amax_compute_algo": "max"}
	seed := func(id string, extra ...fiddle.Arg) func() (models.Model, *models.Config) {
		return func() (models.Model, *models.Config) {
			m, err := models.Lookup(id)
			if err != nil {
				t.Fatal(err)
			}
			cfg := models.NewConfig(m.Config)
			if err := models.ConverterArgs(cfg, nemo1); err != nil {
				t.Fatal(err)
			}
			for _, a := range extra {
				if err := cfg.Set(a.Name, a.Value); err != nil {
					t.Fatal(err)
				}
			}
			return m, cfg
		}
	}
	auto := func(y map[string]any) func() (models.Model, *models.Config) {
		return func() (models.Model, *models.Config) {
			m, cfg, err := models.Auto(y)
			if err != nil {
				t.Fatal(err)
			}
			if err := models.ConverterArgs(cfg, y); err != nil {
				t.Fatal(err)
			}
			return m, cfg
		}
	}
	llama := func(extra map[string]any) map[string]any {
		y := map[string]any{"num_layers": 2, "hidden_size": 64, "ffn_hidden_size": 160, "num_attention_heads": 4,
			"num_query_groups": 2, "encoder_seq_length": 256, "normalization": "rmsnorm", "activation": "fast-swiglu",
			"position_embedding_type": "rope", "bias": false, "share_embeddings_and_output_weights": false,
			"rotary_base": 500000, "layernorm_epsilon": 1e-6, "make_vocab_size_divisible_by": 64}
		for k, v := range extra {
			y[k] = v
		}
		return y
	}
	flash := fiddle.Ref{Module: "megatron.core.transformer.enums", Name: "AttnBackend.flash", Kind: fiddle.Enum}
	return map[string]func() (models.Model, *models.Config){
		"llama3-8b": seed("meta-llama/Meta-Llama-3-8B"),
		"llama2-7b": seed("meta-llama/Llama-2-7b-hf", fiddle.Arg{Name: "vocab_size", Value: 32768},
			fiddle.Arg{Name: "attention_backend", Value: flash}),
		"mixtral-8x7b": seed("mistralai/Mixtral-8x7B-v0.1"),
		"mistral-7b": seed("mistralai/Mistral-7B-v0.1",
			fiddle.Arg{Name: "window_size", Value: &fiddle.Tuple{Items: []any{2048, 0}}}),
		"nemotron4-15b": seed("nemotron4-15b", fiddle.Arg{Name: "rotary_base", Value: 10000.0}),
		"auto-llama":    auto(llama(nil)),
		"auto-mistral":  auto(llama(map[string]any{"window_size": []any{128, 0}})),
		"auto-mixtral":  auto(llama(map[string]any{"num_moe_experts": 4, "moe_router_topk": 2, "moe_aux_loss_coeff": 0.02})),
		"auto-gpt": auto(map[string]any{"num_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
			"encoder_seq_length": 128, "fp8": false}),
		"auto-nemotron": auto(map[string]any{"num_layers": 2, "hidden_size": 64, "ffn_hidden_size": 256,
			"num_attention_heads": 4, "encoder_seq_length": 128, "normalization": "layernorm1p",
			"activation": "squared-relu", "position_embedding_type": "rope", "bias": false,
			"rotary_percentage": 0.5, "share_embeddings_and_output_weights": false}),
	}
}

// TestContextModelRoundTrip writes the context of a config with our
// writer, reads it back as --model_id <dir> does, and requires the same
// model class, config class, explicit arguments (kinds of references
// included) and architecture, and a context written from what was read
// identical to the first.
func TestContextModelRoundTrip(t *testing.T) {
	for name, build := range reuseCases(t) {
		t.Run(name, func(t *testing.T) {
			m, cfg := build()
			want, err := cfg.Arch()
			if err != nil {
				t.Fatal(err)
			}
			ckpt := writeCheckpointContext(t, m, cfg)
			for _, dir := range []string{ckpt, filepath.Join(ckpt, "context")} {
				gm, gcfg, err := contextModel(dir)
				if err != nil {
					t.Fatal(err)
				}
				if gm.ID != dir || gm.Class.Name() != m.Class.Name() || gm.Config.Name() != m.Config.Name() ||
					gcfg.Class.Name() != cfg.Class.Name() {
					t.Errorf("%s: model %s %s %s, want %s %s", dir, gm.ID, gm.Class.Name(), gm.Config.Name(),
						m.Class.Name(), m.Config.Name())
				}
				if !reflect.DeepEqual(gcfg.Args, cfg.Args) {
					t.Errorf("%s: arguments\n got  %#v\n want %#v", dir, gcfg.Args, cfg.Args)
				}
				got, err := gcfg.Arch()
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: arch\n got  %+v\n want %+v", dir, got, want)
				}
			}

			_, gcfg, err := contextModel(ckpt)
			if err != nil {
				t.Fatal(err)
			}
			tok := reuseTokenizer(t)
			first := &nemo2.Context{Model: m.Class, Config: cfg, Tokenizer: tok}
			again := &nemo2.Context{Model: m.Class, Config: gcfg, Tokenizer: tok}
			for _, f := range []func(*nemo2.Context) ([]byte, error){(*nemo2.Context).IOJSON, (*nemo2.Context).ModelYAML} {
				a, err1 := f(first)
				b, err2 := f(again)
				if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
					t.Errorf("rewritten context differs (%v, %v):\n%s\n%s", err1, err2, a, b)
				}
			}
		})
	}
}

// TestContextModelForcesBF16: NeMo's converter sets bf16 and params_dtype
// on the loaded config, whatever the reference recorded.
func TestContextModelForcesBF16(t *testing.T) {
	m, err := models.Lookup("meta-llama/Meta-Llama-3-8B")
	if err != nil {
		t.Fatal(err)
	}
	cfg := models.NewConfig(m.Config)
	if err := cfg.Set("params_dtype", fiddle.Ref{Module: "torch", Name: "float16", Kind: fiddle.Constant}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Set("num_layers", 4); err != nil {
		t.Fatal(err)
	}
	_, got, err := contextModel(writeCheckpointContext(t, m, cfg))
	if err != nil {
		t.Fatal(err)
	}
	want := []fiddle.Arg{{Name: "bf16", Value: true},
		{Name: "params_dtype", Value: fiddle.Ref{Module: "torch", Name: "bfloat16", Kind: fiddle.Constant}},
		{Name: "num_layers", Value: 4}}
	if !reflect.DeepEqual(got.Args, want) {
		t.Errorf("args %#v", got.Args)
	}
}

// TestContextModelFiddleGolden reuses the context the real fiddle wrote
// (internal/fiddle/testdata, made by gen_golden.py as NeMo's converter
// dumps Llama-3-8B).
func TestContextModelFiddleGolden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "fiddle", "testdata", "trainer_context.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ckpt")
	writeFile(t, filepath.Join(dir, "context", "io.json"), data)
	m, cfg, err := contextModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Class.Name() != "nemo.collections.llm.gpt.model.llama.LlamaModel" ||
		cfg.Class.Name() != "nemo.collections.llm.gpt.model.llama.Llama3Config8B" {
		t.Errorf("model %s config %s", m.Class.Name(), cfg.Class.Name())
	}
	want := []fiddle.Arg{{Name: "bf16", Value: true},
		{Name: "params_dtype", Value: fiddle.Ref{Module: "torch", Name: "bfloat16", Kind: fiddle.Constant}},
		{Name: "fp8", Value: "hybrid"}, {Name: "fp8_amax_history_len", Value: 1024}, {Name: "fp8_amax_compute_algo", Value: "max"}}
	if !reflect.DeepEqual(cfg.Args, want) {
		t.Errorf("args %#v", cfg.Args)
	}
	arch, err := cfg.Arch()
	if err != nil {
		t.Fatal(err)
	}
	if arch.NumLayers != 32 || arch.Hidden != 4096 || arch.FFN != 14336 || arch.Groups != 8 || arch.RotaryBase != 500000 {
		t.Errorf("arch %+v", arch)
	}
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// trainerContext returns io.json for TrainerContext(model=model).
func trainerContext(t *testing.T, model any) []byte {
	t.Helper()
	data, err := fiddle.Marshal(&fiddle.Config{Fn: fiddle.Dotted("nemo.lightning.io.pl.TrainerContext"),
		Args: []fiddle.Arg{{Name: "model", Value: model}}})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func llamaModel(config any) *fiddle.Config {
	return &fiddle.Config{Fn: fiddle.Dotted("nemo.collections.llm.gpt.model.llama.LlamaModel"),
		Args: []fiddle.Arg{{Name: "config", Value: config}}}
}

func llamaConfig(args ...fiddle.Arg) *fiddle.Config {
	return &fiddle.Config{Fn: fiddle.Dotted("nemo.collections.llm.gpt.model.llama.Llama3Config8B"), Args: args}
}

func TestContextModelRejects(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("..", "fiddle", "testdata", "trainer_context.json"))
	if err != nil {
		t.Fatal(err)
	}
	shared, err := os.ReadFile(filepath.Join("..", "fiddle", "testdata", "shared.json"))
	if err != nil {
		t.Fatal(err)
	}
	big := &fiddle.List{}
	for i := 0; i < nemo2.MaxArgValues; i++ {
		big.Items = append(big.Items, i)
	}
	for _, c := range []struct {
		name string
		io   []byte // written to ckpt/context/io.json; nil writes nothing
		want []string
	}{
		{"no context", nil, []string{"context/io.json", "model id"}},
		{"bad json", []byte(`{"root": `), []string{"io.json", "invalid JSON"}},
		{"dangling", bytes.Replace(golden, []byte(`"key": "llama3_config8_b_1"`), []byte(`"key": "gone"`), 1),
			[]string{"io.json", `"gone"`, `object "llama_model_1"`}},
		{"cycle", bytes.Replace(golden, []byte(`"key": "llama3_config8_b_1"`), []byte(`"key": "llama_model_1"`), 1),
			[]string{"cycle"}},
		{"no model", shared, []string{"has no <root>.model", "TrainerContext"}},
		{"model class", bytes.ReplaceAll(golden, []byte(`"name": "LlamaModel"`), []byte(`"name": "MambaModel"`)),
			[]string{"LlamaModel", "GPTModel", "MixtralModel", "NemotronModel", "MistralModel", "MambaModel"}},
		{"config class", bytes.ReplaceAll(golden, []byte(`"name": "Llama3Config8B"`), []byte(`"name": "NemotronHConfig4B"`)),
			[]string{"NemotronHConfig4B", "Llama3Config8B", "GPTConfig", "supports"}},
		{"unknown field", trainerContext(t, llamaModel(llamaConfig(fiddle.Arg{Name: "no_such_field", Value: 1}))),
			[]string{"<root>.model.config", "no_such_field", "2.6"}},
		{"wrong type", trainerContext(t, llamaModel(llamaConfig(fiddle.Arg{Name: "num_layers", Value: "many"}))),
			[]string{"num_layers", "integer"}},
		{"model not config", trainerContext(t, &fiddle.List{Items: []any{1}}), []string{"<root>.model is a list"}},
		{"partial model", trainerContext(t, &fiddle.Config{Type: fiddle.FiddlePartial,
			Fn: fiddle.Dotted("nemo.collections.llm.gpt.model.llama.LlamaModel")}), []string{"Partial"}},
		{"no config", trainerContext(t, &fiddle.Config{Fn: fiddle.Dotted("nemo.collections.llm.gpt.model.llama.LlamaModel")}),
			[]string{"no config argument"}},
		{"config not config", trainerContext(t, llamaModel(5)), []string{"<root>.model.config is an int"}},
		{"huge value", trainerContext(t, llamaModel(llamaConfig(fiddle.Arg{Name: "window_size", Value: big}))),
			[]string{"window_size", "more than"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ckpt")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if c.io != nil {
				writeFile(t, filepath.Join(dir, "context", "io.json"), c.io)
			}
			_, _, err := contextModel(dir)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// A value the registry cannot hold (a traversable of an unknown type)
// and files that are not plain io.json files are refused too.
func TestContextModelRejectsFiles(t *testing.T) {
	// An unknown NamedTuple as a config argument.
	data := trainerContext(t, llamaModel(llamaConfig(fiddle.Arg{Name: "window_size", Value: &fiddle.List{Items: []any{1}}})))
	data = bytes.Replace(data, []byte(`"module": "builtins", "name": "list"}`), []byte(`"module": "m", "name": "Pair"}`), 1)
	dir := filepath.Join(t.TempDir(), "ckpt")
	writeFile(t, filepath.Join(dir, "context", "io.json"), data)
	if _, _, err := contextModel(dir); err == nil || !strings.Contains(err.Error(), "m.Pair") {
		t.Errorf("unknown type: %v", err)
	}

	// io.json is a directory.
	dir = filepath.Join(t.TempDir(), "ckpt")
	if err := os.MkdirAll(filepath.Join(dir, "context", "io.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := contextModel(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory io.json: %v", err)
	}

	// An io.json larger than any context is refused before it is read.
	dir = filepath.Join(t.TempDir(), "ckpt")
	writeFile(t, filepath.Join(dir, "context", "io.json"), nil)
	if err := os.Truncate(filepath.Join(dir, "context", "io.json"), fiddle.MaxSize+1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := contextModel(dir); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("huge io.json: %v", err)
	}

	// A directory named context without io.json looks in its parent, as
	// io.load_context does.
	parent := t.TempDir()
	writeFile(t, filepath.Join(parent, "io.json"), trainerContext(t, llamaModel(llamaConfig())))
	if err := os.Mkdir(filepath.Join(parent, "context"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, cfg, err := contextModel(filepath.Join(parent, "context")); err != nil || cfg.Class.Name() != "nemo.collections.llm.gpt.model.llama.Llama3Config8B" {
		t.Errorf("context dir fallback: %v", err)
	}
}

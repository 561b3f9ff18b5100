package fiddle

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle/fiddletest"
)

var (
	bf16  = Ref{Module: "torch", Name: "bfloat16", Kind: Constant}
	silu  = Class("torch.nn.functional", "silu")
	spTok = Dotted("nemo.collections.common.tokenizers.sentencepiece_tokenizer.SentencePieceTokenizer")
)

// goldenTrainerContext is the tree gen_golden.py's trainer_context() builds
// in Python.
func goldenTrainerContext() *Config {
	config := &Config{Fn: Dotted("nemo.collections.llm.gpt.model.llama.Llama3Config8B"), Args: []Arg{
		{"bf16", true}, {"params_dtype", bf16}, {"fp8", "hybrid"},
		{"fp8_amax_history_len", 1024}, {"fp8_amax_compute_algo", "max"},
	}}
	tok := &Config{Fn: spTok, Args: []Arg{
		{"model_path", "0123abcd_tokenizer.model"}, {"special_tokens", nil}, {"legacy", false}, {"chat_template", nil},
	}}
	model := &Config{Fn: Dotted("nemo.collections.llm.gpt.model.llama.LlamaModel"), Args: []Arg{
		{"config", config}, {"tokenizer", tok},
	}}
	plugins := &Config{Type: RunConfig, Fn: Dotted("nemo.lightning.pytorch.plugins.mixed_precision.MegatronMixedPrecision"), Args: []Arg{
		{"precision", "bf16-mixed"}, {"params_dtype", bf16}, {"pipeline_dtype", bf16},
		{"autocast_enabled", false}, {"grad_reduce_in_fp32", true},
	}}
	strategy := &Config{Fn: Dotted("nemo.lightning.pytorch.strategies.megatron_strategy.MegatronStrategy"), Args: []Arg{
		{"ddp", "pytorch"}, {"setup_optimizers", false},
		{"kwargs", &Dict{Entries: []Entry{{"plugins", plugins}}}},
	}}
	trainer := &Config{Fn: Dotted("nemo.lightning.pytorch.trainer.Trainer"), Args: []Arg{
		{"accelerator", "cpu"}, {"strategy", strategy}, {"devices", 1},
	}}
	return &Config{Fn: Dotted("nemo.lightning.io.pl.TrainerContext"), Args: []Arg{
		{"model", model}, {"trainer", trainer}, {"extra", &Dict{}},
	}}
}

// goldenShared is the tree gen_golden.py's shared() builds in Python.
func goldenShared() *Dict {
	sharedList := &List{Items: []any{1, 2.5, "x"}}
	sharedCfg := &Config{Fn: spTok, Args: []Arg{{"model_path", "caf\u00e9 \"q\" 'a'\n\u2581\U0001f600"}}}
	d := &Dict{Entries: []Entry{
		{"a", sharedList}, {"b", sharedList}, {3, &Tuple{}},
		{"t", &Tuple{Items: []any{1, &Tuple{Items: []any{2}}}}},
		{"cfg", sharedCfg}, {"cfg2", sharedCfg},
	}}
	floats := &List{Items: []any{0.0, math.Copysign(0, -1), 1.0, 1e-05, 0.0001, 1e16, 1e15, 123456789.125,
		1.5e-07, -2.75, 1e300, 0.008944, math.Inf(1), math.Inf(-1)}}
	attn := func(m string) Ref {
		return Ref{Module: "megatron.core.transformer.enums", Name: "AttnBackend." + m, Kind: Enum}
	}
	return &Dict{Entries: []Entry{
		{"dict", d},
		{"again", d},
		{"floats", floats},
		{"ints", &List{Items: []any{0, -1, int64(1) << 62, true, false, nil}}},
		{"enum", attn("auto")},
		{"enums", &List{Items: []any{attn("auto"), attn("flash")}}},
		{"fn", silu},
		{"fn2", &List{Items: []any{silu, bf16}}},
		{"builtin", Ref{Module: "_json", Name: "scanstring", Kind: Builtin}},
		{"partial", &Config{Type: FiddlePartial, Fn: spTok, Args: []Arg{{"model_path", nil}}}},
		{"empty", &Dict{}},
		{"emptylist", &List{}},
	}}
}

// TestMarshalGolden compares Marshal with what the real fiddle's dump_json
// wrote for the same Python trees (testdata/gen_golden.py).
func TestMarshalGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		tree any
	}{
		{"trainer_context", goldenTrainerContext()},
		{"shared", goldenShared()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", tc.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Marshal(tc.tree)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal differs from fiddle's dump_json at byte %d:\n got: %s\nwant: %s",
					firstDiff(got, want), excerpt(got, firstDiff(got, want)), excerpt(want, firstDiff(got, want)))
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func excerpt(b []byte, at int) string {
	lo, hi := max(0, at-120), min(len(b), at+120)
	return string(b[lo:hi])
}

// TestMarshalStructure checks the invariants fiddle's deserializer relies
// on, independently of the golden bytes: every ref resolves, refcounts
// count the refs, and the paths name where each value sits.
func TestMarshalStructure(t *testing.T) {
	data, err := Marshal(goldenTrainerContext())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Root      map[string]any            `json:"root"`
		Objects   map[string]map[string]any `json:"objects"`
		Refcounts map[string]int            `json:"refcounts"`
		Version   string                    `json:"version"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != Version {
		t.Errorf("version %q", doc.Version)
	}
	counts := map[string]int{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["type"] == "ref" {
				key := v["key"].(string)
				if _, ok := doc.Objects[key]; !ok {
					t.Errorf("ref %q does not resolve", key)
				}
				counts[key]++
				return
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc.Root)
	for _, o := range doc.Objects {
		walk(o)
	}
	if len(counts) != len(doc.Objects) {
		t.Errorf("%d objects, %d referenced", len(doc.Objects), len(counts))
	}
	for k, n := range doc.Refcounts {
		if counts[k] != n {
			t.Errorf("refcount of %s is %d, counted %d refs", k, n, counts[k])
		}
	}
	want := map[string]string{
		"<root>":                  "nemo.lightning.io.pl.TrainerContext",
		"<root>.model":            "nemo.collections.llm.gpt.model.llama.LlamaModel",
		"<root>.model.config":     "nemo.collections.llm.gpt.model.llama.Llama3Config8B",
		"<root>.model.tokenizer":  spTok.String(),
		"<root>.trainer.strategy": "nemo.lightning.pytorch.strategies.megatron_strategy.MegatronStrategy",
		"<root>.trainer.strategy.kwargs['plugins']": "nemo.lightning.pytorch.plugins.mixed_precision.MegatronMixedPrecision",
	}
	found := map[string]string{}
	for _, o := range doc.Objects {
		paths, _ := o["paths"].([]any)
		meta, _ := o["metadata"].(map[string]any)
		if meta == nil || meta["type"] != "ref" {
			continue
		}
		mo := doc.Objects[meta["key"].(string)]
		if mo["type"].(map[string]any)["name"] != "BuildableTraverserMetadata" {
			continue
		}
		fn := mo["items"].([]any)[0].([]any)[1].(map[string]any)
		for _, p := range paths {
			found[p.(string)] = fn["module"].(string) + "." + fn["name"].(string)
		}
	}
	for p, cls := range want {
		if found[p] != cls {
			t.Errorf("path %s: got %q, want %q", p, found[p], cls)
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	cyclic := &List{}
	cyclic.Items = []any{cyclic}
	for _, tc := range []struct {
		name string
		tree any
	}{
		{"unknown type", struct{}{}},
		{"float32", float32(1)},
		{"incomplete ref", Ref{Name: "x"}},
		{"invalid utf8", "\xff"},
		{"nil config", (*Config)(nil)},
		{"cycle", cyclic},
		{"duplicate arg", &Config{Fn: silu, Args: []Arg{{"a", 1}, {"a", 2}}}},
		{"bad dict key", &Dict{Entries: []Entry{{1.5, 1}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Marshal(tc.tree); !errors.Is(err, ErrUnserializable) {
				t.Errorf("err = %v, want ErrUnserializable", err)
			}
		})
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"Llama3Config8B":             "llama3_config8_b",
		"GPTConfig":                  "gptconfig",
		"MixtralConfig8x7B":          "mixtral_config8x7_b",
		"BuildableTraverserMetadata": "buildable_traverser_metadata",
		"_private":                   "_private",
		"a_B":                        "a_b",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestKeyRepr checks the path element code fiddle writes for dict keys:
// repr(key) for str and int keys.
func TestKeyRepr(t *testing.T) {
	for k, want := range map[any]string{"plugins": `'plugins'`, "it's": `"it's"`, 3: "3", int64(-4): "-4"} {
		if got := keyRepr(k); got != want {
			t.Errorf("keyRepr(%#v) = %s, want %s", k, got, want)
		}
	}
}

// TestWalk reads Marshal's output the way fiddle's deserializer does (in
// Python, without fiddle) and finds every object where NeMo looks for it.
func TestWalk(t *testing.T) {
	for name, tree := range map[string]any{"trainer_context": goldenTrainerContext(), "shared": goldenShared()} {
		data, err := Marshal(tree)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), name+".json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		report := fiddletest.Walk(t, path)
		if name != "trainer_context" {
			if o := report["<root>['again']['cfg2']"]; o.Class != spTok.String() {
				t.Errorf("shared config: %+v", o)
			}
			continue
		}
		for p, cls := range map[string]string{
			"<root>":                 "nemo.lightning.io.pl.TrainerContext",
			"<root>.model":           "nemo.collections.llm.gpt.model.llama.LlamaModel",
			"<root>.model.config":    "nemo.collections.llm.gpt.model.llama.Llama3Config8B",
			"<root>.model.tokenizer": spTok.String(),
			"<root>.trainer":         "nemo.lightning.pytorch.trainer.Trainer",
		} {
			if report[p].Class != cls {
				t.Errorf("%s: %q, want %s", p, report[p].Class, cls)
			}
		}
		args := report["<root>.model.config"].Args
		if args["bf16"] != true || args["params_dtype"] != "pyref:torch.bfloat16" || args["fp8_amax_history_len"] != 1024.0 {
			t.Errorf("config args %v", args)
		}
		if o := report["<root>.trainer.strategy.kwargs['plugins']"]; o.Type != "nemo_run.config.Config" {
			t.Errorf("plugins %+v", o)
		}
	}
}

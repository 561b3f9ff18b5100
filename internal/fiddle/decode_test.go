package fiddle_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
	"github.com/nemo-migrate/nemo-migrate/internal/fiddle/fiddletest"
	"github.com/nemo-migrate/nemo-migrate/internal/membudget"
)

func golden(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var goldenFiles = []string{"trainer_context.json", "shared.json"}

// visit calls f on every value of the tree once, shared values included
// once.
func visit(v any, f func(any)) {
	seen := map[any]bool{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case *fiddle.Config, *fiddle.List, *fiddle.Tuple, *fiddle.Dict, *fiddle.Object:
			if seen[x] {
				return
			}
			seen[x] = true
		}
		f(v)
		switch x := v.(type) {
		case *fiddle.Config:
			for _, a := range x.Args {
				walk(a.Value)
			}
		case *fiddle.List:
			for _, it := range x.Items {
				walk(it)
			}
		case *fiddle.Tuple:
			for _, it := range x.Items {
				walk(it)
			}
		case *fiddle.Dict:
			for _, en := range x.Entries {
				walk(en.Value)
			}
		case *fiddle.Object:
			for _, it := range x.Items {
				walk(it.Value)
			}
			walk(x.Metadata)
		}
	}
	walk(v)
}

// markEnums gives the golden files' enum members (gen_golden.py's
// AttnBackend) the Kind the document cannot tell (see Root).
func markEnums(v any) {
	fix := func(x any) any {
		if r, ok := x.(fiddle.Ref); ok && r.Module == "megatron.core.transformer.enums" {
			r.Kind = fiddle.Enum
			return r
		}
		return x
	}
	visit(v, func(v any) {
		switch x := v.(type) {
		case *fiddle.Config:
			for i := range x.Args {
				x.Args[i].Value = fix(x.Args[i].Value)
			}
		case *fiddle.List:
			for i := range x.Items {
				x.Items[i] = fix(x.Items[i])
			}
		case *fiddle.Dict:
			for i := range x.Entries {
				x.Entries[i].Value = fix(x.Entries[i].Value)
			}
		}
	})
}

// TestDecodeGoldenRoundTrip decodes the files the real fiddle wrote and
// writes them again: Marshal is byte-exact with fiddle for a tree, so
// getting the same bytes back means the decoder rebuilt the tree fiddle
// serialized, sharing, order, kinds of references and all.
func TestDecodeGoldenRoundTrip(t *testing.T) {
	for _, name := range goldenFiles {
		t.Run(name, func(t *testing.T) {
			data := golden(t, name)
			v, err := fiddle.Unmarshal(data)
			if err != nil {
				t.Fatal(err)
			}
			markEnums(v)
			got, err := fiddle.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				i := 0
				for i < len(got) && i < len(data) && got[i] == data[i] {
					i++
				}
				t.Fatalf("re-encoded document differs at byte %d:\n got  ...%s\n want ...%s", i,
					decodeExcerpt(got, i), decodeExcerpt(data, i))
			}
		})
	}
}

func decodeExcerpt(b []byte, i int) string {
	lo, hi := max(0, i-60), min(len(b), i+60)
	return string(b[lo:hi])
}

// TestDecodeGoldenValues checks the values of shared.json against what
// gen_golden.py built in Python.
func TestDecodeGoldenValues(t *testing.T) {
	v, err := fiddle.Unmarshal(golden(t, "shared.json"))
	if err != nil {
		t.Fatal(err)
	}
	root, ok := v.(*fiddle.Dict)
	if !ok {
		t.Fatalf("root is %T", v)
	}
	var keys []any
	get := map[any]any{}
	for _, en := range root.Entries {
		keys = append(keys, en.Key)
		get[en.Key] = en.Value
	}
	wantKeys := []any{"dict", "again", "floats", "ints", "enum", "enums", "fn", "fn2", "builtin", "partial", "empty", "emptylist"}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Fatalf("root keys %v, want %v", keys, wantKeys)
	}
	d := get["dict"].(*fiddle.Dict)
	if get["again"] != any(d) {
		t.Error("dict and again are not one shared dict")
	}
	if len(d.Entries) != 6 {
		t.Fatalf("dict has %d entries", len(d.Entries))
	}
	a, b := d.Entries[0].Value.(*fiddle.List), d.Entries[1].Value.(*fiddle.List)
	if a != b || !reflect.DeepEqual(a.Items, []any{1, 2.5, "x"}) {
		t.Errorf("shared list: %p %p %#v", a, b, a.Items)
	}
	if d.Entries[2].Key != 3 || !reflect.DeepEqual(d.Entries[2].Value, &fiddle.Tuple{Items: []any{}}) {
		t.Errorf("int key / empty tuple: %#v", d.Entries[2])
	}
	if want := (&fiddle.Tuple{Items: []any{1, &fiddle.Tuple{Items: []any{2}}}}); !reflect.DeepEqual(d.Entries[3].Value, want) {
		t.Errorf("nested tuple: %#v", d.Entries[3].Value)
	}
	cfg := d.Entries[4].Value.(*fiddle.Config)
	if d.Entries[5].Value != any(cfg) {
		t.Error("cfg and cfg2 are not one shared Config")
	}
	spm := fiddle.Dotted("nemo.collections.common.tokenizers.sentencepiece_tokenizer.SentencePieceTokenizer")
	want := &fiddle.Config{Fn: spm, Args: []fiddle.Arg{{"model_path", "caf\u00e9 \"q\" 'a'\n\u2581\U0001f600"}}}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("cfg = %#v", cfg)
	}
	floats := []float64{0.0, math.Copysign(0, -1), 1.0, 1e-05, 0.0001, 1e16, 1e15, 123456789.125, 1.5e-07, -2.75,
		1e300, 0.008944, math.Inf(1), math.Inf(-1)}
	fl := get["floats"].(*fiddle.List)
	if len(fl.Items) != len(floats) {
		t.Fatalf("floats: %v", fl.Items)
	}
	for i, f := range floats {
		if g, ok := fl.Items[i].(float64); !ok || math.Float64bits(g) != math.Float64bits(f) {
			t.Errorf("floats[%d] = %#v, want %v", i, fl.Items[i], f)
		}
	}
	if want := []any{0, -1, 1 << 62, true, false, nil}; !reflect.DeepEqual(get["ints"].(*fiddle.List).Items, want) {
		t.Errorf("ints = %#v", get["ints"])
	}
	auto := fiddle.Ref{Module: "megatron.core.transformer.enums", Name: "AttnBackend.auto"}
	flash := fiddle.Ref{Module: "megatron.core.transformer.enums", Name: "AttnBackend.flash"}
	if get["enum"] != any(auto) || !reflect.DeepEqual(get["enums"], &fiddle.List{Items: []any{auto, flash}}) {
		t.Errorf("enums: %#v %#v", get["enum"], get["enums"])
	}
	silu := fiddle.Class("torch.nn.functional", "silu")
	bf16 := fiddle.Ref{Module: "torch", Name: "bfloat16", Kind: fiddle.Constant}
	if get["fn"] != any(silu) || !reflect.DeepEqual(get["fn2"], &fiddle.List{Items: []any{silu, bf16}}) {
		t.Errorf("functions: %#v %#v", get["fn"], get["fn2"])
	}
	if want := (fiddle.Ref{Module: "_json", Name: "scanstring", Kind: fiddle.Builtin}); get["builtin"] != any(want) {
		t.Errorf("builtin = %#v", get["builtin"])
	}
	if want := (&fiddle.Config{Type: fiddle.FiddlePartial, Fn: spm, Args: []fiddle.Arg{{"model_path", nil}}}); !reflect.DeepEqual(get["partial"], want) {
		t.Errorf("partial = %#v", get["partial"])
	}
	if !reflect.DeepEqual(get["empty"], &fiddle.Dict{Entries: []fiddle.Entry{}}) || !reflect.DeepEqual(get["emptylist"], &fiddle.List{Items: []any{}}) {
		t.Errorf("empty containers: %#v %#v", get["empty"], get["emptylist"])
	}
}

// pathsOf returns every path (fiddle's path strings) of every Buildable
// in the tree, shared ones under each of their paths.
func pathsOf(t *testing.T, v any) map[string]*fiddle.Config {
	out := map[string]*fiddle.Config{}
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch x := v.(type) {
		case *fiddle.Config:
			out[path] = x
			for _, a := range x.Args {
				walk(a.Value, path+"."+a.Name)
			}
		case *fiddle.List:
			for i, it := range x.Items {
				walk(it, path+"["+strconv.Itoa(i)+"]")
			}
		case *fiddle.Tuple:
			for i, it := range x.Items {
				walk(it, path+"["+strconv.Itoa(i)+"]")
			}
		case *fiddle.Dict:
			for _, en := range x.Entries {
				switch k := en.Key.(type) {
				case int:
					walk(en.Value, path+"["+strconv.Itoa(k)+"]")
				case string:
					if strings.ContainsAny(k, `'"\`) || strings.IndexFunc(k, func(r rune) bool { return r < ' ' || r > '~' }) >= 0 {
						t.Fatalf("test helper cannot write the repr of key %q", k)
					}
					walk(en.Value, path+"['"+k+"']")
				}
			}
		}
	}
	walk(v, "<root>")
	return out
}

// show renders a decoded argument as fiddletest's walk does.
func show(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case fiddle.Ref:
		return "pyref:" + x.String()
	case *fiddle.Config:
		return "obj:" + x.Fn.String()
	case *fiddle.List:
		return "obj:builtins.list"
	case *fiddle.Tuple:
		return "obj:builtins.tuple"
	case *fiddle.Dict:
		return "obj:builtins.dict"
	case *fiddle.Object:
		return "obj:" + x.Type.String()
	}
	return v
}

// TestDecodeAgainstPython compares the decoded golden files with what a
// Python walk in the manner of fiddle's Deserialization reads from them:
// the same Buildables at the same paths, with the same classes and
// arguments.
func TestDecodeAgainstPython(t *testing.T) {
	for _, name := range goldenFiles {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			report := fiddletest.Walk(t, path)
			v, err := fiddle.Unmarshal(golden(t, name))
			if err != nil {
				t.Fatal(err)
			}
			mine := pathsOf(t, v)
			if len(mine) != len(report) {
				t.Errorf("%d Buildables decoded, Python found %d", len(mine), len(report))
			}
			for p, obj := range report {
				c, ok := mine[p]
				if !ok {
					t.Errorf("%s: Python finds a Buildable, the decoder none", p)
					continue
				}
				if c.Fn.String() != obj.Class || c.BuildableType().String() != obj.Type {
					t.Errorf("%s: %s (%s), Python %s (%s)", p, c.Fn, c.BuildableType(), obj.Class, obj.Type)
				}
				got := map[string]any{}
				for _, a := range c.Args {
					got[a.Name] = show(a.Value)
				}
				if !reflect.DeepEqual(got, obj.Args) {
					t.Errorf("%s: arguments %v, Python %v", p, got, obj.Args)
				}
			}
		})
	}
}

func TestDecodeAt(t *testing.T) {
	doc, err := fiddle.Parse(golden(t, "trainer_context.json"))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Version != fiddle.Version {
		t.Errorf("version %q", doc.Version)
	}
	for _, c := range []struct{ path, fn, typ string }{
		{"<root>", "nemo.lightning.io.pl.TrainerContext", "fiddle._src.config.Config"},
		{"<root>.model", "nemo.collections.llm.gpt.model.llama.LlamaModel", "fiddle._src.config.Config"},
		{"<root>.model.config", "nemo.collections.llm.gpt.model.llama.Llama3Config8B", "fiddle._src.config.Config"},
		{"<root>.trainer.strategy.kwargs['plugins']", "nemo.lightning.pytorch.plugins.mixed_precision.MegatronMixedPrecision", "nemo_run.config.Config"},
	} {
		v, ok, err := doc.At(c.path)
		if err != nil || !ok {
			t.Fatalf("At(%s): %v %v", c.path, ok, err)
		}
		cfg, isCfg := v.(*fiddle.Config)
		if !isCfg || cfg.Fn.String() != c.fn || cfg.BuildableType().String() != c.typ {
			t.Errorf("At(%s) = %#v", c.path, v)
		}
	}
	v, _, _ := doc.At("<root>.model.config")
	want := &fiddle.Config{Fn: fiddle.Dotted("nemo.collections.llm.gpt.model.llama.Llama3Config8B"), Args: []fiddle.Arg{
		{"bf16", true}, {"params_dtype", fiddle.Ref{Module: "torch", Name: "bfloat16", Kind: fiddle.Constant}},
		{"fp8", "hybrid"}, {"fp8_amax_history_len", 1024}, {"fp8_amax_compute_algo", "max"},
	}}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("model config = %#v", v)
	}
	// "<root>.model.config.bf16" is a leaf's path, not an object's; a
	// path prefix is not a path.
	for _, p := range []string{"<root>.model.config.bf16", "<root>.mod", "model"} {
		if v, ok, err := doc.At(p); ok || err != nil || v != nil {
			t.Errorf("At(%s) = %v, %v, %v", p, v, ok, err)
		}
	}
	if keys := doc.Keys(); len(keys) != 38 || keys[0] != "tuple_1" || keys[37] != "trainer_context_1" {
		t.Errorf("keys %v", keys)
	}
}

// writerTrees are trees that exercise every value Marshal writes.
func writerTrees() []any {
	shared := &fiddle.List{Items: []any{1, "two", 3.5}}
	tok := &fiddle.Config{Fn: fiddle.Dotted("a.b.Tokenizer"), Args: []fiddle.Arg{{"model_path", "t.model"}, {"legacy", false}}}
	cfg := &fiddle.Config{Fn: fiddle.Dotted("nemo.collections.llm.gpt.model.llama.Llama3Config8B"), Args: []fiddle.Arg{
		{"bf16", true},
		{"params_dtype", fiddle.Ref{Module: "torch", Name: "bfloat16", Kind: fiddle.Constant}},
		{"num_layers", 2},
		{"layernorm_epsilon", 1e-05},
		{"rotary_base", 500000.0},
		{"window_size", &fiddle.List{Items: []any{4096, 0}}},
		{"activation_func", fiddle.Ref{Module: "torch._C._nn", Name: "gelu", Kind: fiddle.Builtin}},
		{"init_method", nil},
		{"fp8", "hybrid"},
	}}
	model := &fiddle.Config{Fn: fiddle.Dotted("nemo.collections.llm.gpt.model.llama.LlamaModel"), Args: []fiddle.Arg{
		{"config", cfg}, {"tokenizer", tok},
	}}
	return []any{
		&fiddle.Config{Fn: fiddle.Dotted("nemo.lightning.io.pl.TrainerContext"), Args: []fiddle.Arg{
			{"model", model},
			{"trainer", &fiddle.Config{Type: fiddle.RunConfig, Fn: fiddle.Dotted("x.Trainer"), Args: []fiddle.Arg{
				{"devices", 1}, {"kwargs", &fiddle.Dict{Entries: []fiddle.Entry{{"plugins", &fiddle.Config{Type: fiddle.RunPartial, Fn: fiddle.Dotted("x.P")}}}}},
			}}},
			{"extra", &fiddle.Dict{Entries: []fiddle.Entry{}}},
		}},
		&fiddle.Dict{Entries: []fiddle.Entry{
			{"a", shared}, {"b", shared}, {7, &fiddle.Tuple{Items: []any{}}}, {"t", &fiddle.Tuple{Items: []any{shared, &fiddle.Tuple{Items: []any{-1}}}}},
			{"s", "caf\u00e9\t\"\\\U0001f600"},
			{"tok", tok}, {"tok2", tok}, {"partial", &fiddle.Config{Type: fiddle.FiddlePartial, Fn: fiddle.Class("m", "f"), Args: []fiddle.Arg{{"x", math.Inf(-1)}}}},
			{"big", int64(1) << 62}, {"neg0", math.Copysign(0, -1)},
		}},
		&fiddle.List{Items: []any{nil, true, 0, "", 1e300, 5e-324, fiddle.Class("torch.nn.functional", "silu")}},
	}
}

// normalize returns the tree the decoder is expected to give for a tree
// built in Go: int64 as int, fdl.Config's Type zero.
func normalize(v any) any {
	memo := map[any]any{}
	var n func(any) any
	n = func(v any) any {
		if m, ok := memo[v]; ok {
			return m
		}
		switch x := v.(type) {
		case int64:
			return int(x)
		case *fiddle.Config:
			c := &fiddle.Config{Type: x.Type, Fn: x.Fn, Args: make([]fiddle.Arg, len(x.Args))}
			if c.Type == fiddle.FiddleConfig {
				c.Type = fiddle.Ref{}
			}
			memo[v] = c
			for i, a := range x.Args {
				c.Args[i] = fiddle.Arg{a.Name, n(a.Value)}
			}
			return c
		case *fiddle.List:
			l := &fiddle.List{Items: make([]any, len(x.Items))}
			memo[v] = l
			for i, it := range x.Items {
				l.Items[i] = n(it)
			}
			return l
		case *fiddle.Tuple:
			l := &fiddle.Tuple{Items: make([]any, len(x.Items))}
			if len(x.Items) > 0 {
				memo[v] = l
			}
			for i, it := range x.Items {
				l.Items[i] = n(it)
			}
			return l
		case *fiddle.Dict:
			d := &fiddle.Dict{Entries: make([]fiddle.Entry, len(x.Entries))}
			memo[v] = d
			for i, en := range x.Entries {
				d.Entries[i] = fiddle.Entry{en.Key, n(en.Value)}
			}
			return d
		}
		return v
	}
	return n(v)
}

// TestDecodeWriterRoundTrip reads back what Marshal writes: the same
// tree, shared values shared.
func TestDecodeWriterRoundTrip(t *testing.T) {
	for i, tree := range writerTrees() {
		data, err := fiddle.Marshal(tree)
		if err != nil {
			t.Fatalf("tree %d: %v", i, err)
		}
		got, err := fiddle.Unmarshal(data)
		if err != nil {
			t.Fatalf("tree %d: %v\n%s", i, err, data)
		}
		if want := normalize(tree); !reflect.DeepEqual(got, want) {
			t.Errorf("tree %d:\n got  %#v\n want %#v", i, got, want)
		}
		again, err := fiddle.Marshal(got)
		if err != nil || !bytes.Equal(again, data) {
			t.Errorf("tree %d: re-encoding differs (%v)", i, err)
		}
	}
	// Sharing survives: one pointer for one Python object.
	data, _ := fiddle.Marshal(writerTrees()[1])
	v, err := fiddle.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	d := v.(*fiddle.Dict)
	if d.Entries[0].Value != d.Entries[1].Value || d.Entries[0].Value != d.Entries[3].Value.(*fiddle.Tuple).Items[0] {
		t.Error("shared list decoded as copies")
	}
}

// doc assembles a document from a root value and objects given as JSON.
func doc(root string, objects ...string) string {
	var b strings.Builder
	b.WriteString(`{"root": ` + root + `, "objects": {`)
	for i := 0; i < len(objects); i += 2 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(objects[i]) + ": " + objects[i+1])
	}
	b.WriteString(`}, "refcounts": {}, "version": "0.0.1"}`)
	return b.String()
}

const (
	listType  = `{"type": "pyref", "module": "builtins", "name": "list"}`
	dictType  = `{"type": "pyref", "module": "builtins", "name": "dict"}`
	tupleType = `{"type": "pyref", "module": "builtins", "name": "tuple"}`
	cfgType   = `{"type": "pyref", "module": "fiddle._src.config", "name": "Config"}`
	btmType   = `{"type": "pyref", "module": "fiddle._src.config", "name": "BuildableTraverserMetadata"}`
)

func list(items ...string) string {
	var parts []string
	for i, it := range items {
		parts = append(parts, fmt.Sprintf(`["Index(index=%d)", %s]`, i, it))
	}
	return `{"type": ` + listType + `, "items": [` + strings.Join(parts, ", ") + `], "metadata": null}`
}

func ref(key string) string { return `{"type": "ref", "key": ` + strconv.Quote(key) + `}` }

// config is a Buildable of m.C with the given argument names (as the
// BTM's tuple) and items (JSON values, one per name unless mismatched on
// purpose).
func config(names string, items ...string) string {
	var parts []string
	for _, it := range items {
		parts = append(parts, `["Attr(name='x')", `+it+`]`)
	}
	btm := `{"type": ` + btmType + `, "items": [["Attr(name='fn_or_cls')", {"type": "pyref", "module": "m", "name": "C"}], ` +
		`["Attr(name='argument_names')", ` + names + `], ["Attr(name='argument_tags')", ` + emptyDict + `], ` +
		`["Attr(name='argument_history')", ` + emptyDict + `]], "metadata": ` + btmType + `}`
	return `{"type": ` + cfgType + `, "items": [` + strings.Join(parts, ", ") + `], "metadata": ` + btm + `}`
}

const emptyDict = `{"type": {"type": "pyref", "module": "builtins", "name": "dict"}, "items": [], "metadata": {"type": {"type": "pyref", "module": "builtins", "name": "tuple"}, "items": [], "metadata": null}}`

func tuple(items ...string) string {
	var parts []string
	for i, it := range items {
		parts = append(parts, fmt.Sprintf(`["Index(index=%d)", %s]`, i, it))
	}
	return `{"type": ` + tupleType + `, "items": [` + strings.Join(parts, ", ") + `], "metadata": null}`
}

func leaf(v string) string { return `{"type": "leaf", "value": ` + v + `, "paths": ["<root>"]}` }

// chain returns n objects l0..l(n-1), each a list holding the next one
// `fan` times; the last is empty.
func chain(n, fan int) []string {
	var objs []string
	for i := 0; i < n; i++ {
		var items []string
		if i < n-1 {
			for j := 0; j < fan; j++ {
				items = append(items, ref("l"+strconv.Itoa(i+1)))
			}
		}
		objs = append(objs, "l"+strconv.Itoa(i), list(items...))
	}
	return objs
}

// hostileDocs are documents that must be refused with an error naming
// what is wrong (and, where one is to blame, the object).
func hostileDocs() []struct{ name, doc, want, object string } {
	return []struct{ name, doc, want, object string }{
		{"empty", ``, "unexpected end", ""},
		{"not json", `{"root": `, "unexpected end", ""},
		{"trailing", doc(leaf("1")) + "x", "extra data", ""},
		{"bom", "\xef\xbb\xbf" + doc(leaf("1")), "byte order mark", ""},
		{"bad utf8", "{\"root\": \"\xff\"}", "invalid UTF-8", ""},
		{"control char", "{\"root\": \"a\x01\"}", "control character", ""},
		{"lone surrogate", `{"root": "\ud800", "objects": {}}`, "surrogate", ""},
		{"bad escape", `{"root": "\q", "objects": {}}`, "invalid escape", ""},
		{"big int", doc(leaf("123456789012345678901234567890")), "out of range", ""},
		{"repeated member", `{"root": 1, "root": 2, "objects": {}}`, "repeated member", ""},
		{"array top", `[1]`, "want an object", ""},
		{"no root", `{"objects": {}}`, `no "root"`, ""},
		{"no objects", `{"root": 1}`, `no "objects"`, ""},
		{"objects not object", `{"root": 1, "objects": []}`, `"objects" is an array`, ""},
		{"version not string", `{"root": 1, "objects": {}, "version": 1}`, "version", ""},
		{"bad refcount", `{"root": 1, "objects": {}, "refcounts": {"a": -1}}`, "refcount", ""},
		{"object not object", doc(ref("a"), "a", "5"), "want an object", "a"},
		{"object type not pyref", doc(ref("a"), "a", leaf("1")), "type", "a"},
		{"object bad paths", doc(ref("a"), "a", `{"type": `+listType+`, "items": [], "metadata": null, "paths": "<root>"}`), "paths", "a"},
		{"dangling ref", doc(ref("a"), "a", list(ref("nope"))), `"nope", which is not among the objects`, "a"},
		{"dangling root", doc(ref("nope")), "not among the objects", ""},
		{"self cycle", doc(ref("a"), "a", list(ref("a"))), "cycle", "a"},
		{"two cycle", doc(ref("a"), "a", list(ref("b")), "b", list(leaf("1"), ref("a"))), "cycle", "b"},
		{"ref without key", doc(`{"type": "ref"}`), "ref without a key", ""},
		{"value without type", doc(`{"value": 1}`), `without "type"`, ""},
		{"unknown type", doc(`{"type": "thing"}`), "unknown value type", ""},
		{"pyref without name", doc(`{"type": "pyref", "module": "m"}`), "module and name", ""},
		{"pyref empty module", doc(`{"type": "pyref", "module": "", "name": "x"}`), "module and name", ""},
		{"leaf with list", doc(`{"type": "leaf", "value": [1]}`), "JSON primitive", ""},
		{"leaf without value", doc(`{"type": "leaf"}`), "without a value", ""},
		{"items not array", doc(ref("a"), "a", `{"type": `+listType+`, "items": {}, "metadata": null}`), "items array", "a"},
		{"item not pair", doc(ref("a"), "a", `{"type": `+listType+`, "items": [[1]], "metadata": null}`), "pair", "a"},
		{"item elem not string", doc(ref("a"), "a", `{"type": `+listType+`, "items": [[1, 2]], "metadata": null}`), "pair", "a"},
		{"no metadata", doc(ref("a"), "a", `{"type": `+listType+`, "items": []}`), "without metadata", "a"},
		{"dict without keys", doc(ref("a"), "a", `{"type": `+dictType+`, "items": [["Key(key='k')", 1]], "metadata": null}`), "keys", "a"},
		{"dict key count", doc(ref("a"), "a", `{"type": `+dictType+`, "items": [["Key(key='k')", 1]], "metadata": `+tuple()+`}`), "1 values and 0 keys", "a"},
		{"dict float key", doc(ref("a"), "a", `{"type": `+dictType+`, "items": [["Key(key=1.5)", 1]], "metadata": `+tuple("1.5")+`}`), "want a string or an int", "a"},
		{"dict repeated key", doc(ref("a"), "a", `{"type": `+dictType+`, "items": [["k", 1], ["k", 2]], "metadata": `+tuple(`"k"`, `"k"`)+`}`), "repeated", "a"},
		{"config without btm", doc(ref("a"), "a", `{"type": `+cfgType+`, "items": [], "metadata": null}`), "without BuildableTraverserMetadata", "a"},
		{"config name count", doc(ref("a"), "a", config(tuple(`"x"`, `"y"`), leaf("1"))), "1 argument values and 2 argument names", "a"},
		{"config names not tuple", doc(ref("a"), "a", config(`"x"`, leaf("1"))), "want a tuple", "a"},
		{"config name not string", doc(ref("a"), "a", config(tuple("3"), leaf("1"))), "want a string", "a"},
		{"config repeated arg", doc(ref("a"), "a", config(tuple(`"x"`, `"x"`), leaf("1"), leaf("2"))), "given twice", "a"},
		{"btm short", doc(ref("a"), "a", `{"type": `+cfgType+`, "items": [], "metadata": {"type": `+btmType+`, "items": [], "metadata": null}}`), "fields", "a"},
		{"btm fn not pyref", doc(ref("a"), "a", `{"type": `+cfgType+`, "items": [], "metadata": {"type": `+btmType+`, "items": [["a", 1], ["b", `+tuple()+`]], "metadata": null}}`), "fn_or_cls", "a"},
		{"json nesting", doc(strings.Repeat("[", 5000) + strings.Repeat("]", 5000)), "nesting deeper", ""},
		{"fiddle nesting", doc(ref("l0"), chain(fiddle.MaxDepth+5, 1)...), "deeper than", "l256"},
		{"fiddle nesting inline", doc(strings.Repeat(`{"type": `+listType+`, "items": [["i", `, 300) + "1" + strings.Repeat(`]], "metadata": null}`, 300)), "deeper than", ""},
		{"expansion", doc(ref("l0"), chain(24, 2)...), "expands to more than", "l4"},
	}
}

func TestDecodeHostile(t *testing.T) {
	for _, c := range hostileDocs() {
		t.Run(c.name, func(t *testing.T) {
			_, err := fiddle.Unmarshal([]byte(c.doc))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			var de *fiddle.DecodeError
			if errors.As(err, &de) {
				if de.Object != c.object {
					t.Errorf("error %q names object %q, want %q", err, de.Object, c.object)
				}
				if de.Object != "" && !strings.Contains(err.Error(), strconv.Quote(de.Object)) {
					t.Errorf("error %q does not name the object", err)
				}
			} else if c.object != "" {
				t.Errorf("error %T %q, want a DecodeError naming %q", err, err, c.object)
			}
		})
	}
}

// TestDecodeSharedDeep: a deep value shared by a shallow and a deep
// reference nests deeper at the second; the limit holds there too.
func TestDecodeSharedDeep(t *testing.T) {
	objs := chain(200, 1)
	// root = [l0, deep], where deep nests 100 lists around a ref to l0.
	deep := ref("l0")
	for i := 0; i < 100; i++ {
		deep = `{"type": ` + listType + `, "items": [["i", ` + deep + `]], "metadata": null}`
	}
	_, err := fiddle.Unmarshal([]byte(doc(list(ref("l0"), deep), objs...)))
	if err == nil || !strings.Contains(err.Error(), "nests deeper") {
		t.Fatalf("err = %v", err)
	}
	// The same value at depth 1 only is fine.
	if _, err := fiddle.Unmarshal([]byte(doc(list(ref("l0"), ref("l0")), objs...))); err != nil {
		t.Fatal(err)
	}
}

// TestDecodePython covers what Python's json reads and fiddle's reader
// takes that fiddle does not write.
func TestDecodePython(t *testing.T) {
	v, err := fiddle.Unmarshal([]byte(doc(`[NaN, Infinity, -Infinity, 1E+2, -0, 2.5e-3, "\u00e9\ud83d\ude00\/", {"type": "pyref", "module": "m", "name": "f"}]`)))
	if err != nil {
		t.Fatal(err)
	}
	l := v.(*fiddle.List).Items
	if f := l[0].(float64); !math.IsNaN(f) || !math.IsInf(l[1].(float64), 1) || !math.IsInf(l[2].(float64), -1) {
		t.Errorf("non-finite floats: %v", l[:3])
	}
	if l[3] != 100.0 || l[4] != 0 || l[5] != 0.0025 || l[6] != "é😀/" {
		t.Errorf("values %#v", l[3:7])
	}
	// A pyref inside a bare list has no paths: NeMo writes builtin
	// functions so, and the decoder cannot tell a bare list's pyrefs
	// apart; either way it is a Ref.
	if r, ok := l[7].(fiddle.Ref); !ok || r.String() != "m.f" {
		t.Errorf("pyref %#v", l[7])
	}
	// Unknown traversable types are kept as Objects.
	v, err = fiddle.Unmarshal([]byte(doc(ref("a"), "a", `{"type": {"type": "pyref", "module": "m", "name": "NT"}, "items": [["Attr(name='x')", 1]], "metadata": {"type": "pyref", "module": "m", "name": "NT"}}`)))
	if err != nil {
		t.Fatal(err)
	}
	want := &fiddle.Object{Type: fiddle.Class("m", "NT"), Items: []fiddle.Item{{"Attr(name='x')", 1}}, Metadata: fiddle.Class("m", "NT")}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("object %#v", v)
	}
	if _, err := fiddle.Marshal(v); !errors.Is(err, fiddle.ErrUnserializable) {
		t.Errorf("Marshal(*Object) = %v", err)
	}
	// ReadDocument stops reading past MaxSize.
	if _, err := fiddle.ReadDocument(strings.NewReader(strings.Repeat(" ", fiddle.MaxSize+1))); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized document: %v", err)
	}
}

// expanded counts the values of a tree with shared values counted once
// per path, stopping at limit.
func expanded(v any, limit int) int {
	n := 0
	var walk func(any)
	walk = func(v any) {
		if n > limit {
			return
		}
		n++
		switch x := v.(type) {
		case *fiddle.Config:
			for _, a := range x.Args {
				walk(a.Value)
			}
		case *fiddle.List:
			for _, it := range x.Items {
				walk(it)
			}
		case *fiddle.Tuple:
			for _, it := range x.Items {
				walk(it)
			}
		case *fiddle.Dict:
			for _, en := range x.Entries {
				walk(en.Value)
			}
		}
	}
	walk(v)
	return n
}

func FuzzDecode(f *testing.F) {
	for _, name := range goldenFiles {
		f.Add(golden(f, name))
	}
	for _, tree := range writerTrees()[:1] {
		data, err := fiddle.Marshal(tree)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, c := range hostileDocs() {
		if len(c.doc) < 4096 {
			f.Add([]byte(c.doc))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer membudget.Check(t, len(data))()
		d, err := fiddle.Parse(data)
		if err != nil {
			return
		}
		for _, p := range []string{"<root>", "<root>.model", "<root>.model.config"} {
			d.At(p)
		}
		v, err := d.Root()
		if err != nil {
			return
		}
		if expanded(v, 20000) > 20000 {
			return // Marshal walks every path; keep the fuzzer fast
		}
		b1, err := fiddle.Marshal(v)
		if err != nil {
			return // *Object, or beyond Marshal's own limits
		}
		v2, err := fiddle.Unmarshal(b1)
		if err != nil {
			t.Fatalf("decoding Marshal's output: %v\n%s", err, b1)
		}
		b2, err := fiddle.Marshal(v2)
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("second round differs (%v):\n%s\n%s", err, b1, b2)
		}
	})
}

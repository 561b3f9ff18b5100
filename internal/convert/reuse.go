package convert

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo2"
	"github.com/nemo-migrate/nemo-migrate/internal/tokenizer"
)

// Paths of the reused objects in a TrainerContext, as
// io.load_context(dir, subpath="model") looks them up.
const (
	modelPath = "<root>.model"
	// maxArgValues bounds the values one config argument may hold.
	// Explicit config arguments are scalars, functions and short lists;
	// a larger value is no config a NeMo checkpoint records, and every
	// later walk of the tree (io.json, model.yaml) stays small.
	maxArgValues = 4096
)

// contextModel returns the model and config of the NeMo 2.0 checkpoint in
// dir, for --model_id <dir>: NeMo's converter then runs
// io.load_context(dir, subpath="model") and forces config.bf16=True and
// config.params_dtype=torch.bfloat16 (convert_nemo1_to_nemo2.py
// get_nemo2_model), and so does this.
//
// io.json is looked for as io.load_context looks: dir/io.json, then
// dir/context/io.json (or, for a dir named context, its parent's
// io.json). The model at <root>.model must be one of the registry's model
// classes, and its config one of the registry's config classes; the config
// keeps the class and the arguments io.json recorded, so a reused context
// yields the config NeMo would build. The reference context's tokenizer is
// not used. The returned Model's ID is dir.
func contextModel(dir string) (models.Model, *models.Config, error) {
	path, err := findIOJSON(dir)
	if err != nil {
		return models.Model{}, nil, err
	}
	doc, err := readIOJSON(path)
	if err != nil {
		return models.Model{}, nil, err
	}
	v, ok, err := doc.At(modelPath)
	if err != nil {
		return models.Model{}, nil, fmt.Errorf("%s: %s: %w", path, modelPath, err)
	}
	if !ok {
		return models.Model{}, nil, fmt.Errorf("%s has no %s: it is not the context of a NeMo 2.0 checkpoint (a TrainerContext with a model)", path, modelPath)
	}
	model, err := buildable(v, modelPath)
	if err != nil {
		return models.Model{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	classes := modelClasses()
	mc, ok := classes[model.Fn.String()]
	if !ok {
		return models.Model{}, nil, fmt.Errorf("%s: the model is %s; nemo-migrate supports %s", path, model.Fn, supported(classes))
	}
	cv, ok := model.Arg("config")
	if !ok {
		return models.Model{}, nil, fmt.Errorf("%s: %s has no config argument; nemo-migrate reuses only a context that records its model's config", path, modelPath)
	}
	cf, err := buildable(cv, modelPath+".config")
	if err != nil {
		return models.Model{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	configClasses := models.ConfigClasses()
	cc, ok := configClasses[cf.Fn.String()]
	if !ok {
		return models.Model{}, nil, fmt.Errorf("%s: the model config is %s; nemo-migrate supports %s", path, cf.Fn, supported(configClasses))
	}
	cfg := models.NewConfig(cc)
	kinds := refKinds(configClasses)
	for _, a := range cf.Args {
		val, err := configValue(a.Value, kinds, map[any]any{})
		if err == nil && countValues(val, maxArgValues) > maxArgValues {
			err = fmt.Errorf("holds more than %d values", maxArgValues)
		}
		if err != nil {
			return models.Model{}, nil, fmt.Errorf("%s: %s.config.%s: %w", path, modelPath, a.Name, err)
		}
		if err := cfg.Set(a.Name, val); err != nil {
			// NeMo drops arguments the class does not take, with a
			// warning; a field this build does not know may change the
			// architecture, so it is not dropped silently.
			return models.Model{}, nil, fmt.Errorf("%s: %s.config: %w; nemo-migrate knows the fields of NeMo %s", path, modelPath, err, models.NeMoVersion)
		}
	}
	// What get_nemo2_model forces after loading.
	if err := cfg.Set("bf16", true); err != nil {
		return models.Model{}, nil, err
	}
	if err := cfg.Set("params_dtype", fiddle.Ref{Module: "torch", Name: "bfloat16", Kind: fiddle.Constant}); err != nil {
		return models.Model{}, nil, err
	}
	if _, err := cfg.Arch(); err != nil {
		return models.Model{}, nil, fmt.Errorf("%s: %s: %w", path, modelPath+".config", err)
	}
	return models.Model{ID: dir, Class: mc, Config: cc}, cfg, nil
}

// findIOJSON returns the io.json io.load_context reads for dir.
func findIOJSON(dir string) (string, error) {
	second := filepath.Join(dir, "context", nemo2.IOJSONName)
	if filepath.Base(filepath.Clean(dir)) == "context" {
		second = filepath.Join(filepath.Dir(filepath.Clean(dir)), nemo2.IOJSONName)
	}
	var odd string // a candidate that exists but is no regular file
	for _, p := range []string{filepath.Join(dir, nemo2.IOJSONName), second} {
		st, err := os.Stat(p)
		switch {
		case err == nil && st.Mode().IsRegular():
			return p, nil
		case err == nil:
			if odd == "" {
				odd = p
			}
		case !errors.Is(err, fs.ErrNotExist):
			return "", err
		}
	}
	if odd != "" {
		return "", fmt.Errorf("%s is not a regular file", odd)
	}
	return "", fmt.Errorf("%s holds neither %s nor context/%s; --model_id takes a NeMo 2.0 checkpoint directory (with context/io.json), a model id or \"auto\"", dir, nemo2.IOJSONName, nemo2.IOJSONName)
}

func readIOJSON(path string) (*fiddle.Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > fiddle.MaxSize {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d a NeMo context's io.json may be", path, st.Size(), fiddle.MaxSize)
	}
	doc, err := fiddle.ReadDocument(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

// buildable returns v as the fdl.Config NeMo builds an object from.
func buildable(v any, path string) (*fiddle.Config, error) {
	c, ok := v.(*fiddle.Config)
	if !ok {
		return nil, fmt.Errorf("%s is %s, not a configured object", path, kindOf(v))
	}
	if c.IsPartial() {
		return nil, fmt.Errorf("%s is a Partial of %s, which builds a function, not the object", path, c.Fn)
	}
	return c, nil
}

// modelClasses returns the registry's model classes by dotted path.
func modelClasses() map[string]*models.Class { return models.ModelClasses() }

func supported(classes map[string]*models.Class) string {
	var names []string
	for n := range classes {
		names = append(names, n[strings.LastIndexByte(n, '.')+1:])
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// refTable is what the registry knows of the Python values its config
// defaults name: the kind of each (a builtin function such as torch's
// gelu, a torch dtype, an enum member), and the enum classes, so that a
// member io.json names but no default uses is known as one too. io.json
// writes every kind as the same pyref.
type refTable struct {
	kind  map[fiddle.Ref]fiddle.RefKind // by Module and Name, Kind zero
	enums map[fiddle.Ref]bool           // enum classes: Module and class name
}

// refKinds builds the refTable of the given classes' defaults.
func refKinds(classes map[string]*models.Class) refTable {
	t := refTable{kind: map[fiddle.Ref]fiddle.RefKind{}, enums: map[fiddle.Ref]bool{}}
	var add func(v any)
	add = func(v any) {
		switch x := v.(type) {
		case fiddle.Ref:
			t.kind[fiddle.Ref{Module: x.Module, Name: x.Name}] = x.Kind
			if x.Kind == fiddle.Enum {
				if i := strings.LastIndexByte(x.Name, '.'); i > 0 {
					t.enums[fiddle.Ref{Module: x.Module, Name: x.Name[:i]}] = true
				}
			}
		case *fiddle.List:
			for _, it := range x.Items {
				add(it)
			}
		case *fiddle.Tuple:
			for _, it := range x.Items {
				add(it)
			}
		}
	}
	for _, c := range classes {
		for _, p := range c.Params {
			add(p.Default)
		}
	}
	return t
}

// fix gives r the kind the registry knows it by.
func (t refTable) fix(r fiddle.Ref) fiddle.Ref {
	if k, ok := t.kind[fiddle.Ref{Module: r.Module, Name: r.Name}]; ok {
		r.Kind = k
	} else if i := strings.LastIndexByte(r.Name, '.'); i > 0 && t.enums[fiddle.Ref{Module: r.Module, Name: r.Name[:i]}] {
		r.Kind = fiddle.Enum
	}
	return r
}

// configValue converts a decoded argument to the form models.Config holds
// (the value forms of package fiddle, as the registry's defaults are),
// giving references the kind the registry knows them by. Shared values
// stay shared.
func configValue(v any, refs refTable, memo map[any]any) (any, error) {
	if m, ok := memo[v]; ok {
		return m, nil
	}
	switch x := v.(type) {
	case nil, bool, int, float64, string:
		return x, nil
	case fiddle.Ref:
		return refs.fix(x), nil
	case *fiddle.List:
		out := &fiddle.List{Items: make([]any, len(x.Items))}
		memo[v] = out
		for i, it := range x.Items {
			c, err := configValue(it, refs, memo)
			if err != nil {
				return nil, err
			}
			out.Items[i] = c
		}
		return out, nil
	case *fiddle.Tuple:
		out := &fiddle.Tuple{Items: make([]any, len(x.Items))}
		memo[v] = out
		for i, it := range x.Items {
			c, err := configValue(it, refs, memo)
			if err != nil {
				return nil, err
			}
			out.Items[i] = c
		}
		return out, nil
	case *fiddle.Dict:
		out := &fiddle.Dict{Entries: make([]fiddle.Entry, len(x.Entries))}
		memo[v] = out
		for i, en := range x.Entries {
			c, err := configValue(en.Value, refs, memo)
			if err != nil {
				return nil, err
			}
			out.Entries[i] = fiddle.Entry{Key: en.Key, Value: c}
		}
		return out, nil
	case *fiddle.Config:
		out := &fiddle.Config{Type: x.Type, Fn: x.Fn, Args: make([]fiddle.Arg, len(x.Args))}
		memo[v] = out
		for i, a := range x.Args {
			c, err := configValue(a.Value, refs, memo)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a.Name, err)
			}
			out.Args[i] = fiddle.Arg{Name: a.Name, Value: c}
		}
		return out, nil
	}
	return nil, fmt.Errorf("is %s, which nemo-migrate cannot carry into a config", kindOf(v))
}

// countValues counts the values of v as a walk that does not share
// visits them, stopping past limit.
func countValues(v any, limit int) int {
	n := 0
	var walk func(any)
	walk = func(v any) {
		if n > limit {
			return
		}
		n++
		switch x := v.(type) {
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
		case *fiddle.Config:
			for _, a := range x.Args {
				walk(a.Value)
			}
		}
	}
	walk(v)
	return n
}

func kindOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "a bool"
	case int:
		return "an int"
	case float64:
		return "a float"
	case string:
		return "a string"
	case fiddle.Ref:
		return "the Python value " + x.String()
	case *fiddle.Config:
		return "a configured " + x.Fn.String()
	case *fiddle.Object:
		return "a " + x.Type.String()
	case *fiddle.List:
		return "a list"
	case *fiddle.Tuple:
		return "a tuple"
	case *fiddle.Dict:
		return "a dict"
	}
	return fmt.Sprintf("a %T", v)
}

// ContextModel returns the model and config the NeMo 2.0 checkpoint in dir
// records (see contextModel), for commands that read a NeMo 2.0 checkpoint.
func ContextModel(dir string) (models.Model, *models.Config, error) { return contextModel(dir) }

// ContextTokenizer loads the tokenizer the NeMo 2.0 checkpoint in dir
// records at <root>.model.tokenizer: a SentencePieceTokenizer's model_path,
// an AutoTokenizer's pretrained_model_name directory or a
// TiktokenTokenizer's vocab_file, each an artifact relative to the
// directory holding io.json (context/), as NeMo's artifact copy leaves it.
func ContextTokenizer(dir string) (*tokenizer.Info, error) {
	path, err := findIOJSON(dir)
	if err != nil {
		return nil, err
	}
	doc, err := readIOJSON(path)
	if err != nil {
		return nil, err
	}
	const at = modelPath + ".tokenizer"
	v, ok, err := doc.At(at)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", path, at, err)
	}
	if !ok || v == nil {
		return nil, fmt.Errorf("%s records no tokenizer at %s", path, at)
	}
	c, err := buildable(v, at)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var lib tokenizer.Library
	var arg string
	switch c.Fn.String() {
	case tokenizer.SentencePieceClass:
		lib, arg = tokenizer.SentencePiece, "model_path"
	case tokenizer.AutoTokenizerClass:
		lib, arg = tokenizer.HuggingFace, "pretrained_model_name"
	case tokenizer.TiktokenClass:
		lib, arg = tokenizer.Tiktoken, "vocab_file"
	default:
		return nil, fmt.Errorf("%s: the tokenizer is %s; nemo-migrate reads %s, %s and %s", path, c.Fn, tokenizer.SentencePieceClass, tokenizer.AutoTokenizerClass, tokenizer.TiktokenClass)
	}
	av, _ := c.Arg(arg)
	file, ok := av.(string)
	if !ok || file == "" {
		return nil, fmt.Errorf("%s: %s.%s is %s, not a path", path, at, arg, kindOf(av))
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(path), filepath.FromSlash(file))
	}
	legacy := false
	if lv, ok := c.Arg("legacy"); ok {
		legacy, _ = lv.(bool)
	}
	info, err := tokenizer.Load(file, lib, legacy)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", path, at, err)
	}
	return info, nil
}

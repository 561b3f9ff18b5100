package nemo2

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/tokenizer"
	"go.yaml.in/yaml/v3"
)

// ErrNoContext is wrapped by the errors of readers given a directory
// without a NeMo 2.0 context.
var ErrNoContext = errors.New("not a NeMo 2.0 checkpoint")

// Paths of the reused objects in a TrainerContext, as
// io.load_context(dir, subpath="model") looks them up.
const (
	modelPath = "<root>.model"
	// MaxArgValues bounds the values one config argument may hold.
	// Explicit config arguments are scalars, functions and short lists;
	// a larger value is no config a NeMo checkpoint records, and every
	// later walk of the tree (io.json, model.yaml) stays small.
	MaxArgValues = 4096
)

// ReadModel returns the model and config the NeMo 2.0 checkpoint in dir
// records, as io.load_context(dir, subpath="model") builds them.
//
// io.json is looked for as io.load_context looks: dir/io.json, then
// dir/context/io.json (or, for a dir named context, its parent's
// io.json). The model at <root>.model must be one of the registry's model
// classes, and its config one of the registry's config classes; the config
// keeps the class and the arguments io.json recorded, so a reused context
// yields the config NeMo would build. The reference context's tokenizer is
// not used. The returned Model's ID is dir.
func ReadModel(dir string) (models.Model, *models.Config, error) {
	path, doc, err := loadContext(dir)
	if err != nil {
		return models.Model{}, nil, err
	}
	return modelOf(dir, path, doc)
}

// loadContext finds and parses the io.json of the checkpoint in dir.
func loadContext(dir string) (path string, doc *fiddle.Document, err error) {
	if path, err = findIOJSON(dir); err != nil {
		return "", nil, err
	}
	if doc, err = readIOJSON(path); err != nil {
		return "", nil, err
	}
	return path, doc, nil
}

// modelOf reads the model of the io.json at path, parsed as doc.
func modelOf(dir, path string, doc *fiddle.Document) (models.Model, *models.Config, error) {
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
		if err == nil && countValues(val, MaxArgValues) > MaxArgValues {
			err = fmt.Errorf("holds more than %d values", MaxArgValues)
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
	if _, err := cfg.Arch(); err != nil {
		return models.Model{}, nil, fmt.Errorf("%s: %s: %w", path, modelPath+".config", err)
	}
	return models.Model{ID: dir, Class: mc, Config: cc}, cfg, nil
}

// findIOJSON returns the io.json io.load_context reads for dir.
func findIOJSON(dir string) (string, error) {
	second := filepath.Join(dir, "context", IOJSONName)
	if filepath.Base(filepath.Clean(dir)) == "context" {
		second = filepath.Join(filepath.Dir(filepath.Clean(dir)), IOJSONName)
	}
	var odd string // a candidate that exists but is no regular file
	for _, p := range []string{filepath.Join(dir, IOJSONName), second} {
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
	return "", fmt.Errorf("%w: %s holds neither %s nor context/%s", ErrNoContext, dir, IOJSONName, IOJSONName)
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
		return nil, fmt.Errorf("%s is %s, not a configured object", path, fiddle.Describe(v))
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
		return out, configItems(out.Items, x.Items, refs, memo)
	case *fiddle.Tuple:
		out := &fiddle.Tuple{Items: make([]any, len(x.Items))}
		memo[v] = out
		return out, configItems(out.Items, x.Items, refs, memo)
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
	return nil, fmt.Errorf("is %s, which nemo-migrate cannot carry into a config", fiddle.Describe(v))
}

// configItems converts a list's or tuple's items into dst.
func configItems(dst, items []any, refs refTable, memo map[any]any) error {
	for i, it := range items {
		c, err := configValue(it, refs, memo)
		if err != nil {
			return err
		}
		dst[i] = c
	}
	return nil
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

// ReadTokenizer loads the tokenizer the NeMo 2.0 checkpoint in dir
// records at <root>.model.tokenizer: a SentencePieceTokenizer's model_path,
// an AutoTokenizer's pretrained_model_name directory or a
// TiktokenTokenizer's vocab_file, each an artifact relative to the
// directory holding io.json (context/), as NeMo's artifact copy leaves it.
func ReadTokenizer(dir string) (*tokenizer.Info, error) {
	path, doc, err := loadContext(dir)
	if err != nil {
		return nil, err
	}
	return tokenizerOf(path, doc)
}

// tokenizerOf loads the tokenizer of the io.json at path, parsed as doc.
func tokenizerOf(path string, doc *fiddle.Document) (*tokenizer.Info, error) {
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
		if err := tiktokenDefaults(c); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, at, err)
		}
	default:
		return nil, fmt.Errorf("%s: the tokenizer is %s; nemo-migrate reads %s, %s and %s", path, c.Fn, tokenizer.SentencePieceClass, tokenizer.AutoTokenizerClass, tokenizer.TiktokenClass)
	}
	av, _ := c.Arg(arg)
	file, ok := av.(string)
	if !ok || file == "" {
		return nil, fmt.Errorf("%s: %s.%s is %s, not a path", path, at, arg, fiddle.Describe(av))
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

// CheckContext checks what the context of the NeMo 2.0 checkpoint in dir
// records beyond its structure, as NeMo 2.0 and its exporters use it: the
// model and config classes are ones NeMo 2 has and every function, dtype
// or enum the config names is one its fields take (ReadModel); the
// tokenizer artifact io.json names exists and loads (ReadTokenizer); and
// model.yaml, which exporters read without fiddle, describes the same
// model and config, field by field. It returns one line per problem.
func CheckContext(dir string) []string {
	path, doc, err := loadContext(dir)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	m, cfg, err := modelOf(dir, path, doc)
	if err != nil {
		problems = append(problems, err.Error())
	} else {
		problems = append(problems, unknownRefs(cfg)...)
		problems = append(problems, checkModelYAML(filepath.Join(filepath.Dir(path), ModelYAMLName), m, cfg)...)
	}
	if _, err := tokenizerOf(path, doc); err != nil {
		problems = append(problems, "tokenizer: "+err.Error())
	}
	return problems
}

// unknownRefs lists the Python values the config's explicit arguments
// name that no field of the registry's classes defaults to (a renamed
// function, a dtype NeMo does not have).
func unknownRefs(cfg *models.Config) []string {
	known := refKinds(models.ConfigClasses())
	var out []string
	var walk func(field string, v any)
	walk = func(field string, v any) {
		switch x := v.(type) {
		case fiddle.Ref:
			if _, ok := known.kind[fiddle.Ref{Module: x.Module, Name: x.Name}]; ok {
				return
			}
			if i := strings.LastIndexByte(x.Name, '.'); i > 0 && known.enums[fiddle.Ref{Module: x.Module, Name: x.Name[:i]}] {
				return
			}
			out = append(out, fmt.Sprintf("config.%s names %s, which no NeMo 2 config field takes", field, x))
		case *fiddle.List:
			for _, it := range x.Items {
				walk(field, it)
			}
		case *fiddle.Tuple:
			for _, it := range x.Items {
				walk(field, it)
			}
		}
	}
	for _, a := range cfg.Args {
		walk(a.Name, a.Value)
	}
	return out
}

// maxModelYAML caps the model.yaml CheckContext reads: ours are a few KiB.
const maxModelYAML = 4 << 20

// checkModelYAML compares the model.yaml at path, its model class and
// config, with the ones io.json records.
func checkModelYAML(path string, m models.Model, cfg *models.Config) []string {
	data, err := readCapped(path, maxModelYAML)
	if err != nil {
		return []string{err.Error()}
	}
	var got map[string]any
	if err := yaml.Unmarshal(data, &got); err != nil {
		return []string{fmt.Sprintf("%s: %v", path, err)}
	}
	want, err := yamlValue(cfg)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", path, err)}
	}
	var diffs []string
	if got["_target_"] != m.Class.Name() {
		diffs = append(diffs, fmt.Sprintf("%s: the model is %v, io.json's %s", path, got["_target_"], m.Class.Name()))
	}
	sameYAML(path+": config", got["config"], want, &diffs)
	return diffs
}

// sameYAML compares a decoded YAML value with the one model.yaml should
// hold, numbers by value (1 and 1.0 agree), and records each difference
// under its path.
func sameYAML(at string, got, want any, diffs *[]string) {
	if len(*diffs) >= 20 {
		return // enough to see what is wrong
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s is %v, io.json has a mapping", at, got))
			return
		}
		for _, k := range slices.Sorted(maps.Keys(w)) {
			gv, present := g[k]
			if !present {
				*diffs = append(*diffs, fmt.Sprintf("%s lacks %s", at, k))
				continue
			}
			sameYAML(at+"."+k, gv, w[k], diffs)
		}
		for _, k := range slices.Sorted(maps.Keys(g)) {
			if _, ok := w[k]; !ok {
				*diffs = append(*diffs, fmt.Sprintf("%s.%s is not a field of the class io.json names", at, k))
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*diffs = append(*diffs, fmt.Sprintf("%s is %v, io.json has %v", at, got, w))
			return
		}
		for i := range w {
			sameYAML(fmt.Sprintf("%s[%d]", at, i), g[i], w[i], diffs)
		}
	default:
		if !models.SameValue(got, want) {
			*diffs = append(*diffs, fmt.Sprintf("%s is %v, io.json has %v", at, describeYAML(got), describeYAML(want)))
		}
	}
}

func describeYAML(v any) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprint(v)
}

// readCapped reads a regular file of at most limit bytes.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() > limit {
		return nil, fmt.Errorf("%s is not a regular file of at most %d bytes", path, limit)
	}
	return io.ReadAll(io.LimitReader(f, limit))
}

// tiktokenDefaults fails for a TiktokenTokenizer argument other than
// NeMo's default: the vocabulary's size, the split pattern and the special
// tokens decide the ids, and nemo-migrate reads the file with the
// defaults (bos/eos/pad_token only matter with encoding_name, which has
// no file).
func tiktokenDefaults(c *fiddle.Config) error {
	cls := tiktokenClass()
	for _, a := range c.Args {
		switch a.Name {
		case "vocab_file", "bos_token", "eos_token", "pad_token":
			continue
		}
		p, ok := cls.Param(a.Name)
		if !ok || !models.SameValue(p.Default, a.Value) {
			return fmt.Errorf("TiktokenTokenizer %s=%s: nemo-migrate reads tiktoken vocabularies with NeMo's default %s only", a.Name, fiddle.Describe(a.Value), a.Name)
		}
	}
	return nil
}

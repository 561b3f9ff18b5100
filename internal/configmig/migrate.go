// Package configmig re-expresses a NeMo 1.0 YAML training config (the
// megatron_gpt_config.yaml family, its SFT and PEFT siblings, or the
// model_config.yaml inside a .nemo) as NeMo 2.0 objects: MegatronStrategy,
// Trainer, MegatronMixedPrecision, MegatronOptimizerModule, NeMoLogger,
// AutoResume, the data module, the tokenizer, PEFT, callbacks and the
// model config.
//
// The model is the NeMo 2.0 class convert --model_id auto picks for the
// same architecture (package models). Files it does not migrate, other
// model families, configs that do not train, NeMo 2.0 files and
// checkpoints, are refused with a [RefusedError] saying what they are.
//
// Every argument records the YAML key it came from. NeMo 1.0 defaults are
// written out where NeMo 2.0 changed the default, with a warning, so the
// run does not change behaviour silently; every YAML key without a NeMo 2.0
// counterpart is listed with the reason. The names and defaults used here
// were checked against NeMo's and Megatron-Core's sources.
package configmig

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/omegaconf"
	"github.com/nemo-migrate/nemo-migrate/internal/pyrepr"
)

// Migration is a NeMo 1.0 config re-expressed for NeMo 2.0.
type Migration struct {
	// Source is the YAML file's name as given.
	Source string
	// Recipe is "pretrain" or "finetune": the llm function the script calls.
	Recipe string

	Strategy  *Call
	Trainer   *Call
	Precision *Call
	Optim     *Call
	Logger    *Call
	Resume    *Call
	Data      *Call
	Tokenizer *Call // nil when the config names no tokenizer
	PEFT      *Call // nil without PEFT
	// Model builds the model: llm.GPTModel(config=...), or load_context(...)
	// when the architecture comes from the checkpoint being fine-tuned.
	Model *Call
	// ModelConfigOverrides are model.config attributes the script sets
	// after loading the model of a fine-tuning checkpoint.
	ModelConfigOverrides []*Arg
	Callbacks            []*Call

	Warnings   []Warning
	Unresolved []*omegaconf.InterpolationError
	Unmapped   []Unmapped
}

// Warning is something to check before running the script.
type Warning struct {
	Key     string
	Line    int
	Message string
}

// Unmapped is a YAML key with no NeMo 2.0 counterpart.
type Unmapped struct {
	Key    string
	Line   int
	Reason string
}

// Options control [Load] and [Migrate].
type Options struct {
	// Env, when set, resolves ${oc.env:...}; by default such values become
	// os.environ lookups in the script, read when it runs.
	Env func(name string) (string, bool)
}

// NotNeMoError is a YAML file that is not a NeMo 1.0 config.
type NotNeMoError struct {
	File         string
	Line, Column int
	Msg          string
}

func (e *NotNeMoError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// Load reads a NeMo 1.0 YAML config file and migrates it.
func Load(path string, opts *Options) (*Migration, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("config file %s does not exist", path)
		}
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, dirError(path)
	}
	return Read(path, f, opts)
}

// Read reads a NeMo 1.0 YAML config from r and migrates it; name names it
// in messages ("<stdin>"). Checkpoints and other binary files are refused
// before they are parsed.
func Read(name string, r io.Reader, opts *Options) (*Migration, error) {
	data, err := omegaconf.ReadConfig(name, r)
	if err != nil {
		return nil, err
	}
	if err := sniff(name, data); err != nil {
		return nil, err
	}
	raw, err := omegaconf.ParseFile(name, data)
	if err != nil {
		return nil, err
	}
	return Migrate(name, raw, opts)
}

// dirError says what to give config instead of the directory dir.
func dirError(dir string) error {
	exists := func(p string) bool { _, err := os.Stat(filepath.Join(dir, p)); return err == nil }
	switch {
	case exists(filepath.Join("context", "model.yaml")) || exists("io.json") && exists("model.yaml"):
		return &RefusedError{File: dir, Reason: AlreadyNeMo2, Detected: "NeMo 2.0 checkpoint",
			What: "a NeMo 2.0 checkpoint directory", Why: "it is NeMo 2.0 already; there is nothing to migrate",
			Do: "NeMo 2.0 loads its model with nemo.lightning.io.load_context(<checkpoint>/context, subpath=\"model\")."}
	case exists("model_config.yaml"):
		return fmt.Errorf("%s is a directory (an extracted .nemo checkpoint?); to migrate its training config run nemo-migrate config %s, "+
			"and to convert the checkpoint nemo-migrate convert --input_path %s", dir, filepath.Join(dir, "model_config.yaml"), dir)
	}
	return fmt.Errorf("%s is a directory; config wants a NeMo 1.0 YAML file (or - for standard input)", dir)
}

// Migrate migrates a parsed NeMo 1.0 config; file names it in messages.
func Migrate(file string, raw *omegaconf.Node, opts *Options) (*Migration, error) {
	if opts == nil {
		opts = &Options{}
	}
	if err := detect(file, raw); err != nil {
		return nil, err
	}
	if raw.Kind != omegaconf.Map {
		return nil, &NotNeMoError{File: file, Line: raw.Line, Column: raw.Column,
			Msg: fmt.Sprintf("not a NeMo 1.0 config: the top level is a %s, not a map of sections (trainer, exp_manager, model)", raw.Kind)}
	}
	g := &mig{
		m:       &Migration{Source: file},
		raw:     raw,
		used:    map[string]bool{},
		reasons: map[string]string{},
	}
	switch {
	case raw.Get("model") != nil || raw.Get("trainer") != nil || raw.Get("exp_manager") != nil:
		g.model = "model"
	case hasAny(raw, bareModelKeys):
		// model_config.yaml from a .nemo: the model section on its own.
		g.model = ""
	default:
		var keys []string
		for _, e := range raw.Entries {
			keys = append(keys, e.Key)
		}
		msg := "not a NeMo 1.0 training config: it has none of the sections trainer, exp_manager and model"
		if len(keys) > 0 {
			msg += fmt.Sprintf(" (its top-level keys are %s)", strings.Join(firstN(keys, 8), ", "))
		} else {
			msg += " (the file is empty)"
		}
		msg += ", nor the keys of a model_config.yaml (num_layers, hidden_size, tokenizer, ...)"
		return nil, &NotNeMoError{File: file, Line: raw.Line, Column: raw.Column, Msg: msg}
	}
	res, unresolved, err := omegaconf.Resolve(raw, &omegaconf.Options{Env: opts.Env})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	g.res = res
	g.m.Unresolved = unresolved
	for _, s := range []*omegaconf.Node{raw.Get("trainer"), raw.Get("exp_manager"), g.section("")} {
		if s != nil && s.Kind != omegaconf.Map {
			return nil, &NotNeMoError{File: file, Line: s.Line, Column: s.Column,
				Msg: fmt.Sprintf("not a NeMo 1.0 config: a section is a %s, not a map", s.Kind)}
		}
	}
	if err := g.run(); err != nil {
		return nil, err
	}
	return g.m, nil
}

var bareModelKeys = []string{"num_layers", "hidden_size", "encoder_seq_length", "mcore_gpt", "tokenizer", "tensor_model_parallel_size", "num_attention_heads"}

func hasAny(n *omegaconf.Node, keys []string) bool {
	for _, k := range keys {
		if n.Get(k) != nil {
			return true
		}
	}
	return false
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}

// mig is the state of one migration.
type mig struct {
	m   *Migration
	raw *omegaconf.Node // as written, for positions and the unmapped walk
	res *omegaconf.Node // resolved
	// model is the path of the model section: "model", or "" for a bare
	// model_config.yaml.
	model string
	// used marks the keys a setting was made from (their subtrees too).
	used map[string]bool
	// reasons says why a key has no counterpart.
	reasons map[string]string
	// sectionReasons is the reason for any otherwise unhandled key under a
	// section path.
	sectionReasons []sectionReason
}

type sectionReason struct{ prefix, reason string }

func (g *mig) run() error {
	g.m.Recipe = g.recipe()
	g.tokenizer()
	if err := g.modelConfig(); err != nil {
		return err
	}
	g.data()
	g.strategy()
	g.precision()
	g.callbacks()
	g.trainer()
	g.optim()
	g.logger()
	g.resume()
	g.peft()
	g.topLevel()
	g.unmapped()
	return nil
}

// mk returns the path of key in the model section.
func (g *mig) mk(key string) string { return join(g.model, key) }

// bare reports whether the file is a model_config.yaml on its own, without
// the trainer and exp_manager settings of a training run.
func (g *mig) bare() bool { return g.model == "" }

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "." + b
}

// section returns the resolved map at path (relative to the model section
// for a bare model config when path starts with the model key), or nil.
func (g *mig) section(key string) *omegaconf.Node {
	n := g.res.Lookup(g.mk(key))
	if n == nil || n.Kind != omegaconf.Map {
		return nil
	}
	return n
}

// get returns the resolved value at a full path, or nil.
func (g *mig) get(path string) *omegaconf.Node { return g.res.Lookup(path) }

// has reports whether path is written in the YAML.
func (g *mig) has(path string) bool { return g.raw.Lookup(path) != nil }

// usable reports whether path holds a value that can be used: present,
// resolved and not ???.
func (g *mig) usable(path string) bool {
	n := g.get(path)
	return n != nil && n.Unresolved == nil && n.Kind != omegaconf.Missing && !containsUnresolved(n)
}

func containsUnresolved(n *omegaconf.Node) bool {
	found := false
	omegaconf.Walk(n, func(_ string, v *omegaconf.Node) bool {
		found = found || v.Unresolved != nil
		return !found
	})
	return found
}

// str returns the string at path, or "" when it is not a usable string.
func (g *mig) str(path string) string {
	n := g.get(path)
	if n == nil || n.Kind != omegaconf.String || n.Unresolved != nil {
		return ""
	}
	return n.Str
}

// truthy returns the boolean at path (Python truthiness for other
// scalars) and whether the path holds a usable value.
func (g *mig) truthy(path string) (bool, bool) {
	if !g.usable(path) {
		return false, false
	}
	n := g.get(path)
	switch n.Kind {
	case omegaconf.Bool:
		return n.Bool, true
	case omegaconf.Null:
		return false, true
	case omegaconf.Int:
		return n.Int.Sign() != 0, true
	case omegaconf.Float:
		return n.Float != 0, true
	case omegaconf.String:
		return n.Str != "", true
	}
	return true, true
}

// int64At returns the integer at path.
func (g *mig) int64At(path string) (int64, bool) {
	if !g.usable(path) {
		return 0, false
	}
	return g.get(path).Int64()
}

// line returns the line of the key at path in the YAML, or 0 when the
// key is not there.
func (g *mig) line(path string) int {
	i := strings.LastIndexByte(path, '.')
	parent, key := "", path
	if i >= 0 {
		parent, key = path[:i], path[i+1:]
	}
	p := g.raw.Lookup(parent)
	if p == nil {
		return 0
	}
	if e := p.GetEntry(key); e != nil {
		return e.Line
	}
	if n := p.Lookup(key); n != nil {
		return n.Line
	}
	return 0
}

// use marks paths as consumed by a setting.
func (g *mig) use(paths ...string) {
	for _, p := range paths {
		g.used[p] = true
	}
}

// from records keys that decided to make call c, when they are in the YAML.
func (g *mig) from(c *Call, paths ...string) {
	for _, p := range paths {
		if g.has(p) {
			g.use(p)
			c.From = append(c.From, p)
		}
	}
}

// uses records further keys an argument's value was computed from.
func (g *mig) uses(a *Arg, paths ...string) {
	for _, p := range paths {
		if a != nil && g.has(p) {
			g.use(p)
			a.Uses = append(a.Uses, p)
		}
	}
}

// skip gives the reason a key has no NeMo 2.0 counterpart.
func (g *mig) skip(path, reason string) {
	if _, ok := g.reasons[path]; !ok {
		g.reasons[path] = reason
	}
}

// skipRest gives the reason for every otherwise unhandled key under prefix.
func (g *mig) skipRest(prefix, reason string) {
	g.sectionReasons = append(g.sectionReasons, sectionReason{prefix, reason})
}

func (g *mig) warn(path, format string, args ...any) {
	w := Warning{Key: path, Line: g.line(path), Message: fmt.Sprintf(format, args...)}
	for _, old := range g.m.Warnings {
		if old == w {
			return
		}
	}
	g.m.Warnings = append(g.m.Warnings, w)
}

// fromKey returns an argument holding the YAML value at path as is, or
// nil when the path is not in the YAML.
func (g *mig) fromKey(name, path string) *Arg {
	n := g.get(path)
	if n == nil {
		return nil
	}
	g.use(path)
	a := &Arg{Name: name, Key: path, Line: g.line(path)}
	switch {
	case n.Unresolved != nil || containsUnresolved(n):
		ie := n.Unresolved
		if ie == nil {
			omegaconf.Walk(n, func(_ string, v *omegaconf.Node) bool {
				if ie == nil {
					ie = v.Unresolved
				}
				return ie == nil
			})
		}
		a.Unresolved = ie
		a.Value = noneLit()
		if ie == n.Unresolved && ie.EnvVar != nil {
			a.Value = envExpr(ie.EnvVar)
			a.Note = "read from the environment when the script runs, as NeMo 1.0 did"
		} else {
			g.warn(path, "%s could not be resolved (%s); set %s= in the script", path, ie.Reason, name)
		}
	case n.Kind == omegaconf.Missing:
		a.Missing = true
		a.Value = noneLit()
		g.warn(path, "%s is ??? in the YAML, a value NeMo 1.0 required on the command line; set %s= in the script", path, name)
	default:
		a.Value = Lit{n}
	}
	return a
}

// envExpr is the Python for ${oc.env:NAME[,default]}.
func envExpr(e *omegaconf.EnvRef) Expr {
	code := "os.environ[" + pyrepr.DoubleQuoted(e.Name) + "]"
	if e.Default != nil {
		d := "None"
		if e.Default.Kind == omegaconf.String {
			d = pyrepr.DoubleQuoted(e.Default.Str)
		}
		code = "os.environ.get(" + pyrepr.DoubleQuoted(e.Name) + ", " + d + ")"
	}
	return expr(code, impOS)
}

// derived returns an argument whose value is computed from the YAML value
// at path (which it records), or nil when path is absent.
func (g *mig) derived(name, path string, v Value, note string) *Arg {
	a := g.fromKey(name, path)
	if a == nil || a.Missing || a.Unresolved != nil {
		return a
	}
	if l, ok := v.(Lit); !ok || !omegaconf.Equal(l.N, a.Value.(Lit).N) || !sameKind(l.N, a.Value.(Lit).N) {
		a.YAML = a.Value.(Lit).N
	}
	a.Value = v
	a.Note = note
	return a
}

func sameKind(a, b *omegaconf.Node) bool { return a.Kind == b.Kind }

// dflt returns an argument for a key absent from the YAML, holding NeMo
// 1.0's default for it.
func (g *mig) dflt(name, path string, v Value, note string) *Arg {
	return &Arg{Name: name, Key: path, Value: v, Default: true, Note: note}
}

// constArg is an argument nemo-migrate adds that no YAML key gives.
func constArg(name string, v Value, note string) *Arg {
	return &Arg{Name: name, Value: v, Note: note}
}

// passThrough adds, for each key of the section at prefix, an argument of
// the same name, for keys listed in names (all keys when names is nil).
func (g *mig) passThrough(c *Call, prefix string, names map[string]string) {
	sec := g.get(prefix)
	if sec == nil || sec.Kind != omegaconf.Map {
		return
	}
	for _, e := range sec.Entries {
		if e.KeyKind != omegaconf.String {
			continue
		}
		name := e.Key
		if names != nil {
			n, ok := names[e.Key]
			if !ok {
				continue
			}
			name = n
		}
		c.add(g.fromKey(name, join(prefix, e.Key)))
	}
}

// recipe decides between pretraining and fine-tuning.
func (g *mig) recipe() string {
	if g.has(g.mk("peft")) || g.has(g.mk("data.train_ds")) {
		return "finetune"
	}
	return "pretrain"
}

// unmapped lists, in document order, every YAML key no setting consumed.
func (g *mig) unmapped() {
	// The sections above a consumed key.
	usedBelow := map[string]bool{}
	for k := range g.used {
		for i := strings.LastIndexByte(k, '.'); i > 0; i = strings.LastIndexByte(k[:i], '.') {
			usedBelow[k[:i]] = true
		}
	}
	omegaconf.Walk(g.raw, func(path string, n *omegaconf.Node) bool {
		if path == "" {
			return true
		}
		if g.used[path] {
			return false
		}
		if usedBelow[path] {
			// Part of it is mapped (optim.betas.0 of optim.betas): list
			// only the parts that are not.
			return true
		}
		if r, ok := g.reasons[path]; ok {
			g.m.Unmapped = append(g.m.Unmapped, Unmapped{Key: path, Line: g.line(path), Reason: r})
			return false
		}
		if (n.Kind == omegaconf.Map && len(n.Entries) > 0) || (n.Kind == omegaconf.List && len(n.Items) > 0 && g.listOfSections(n)) {
			return true
		}
		g.m.Unmapped = append(g.m.Unmapped, Unmapped{Key: path, Line: g.line(path), Reason: g.sectionReason(path)})
		return false
	})
}

func (g *mig) listOfSections(n *omegaconf.Node) bool {
	for _, it := range n.Items {
		if it.Kind != omegaconf.Map {
			return false
		}
	}
	return true
}

func (g *mig) sectionReason(path string) string {
	best, reason := -1, ""
	for _, s := range g.sectionReasons {
		if (path == s.prefix || strings.HasPrefix(path, s.prefix+".") || s.prefix == "") && len(s.prefix) > best {
			best, reason = len(s.prefix), s.reason
		}
	}
	if reason == "" {
		reason = "nemo-migrate knows no NeMo 2.0 counterpart for this key"
	}
	return reason
}

// sortedWarnings orders warnings by line, keeping their order otherwise.
func (m *Migration) sortedWarnings() []Warning {
	w := append([]Warning(nil), m.Warnings...)
	sort.SliceStable(w, func(i, j int) bool { return w[i].Line < w[j].Line })
	return w
}

// Sections returns the migration's calls under their JSON names, in the
// order of the JSON output.
func (m *Migration) Sections() []NamedCall {
	return []NamedCall{
		{"strategy", m.Strategy}, {"trainer", m.Trainer}, {"precision", m.Precision}, {"optim", m.Optim},
		{"logger", m.Logger}, {"resume", m.Resume}, {"data", m.Data}, {"tokenizer", m.Tokenizer},
		{"peft", m.PEFT}, {"model", m.Model},
	}
}

// NamedCall is a section of a migration.
type NamedCall struct {
	Name string
	Call *Call
}

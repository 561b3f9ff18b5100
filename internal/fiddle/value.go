// Package fiddle writes the JSON serialization of google/fiddle
// (fiddle._src.experimental.serialization.dump_json), the format of a
// NeMo 2.0 checkpoint's context/io.json.
//
// A configuration is a tree of Go values that mirror the Python objects
// NeMo builds:
//
//   - nil, bool, int, int64, float64 and string are Python None, bool,
//     int, float and str (an int stays an int: 1 and 1.0 differ in Python);
//   - [Ref] is a reference to an importable Python value: a class, a
//     function, an enum member or a registered constant such as
//     torch.bfloat16;
//   - *[Config] is a fiddle Config (or Partial, or their nemo_run
//     subclasses) of a class or function with the arguments given to it;
//   - *[List], *[Tuple] and *[Dict] are Python lists, tuples and dicts.
//
// A pointer that appears more than once in the tree is one shared Python
// object: it is written once under "objects" and referenced, as fiddle does
// for an object reachable by several paths.
//
// [Marshal] writes exactly what fiddle's dump_json writes for the same
// Python tree, under NeMo 2.0's serialization extensions
// (nemo/lightning/io/fdl_torch.py): builtin functions are written as pyrefs
// without paths, and torch dtypes are registered constants.
package fiddle

import "strings"

// RefKind says what kind of Python value a [Ref] names. fiddle writes all
// kinds as the same "pyref"; they differ in NeMo's handling and in how
// NeMo's model.yaml writer renders them.
type RefKind uint8

const (
	// Callable is a class or a Python function, e.g.
	// torch.nn.functional.silu.
	Callable RefKind = iota
	// Builtin is a builtin function (types.BuiltinFunctionType), such as
	// torch._C._nn.gelu, which torch.nn.functional.gelu is. NeMo's
	// serializer writes its pyref without paths.
	Builtin
	// Constant is a value registered with
	// serialization.register_constant, such as torch.bfloat16.
	Constant
	// Enum is an enum member; Name is "Class.MEMBER".
	Enum
)

// Ref is a Python reference: the value named Name in module Module, as
// fiddle's pyref writes it ({"type": "pyref", "module": ..., "name": ...}).
type Ref struct {
	Module string // the defining module, e.g. "torch.nn.functional"
	Name   string // the qualified name inside Module, e.g. "silu"
	Kind   RefKind
}

// Class returns a Ref to a class or Python function.
func Class(module, name string) Ref { return Ref{Module: module, Name: name} }

// Dotted returns a Ref to a class or Python function given as one dotted
// path whose last component is the name, such as
// "nemo.collections.llm.gpt.model.llama.LlamaModel".
func Dotted(path string) Ref {
	i := strings.LastIndexByte(path, '.')
	if i < 0 {
		return Ref{Name: path}
	}
	return Ref{Module: path[:i], Name: path[i+1:]}
}

// String returns the dotted path module.name.
func (r Ref) String() string {
	if r.Module == "" {
		return r.Name
	}
	return r.Module + "." + r.Name
}

// Buildable classes: the Python type of a [Config] node.
var (
	// FiddleConfig is fdl.Config, what NeMo's IOMixin records.
	FiddleConfig = Ref{Module: "fiddle._src.config", Name: "Config"}
	// FiddlePartial is fdl.Partial.
	FiddlePartial = Ref{Module: "fiddle._src.partial", Name: "Partial"}
	// RunConfig is nemo_run.Config, which NeMo's recipes (bf16_mixed())
	// build.
	RunConfig = Ref{Module: "nemo_run.config", Name: "Config"}
	// RunPartial is nemo_run.Partial.
	RunPartial = Ref{Module: "nemo_run.config", Name: "Partial"}
)

// Config is a fiddle Buildable: Fn called with Args.
type Config struct {
	// Type is the Buildable's own class; the zero Ref means
	// [FiddleConfig].
	Type Ref
	// Fn is the configured class or function.
	Fn Ref
	// Args are the arguments set on the Buildable, in the order of Fn's
	// signature (fiddle orders them so; var-keyword arguments come last).
	// Defaults that were not set explicitly are not listed.
	Args []Arg
}

// Arg is one argument of a Config.
type Arg struct {
	Name  string
	Value any
}

// BuildableType returns c.Type, or FiddleConfig when it is unset.
func (c *Config) BuildableType() Ref {
	if c.Type == (Ref{}) {
		return FiddleConfig
	}
	return c.Type
}

// IsPartial reports whether c is a Partial (fiddle's or nemo_run's).
func (c *Config) IsPartial() bool {
	t := c.BuildableType()
	return t == FiddlePartial || t == RunPartial
}

// Arg returns the value of the argument name and whether it is set.
func (c *Config) Arg(name string) (any, bool) {
	for _, a := range c.Args {
		if a.Name == name {
			return a.Value, true
		}
	}
	return nil, false
}

// List is a Python list.
type List struct{ Items []any }

// Tuple is a Python tuple.
type Tuple struct{ Items []any }

// Dict is a Python dict, in insertion order.
type Dict struct{ Entries []Entry }

// Entry is one key and value of a Dict. Key is a string or an int.
type Entry struct {
	Key   any
	Value any
}

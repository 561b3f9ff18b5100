// Package omegaconf reads YAML configuration files the way NeMo 1.0 read
// them: PyYAML's YAML 1.1 SafeLoader as OmegaConf 2.2 changes it (floats
// such as 1e-4 without a dot, no timestamps, no duplicate keys), then
// OmegaConf's ${...} interpolations, including the resolvers NeMo registers
// (multiply, sum) and OmegaConf's own (oc.env, oc.select, oc.decode,
// oc.deprecated).
//
// Generic YAML decoders get these files wrong: YAML 1.2 reads "yes" as a
// string and 1e-4 as a float, OmegaConf the other way round, and ${a.b}
// must be resolved against the tree. [Parse] decodes the text into a
// [Node] tree that keeps key order and the line and column of every value;
// [Resolve] returns a copy with interpolations replaced by their values,
// keeping the ones it cannot resolve (an environment variable, a resolver
// that needs the machine) and saying why.
package omegaconf

import (
	"math/big"
	"strconv"
	"strings"
)

// Kind is the type of a [Node]'s value.
type Kind uint8

// The kinds of value a YAML config can hold after OmegaConf has read it.
const (
	Null    Kind = iota // YAML null, ~ or an empty value
	Bool                // YAML 1.1 boolean: true/false/yes/no/on/off
	Int                 // integer of any size
	Float               // float64, including inf and nan
	String              // string; also an interpolation before resolution
	Map                 // mapping with ordered, unique keys
	List                // sequence
	Missing             // OmegaConf's mandatory value "???"
)

var kindNames = [...]string{"null", "bool", "int", "float", "string", "map", "list", "missing"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Node is one value of a config. Scalars use the field of their kind;
// maps use Entries and lists Items. Line and Column (1-based) say where
// the value is written in the file; values a resolver computed carry the
// position of the interpolation that produced them.
type Node struct {
	Kind    Kind
	Bool    bool
	Int     *big.Int
	Float   float64
	Str     string
	Entries []*Entry
	Items   []*Node

	Line, Column int

	// Expr is the interpolation text ("${...}") the value was written as,
	// or "" for a value written literally.
	Expr string
	// Unresolved is set on a node of a resolved tree whose interpolation
	// could not be resolved; the node is then a String holding Expr.
	Unresolved *InterpolationError
}

// Entry is one key of a map.
type Entry struct {
	// Key is the key as Python's str() shows it. YAML 1.1 may turn a key
	// into a number or a boolean (1:, on:); KeyKind says so, and such keys
	// cannot be reached by an interpolation path, as in OmegaConf.
	Key          string
	KeyKind      Kind
	Line, Column int
	Value        *Node
}

// IsInterpolation reports whether n is a string that OmegaConf treats as an
// interpolation, that is, one containing "${".
func (n *Node) IsInterpolation() bool {
	return n != nil && n.Kind == String && strings.Contains(n.Str, "${")
}

// Get returns the value of key in map n, or nil.
func (n *Node) Get(key string) *Node {
	if e := n.entry(key); e != nil {
		return e.Value
	}
	return nil
}

// GetEntry returns the entry of key in map n, or nil.
func (n *Node) GetEntry(key string) *Entry { return n.entry(key) }

func (n *Node) entry(key string) *Entry {
	if n == nil || n.Kind != Map {
		return nil
	}
	for _, e := range n.Entries {
		if e.KeyKind == String && e.Key == key {
			return e
		}
	}
	return nil
}

// Lookup returns the node at a dotted path ("model.optim.lr",
// "model.optim.betas.0"), or nil when there is none.
func (n *Node) Lookup(path string) *Node {
	if path == "" {
		return n
	}
	cur := n
	for _, k := range strings.Split(path, ".") {
		switch {
		case cur == nil:
			return nil
		case cur.Kind == Map:
			cur = cur.Get(k)
		case cur.Kind == List:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(cur.Items) {
				return nil
			}
			cur = cur.Items[i]
		default:
			return nil
		}
	}
	return cur
}

// Int64 returns n's value as an int64 when n is an Int that fits.
func (n *Node) Int64() (int64, bool) {
	if n == nil || n.Kind != Int || !n.Int.IsInt64() {
		return 0, false
	}
	return n.Int.Int64(), true
}

// IsScalar reports whether n is neither a map nor a list.
func (n *Node) IsScalar() bool { return n != nil && n.Kind != Map && n.Kind != List }

// Equal reports whether a and b hold the same value, comparing as Python
// does for the values OmegaConf produces (1 == 1.0, True == 1 are false
// here: kinds must match). Positions and interpolation text are ignored.
func Equal(a, b *Node) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case Null, Missing:
		return true
	case Bool:
		return a.Bool == b.Bool
	case Int:
		return a.Int.Cmp(b.Int) == 0
	case Float:
		return a.Float == b.Float || (a.Float != a.Float && b.Float != b.Float)
	case String:
		return a.Str == b.Str
	case List:
		if len(a.Items) != len(b.Items) {
			return false
		}
		for i := range a.Items {
			if !Equal(a.Items[i], b.Items[i]) {
				return false
			}
		}
		return true
	case Map:
		if len(a.Entries) != len(b.Entries) {
			return false
		}
		for i := range a.Entries {
			ea, eb := a.Entries[i], b.Entries[i]
			if ea.Key != eb.Key || ea.KeyKind != eb.KeyKind || !Equal(ea.Value, eb.Value) {
				return false
			}
		}
		return true
	}
	return false
}

// Walk calls fn for every node under n in document order, with its dotted
// path relative to n (list items use their index). It stops descending
// into a node when fn returns false.
func Walk(n *Node, fn func(path string, n *Node) bool) {
	walk("", n, fn)
}

func walk(path string, n *Node, fn func(string, *Node) bool) {
	if !fn(path, n) {
		return
	}
	switch n.Kind {
	case Map:
		for _, e := range n.Entries {
			walk(join(path, e.Key), e.Value, fn)
		}
	case List:
		for i, it := range n.Items {
			walk(join(path, strconv.Itoa(i)), it, fn)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func newInt(i int64) *big.Int { return big.NewInt(i) }

// Plain returns the node as plain Go values, for code that reads a
// resolved config without this package: maps, slices, bool, int64 (or
// *big.Int beyond), float64, string and nil (also for a nil node).
func (n *Node) Plain() any {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case Map:
		m := make(map[string]any, len(n.Entries))
		for _, e := range n.Entries {
			m[e.Key] = e.Value.Plain()
		}
		return m
	case List:
		l := make([]any, len(n.Items))
		for i, it := range n.Items {
			l[i] = it.Plain()
		}
		return l
	case Bool:
		return n.Bool
	case Int:
		if n.Int.IsInt64() {
			return n.Int.Int64()
		}
		return new(big.Int).Set(n.Int)
	case Float:
		return n.Float
	case String:
		return n.Str
	}
	return nil
}

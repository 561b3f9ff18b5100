package fiddle

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/nemo-migrate/nemo-migrate/internal/pyrepr"
)

// Version is the serialization format version fiddle writes.
const Version = "0.0.1"

// MaxDepth bounds the nesting of a tree, which also stops a cycle (that
// Python could not have built) from recursing forever.
const MaxDepth = 256

// ErrUnserializable is returned for a value Marshal cannot write.
var ErrUnserializable = errors.New("fiddle: unserializable value")

var (
	buildableTraverserMetadata = Ref{Module: "fiddle._src.config", Name: "BuildableTraverserMetadata"}
	builtinsList               = Ref{Module: "builtins", Name: "list"}
	builtinsTuple              = Ref{Module: "builtins", Name: "tuple"}
	builtinsDict               = Ref{Module: "builtins", Name: "dict"}
)

// namedTuple is a Python NamedTuple; fiddle writes a Buildable's metadata
// (BuildableTraverserMetadata) as one.
type namedTuple struct {
	typ    Ref
	fields []Arg
}

// Marshal returns the fiddle JSON serialization of root, byte for byte what
// fiddle's serialization.dump_json(root) (without indent) returns for the
// Python value root stands for, with NeMo 2.0's extensions enabled.
func Marshal(root any) ([]byte, error) {
	e := &encoder{
		memo:      map[any]string{},
		names:     map[string]bool{},
		refcounts: map[string]int{},
		paths:     map[any][]string{},
	}
	if err := e.collectPaths(root, "<root>", 0); err != nil {
		return nil, err
	}
	rootJSON, err := e.serialize(root, []string{"<root>"}, true, 0)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"root": `)
	b.Write(rootJSON)
	b.WriteString(`, "objects": {`)
	for i, o := range e.objects {
		if i > 0 {
			b.WriteString(", ")
		}
		writeString(&b, o.name)
		b.WriteString(": ")
		b.Write(o.json)
	}
	b.WriteString(`}, "refcounts": {`)
	for i, name := range e.refOrder {
		if i > 0 {
			b.WriteString(", ")
		}
		writeString(&b, name)
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(e.refcounts[name]))
	}
	b.WriteString(`}, "version": `)
	writeString(&b, Version)
	b.WriteString("}")
	return b.Bytes(), nil
}

type object struct {
	name string
	json []byte
}

type encoder struct {
	memo      map[any]string // identity of a memoized value -> its name
	names     map[string]bool
	objects   []object
	refcounts map[string]int
	refOrder  []string
	// paths holds, for every memoizable value, every path from the root
	// that reaches it, in fiddle's (pre-order) traversal order.
	paths map[any][]string
}

// identity returns the key under which Python would find value by id(),
// and whether fiddle memoizes such values (daglish.is_memoizable).
// Containers and Configs are identified by their pointer. Classes,
// functions and registered constants are module attributes, so one Ref
// names one Python object; enum members are immutable and not memoizable.
func identity(v any) (any, bool) {
	switch v := v.(type) {
	case *Config, *List, *Dict, *namedTuple:
		return v, true
	case *Tuple:
		// The empty tuple is not memoizable (fiddle guards value != ()).
		return v, len(v.Items) > 0
	case Ref:
		if v.Kind == Enum {
			return nil, false
		}
		return Ref{Module: v.Module, Name: v.Name}, true
	}
	return nil, false
}

// children returns the path elements (as fiddle's PathElement code
// strings and reprs) and values of a traversable value.
func children(v any) (codes, reprs []string, values []any, ok bool) {
	if isNilPointer(v) {
		return nil, nil, nil, false
	}
	switch v := v.(type) {
	case *Config:
		codes, reprs, values = attrElements(v.Args)
		return codes, reprs, values, true
	case *List:
		codes, reprs = indexElements(len(v.Items))
		return codes, reprs, v.Items, true
	case *Tuple:
		codes, reprs = indexElements(len(v.Items))
		return codes, reprs, v.Items, true
	case *Dict:
		for _, en := range v.Entries {
			k := keyRepr(en.Key)
			codes = append(codes, "["+k+"]")
			reprs = append(reprs, "Key(key="+k+")")
			values = append(values, en.Value)
		}
		return codes, reprs, values, true
	case *namedTuple:
		codes, reprs, values = attrElements(v.fields)
		return codes, reprs, values, true
	}
	return nil, nil, nil, false
}

// attrElements returns the path elements and values of the attributes of
// a Buildable or NamedTuple.
func attrElements(args []Arg) (codes, reprs []string, values []any) {
	for _, a := range args {
		codes = append(codes, "."+a.Name)
		reprs = append(reprs, "Attr(name="+pyrepr.Str(a.Name)+")")
		values = append(values, a.Value)
	}
	return codes, reprs, values
}

func indexElements(n int) (codes, reprs []string) {
	for i := 0; i < n; i++ {
		s := strconv.Itoa(i)
		codes = append(codes, "["+s+"]")
		reprs = append(reprs, "Index(index="+s+")")
	}
	return codes, reprs
}

func keyRepr(k any) string {
	switch k := k.(type) {
	case string:
		return pyrepr.Str(k)
	case int:
		return strconv.Itoa(k)
	case int64:
		return strconv.FormatInt(k, 10)
	}
	return fmt.Sprintf("<%T>", k)
}

// collectPaths mirrors daglish_legacy.collect_paths_by_id: a pre-order
// traversal without memoization, so a shared value is visited (and its
// children are reached) once per path.
func (e *encoder) collectPaths(v any, path string, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("%w: nesting deeper than %d at %s (a cycle?)", ErrUnserializable, MaxDepth, path)
	}
	if id, ok := identity(v); ok {
		e.paths[id] = append(e.paths[id], path)
	}
	codes, _, values, ok := children(v)
	if !ok {
		return nil
	}
	for i, c := range values {
		if err := e.collectPaths(c, path+codes[i], depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (e *encoder) ref(name string) []byte {
	if _, ok := e.refcounts[name]; !ok {
		e.refOrder = append(e.refOrder, name)
	}
	e.refcounts[name]++
	var b bytes.Buffer
	b.WriteString(`{"type": "ref", "key": `)
	writeString(&b, name)
	b.WriteString("}")
	return b.Bytes()
}

// serialize mirrors Serialization._serialize. withPaths is false inside
// metadata, where fiddle records no paths and writes primitives bare.
func (e *encoder) serialize(v any, allPaths []string, withPaths bool, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", ErrUnserializable, MaxDepth)
	}
	id, memoizable := identity(v)
	if memoizable {
		if name, ok := e.memo[id]; ok {
			return e.ref(name), nil
		}
	}
	if withPaths && memoizable {
		if p, ok := e.paths[id]; ok {
			allPaths = p
		}
	}
	var b bytes.Buffer
	pyref := false
	switch x := v.(type) {
	case nil, bool, int, int64, float64, string:
		if !withPaths {
			if err := writeLeaf(&b, x); err != nil {
				return nil, err
			}
			return b.Bytes(), nil
		}
		b.WriteString(`{"type": "leaf", "value": `)
		if err := writeLeaf(&b, x); err != nil {
			return nil, err
		}
	case Ref:
		if err := checkRef(x); err != nil {
			return nil, err
		}
		writePyref(&b, x)
		if x.Kind == Builtin {
			// NeMo's patched _serialize returns the pyref of a builtin
			// function before paths are added.
			b.WriteString("}")
			return b.Bytes(), nil
		}
		pyref = true
	case *Config, *List, *Tuple, *Dict, *namedTuple:
		if x == nil || isNilPointer(x) {
			return nil, fmt.Errorf("%w: nil %T", ErrUnserializable, x)
		}
		codes, reprs, values, _ := children(x)
		items := make([][]byte, len(values))
		for i, c := range values {
			var childPaths []string
			if withPaths {
				childPaths = make([]string, len(allPaths))
				for j, p := range allPaths {
					childPaths[j] = p + codes[i]
				}
			}
			s, err := e.serialize(c, childPaths, withPaths, depth+1)
			if err != nil {
				return nil, err
			}
			items[i] = s
		}
		typ, meta, err := e.typeAndMetadata(x)
		if err != nil {
			return nil, err
		}
		metaJSON, err := e.serialize(meta, nil, false, depth+1)
		if err != nil {
			return nil, err
		}
		b.WriteString(`{"type": `)
		writePyref(&b, typ)
		b.WriteString(`}, "items": [`)
		for i := range items {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("[")
			writeString(&b, reprs[i])
			b.WriteString(", ")
			b.Write(items[i])
			b.WriteString("]")
		}
		b.WriteString(`], "metadata": `)
		b.Write(metaJSON)
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnserializable, v)
	}
	if withPaths {
		b.WriteString(`, "paths": [`)
		for i, p := range allPaths {
			if i > 0 {
				b.WriteString(", ")
			}
			writeString(&b, p)
		}
		b.WriteString("]")
	}
	b.WriteString("}")
	if !memoizable || pyref {
		return b.Bytes(), nil
	}
	name := e.uniqueName(v)
	e.memo[id] = name
	e.names[name] = true
	e.objects = append(e.objects, object{name: name, json: b.Bytes()})
	return e.ref(name), nil
}

func isNilPointer(v any) bool {
	switch x := v.(type) {
	case *Config:
		return x == nil
	case *List:
		return x == nil
	case *Tuple:
		return x == nil
	case *Dict:
		return x == nil
	case *namedTuple:
		return x == nil
	}
	return false
}

// typeAndMetadata returns the Python type of a traversable value and the
// metadata its traverser's flatten returns.
func (e *encoder) typeAndMetadata(v any) (Ref, any, error) {
	switch x := v.(type) {
	case *Config:
		if err := checkRef(x.Fn); err != nil {
			return Ref{}, nil, err
		}
		names := make([]any, len(x.Args))
		seen := make(map[string]bool, len(x.Args))
		for i, a := range x.Args {
			if seen[a.Name] {
				return Ref{}, nil, fmt.Errorf("%w: argument %q of %s given twice", ErrUnserializable, a.Name, x.Fn)
			}
			seen[a.Name] = true
			names[i] = a.Name
		}
		// BuildableTraverserMetadata.without_history(): fn_or_cls, the
		// argument names, no tags, an empty history.
		meta := &namedTuple{typ: buildableTraverserMetadata, fields: []Arg{
			{Name: "fn_or_cls", Value: x.Fn},
			{Name: "argument_names", Value: &Tuple{Items: names}},
			{Name: "argument_tags", Value: &Dict{}},
			{Name: "argument_history", Value: &Dict{}},
		}}
		return x.BuildableType(), meta, nil
	case *List:
		return builtinsList, nil, nil
	case *Tuple:
		return builtinsTuple, nil, nil
	case *Dict:
		keys := make([]any, len(x.Entries))
		for i, en := range x.Entries {
			switch en.Key.(type) {
			case string, int, int64:
			default:
				return Ref{}, nil, fmt.Errorf("%w: dict key of type %T", ErrUnserializable, en.Key)
			}
			keys[i] = en.Key
		}
		return builtinsDict, &Tuple{Items: keys}, nil
	case *namedTuple:
		return x.typ, x.typ, nil
	}
	return Ref{}, nil, fmt.Errorf("%w: %T", ErrUnserializable, v)
}

// uniqueName mirrors Serialization._unique_name: the snake-cased name of
// the configured callable (for a Buildable) or of the value's type,
// suffixed with the first unused counter.
func (e *encoder) uniqueName(v any) string {
	var hint string
	switch x := v.(type) {
	case *Config:
		hint = lastName(x.Fn.Name)
	case *List:
		hint = "list"
	case *Tuple:
		hint = "tuple"
	case *Dict:
		hint = "dict"
	case *namedTuple:
		hint = lastName(x.typ.Name)
	}
	hint = snakeCase(hint)
	for i := 1; ; i++ {
		name := hint + "_" + strconv.Itoa(i)
		if !e.names[name] {
			return name
		}
	}
}

// lastName returns the __name__ of a qualified name ("Outer.Inner" ->
// "Inner").
func lastName(qualname string) string {
	for i := len(qualname) - 1; i >= 0; i-- {
		if qualname[i] == '.' {
			return qualname[i+1:]
		}
	}
	return qualname
}

// snakeCase mirrors fiddle's _to_snake_case: an underscore before every
// upper-case letter that follows a character other than '_' or an
// upper-case letter, then lower case.
func snakeCase(s string) string {
	var b []byte
	var prev byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i > 0 && isUpper(c) && prev != '_' && !isUpper(prev) {
			b = append(b, '_')
		}
		if isUpper(c) {
			b = append(b, c+('a'-'A'))
		} else {
			b = append(b, c)
		}
		prev = c
	}
	return string(b)
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

func checkRef(r Ref) error {
	if r.Name == "" || r.Module == "" {
		return fmt.Errorf("%w: incomplete Python reference %q", ErrUnserializable, r.String())
	}
	if !utf8.ValidString(r.Module) || !utf8.ValidString(r.Name) {
		return fmt.Errorf("%w: Python reference %q is not UTF-8", ErrUnserializable, r.String())
	}
	return nil
}

// writePyref writes a pyref object without its closing brace.
func writePyref(b *bytes.Buffer, r Ref) {
	b.WriteString(`{"type": "pyref", "module": `)
	writeString(b, r.Module)
	b.WriteString(`, "name": `)
	writeString(b, r.Name)
}

func writeLeaf(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		// json.dumps writes float.__repr__, and NaN/Infinity as
		// JavaScript names (allow_nan=True).
		switch {
		case math.IsNaN(x):
			b.WriteString("NaN")
		case math.IsInf(x, 1):
			b.WriteString("Infinity")
		case math.IsInf(x, -1):
			b.WriteString("-Infinity")
		default:
			b.WriteString(pyrepr.Float(x))
		}
	case string:
		if !utf8.ValidString(x) {
			return fmt.Errorf("%w: string %q is not UTF-8", ErrUnserializable, x)
		}
		writeString(b, x)
	default:
		return fmt.Errorf("%w: %T", ErrUnserializable, v)
	}
	return nil
}

// writeString writes s as Python's json.dumps does with ensure_ascii:
// every character outside printable ASCII escaped, in lower-case hex.
func writeString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r >= 0x20 && r <= 0x7e {
				b.WriteRune(r)
				continue
			}
			u := []rune{r}
			if r > 0xffff {
				r -= 0x10000
				u = []rune{0xd800 | (r>>10)&0x3ff, 0xdc00 | r&0x3ff}
			}
			for _, c := range u {
				b.WriteString(`\u`)
				b.WriteByte(hex[c>>12&0xf])
				b.WriteByte(hex[c>>8&0xf])
				b.WriteByte(hex[c>>4&0xf])
				b.WriteByte(hex[c&0xf])
			}
		}
	}
	b.WriteByte('"')
}

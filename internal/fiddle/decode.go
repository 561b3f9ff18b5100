package fiddle

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxTreeValues bounds the number of values in a decoded tree, counting
// a shared object once for every reference to it: what a walk that does
// not memoize (Marshal's path collection, a YAML writer) visits. fiddle
// writes every path of a value into the document, so a document fiddle
// wrote never expands beyond its own size; a hand-made one could expand
// exponentially (each list holding the previous one twice).
const maxTreeValues = 1 << 20

// Document is a fiddle JSON document (what serialization.dump_json writes)
// as read, before its values are decoded. Root decodes the whole tree; At
// decodes the part under one path, as NeMo's io.load_context(path,
// subpath=...) does.
type Document struct {
	// Version is the format version the writer recorded ("0.0.1"), ""
	// when absent. fiddle's reader does not check it, nor does this one.
	Version string

	root    *jval
	objects *jval // the "objects" JSON object: keys and values in order
	index   map[string]int
}

// DecodeError is a document that is well-formed JSON but not fiddle's
// serialization, or that exceeds a limit of this reader.
type DecodeError struct {
	// Object is the key (in "objects") of the object the problem is in,
	// "" for the top level and the root value.
	Object string
	// Offset is the byte offset of the offending JSON value.
	Offset int
	Msg    string
}

func (e *DecodeError) Error() string {
	var b strings.Builder
	b.WriteString("fiddle: ")
	if e.Object != "" {
		b.WriteString("object ")
		b.WriteString(quoteShort(e.Object))
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	b.WriteString(" (offset ")
	b.WriteString(strconv.Itoa(e.Offset))
	b.WriteString(")")
	return b.String()
}

// Object is a traversable Python value that is neither a Buildable nor a
// list, tuple or dict: a NamedTuple, or an instance of a type the writing
// program registered a traverser for. Its meaning depends on that
// traverser, so it is kept as written. Marshal does not write it.
type Object struct {
	Type     Ref
	Items    []Item
	Metadata any
}

// Item is one flattened element of an Object: its path element as fiddle
// writes it (the repr of an Attr, Index or Key, e.g. "Attr(name='x')") and
// its value.
type Item struct {
	Elem  string
	Value any
}

var torchDTypes = map[string]bool{
	// The dtypes nemo.lightning.io.fdl_torch.enable registers as
	// serialization constants.
	"bool": true, "uint8": true, "int8": true, "int16": true, "int32": true, "int64": true,
	"float16": true, "bfloat16": true, "float32": true, "float64": true, "complex64": true, "complex128": true,
}

// ReadDocument reads a document of at most MaxSize bytes from r and parses
// it (see Parse).
func ReadDocument(r io.Reader) (*Document, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, err
	}
	return Parse(data)
}

// Parse parses a fiddle JSON document and checks its outline: a JSON
// object with "root" and "objects", and every object a traversable value
// whose "type" is a pyref (NeMo's io.load_context imports the type of
// every object before decoding anything). The values themselves are
// checked when Root or At decodes them.
//
// Parse reads JSON as Python's json module does (NaN and ±Infinity
// included), refusing documents larger than MaxSize, nested deeper than
// about four times MaxDepth, holding more than a few hundred thousand
// values, or repeating a member name.
func Parse(data []byte) (*Document, error) {
	top, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	if top.kind != jObject {
		return nil, &DecodeError{Offset: top.off, Msg: "document is " + top.kind.String() + ", want an object"}
	}
	d := &Document{}
	var ok bool
	if d.root, ok = top.member("root"); !ok {
		return nil, &DecodeError{Offset: top.off, Msg: `no "root"`}
	}
	if d.objects, ok = top.member("objects"); !ok {
		return nil, &DecodeError{Offset: top.off, Msg: `no "objects"`}
	}
	if d.objects.kind != jObject {
		return nil, &DecodeError{Offset: d.objects.off, Msg: `"objects" is ` + d.objects.kind.String() + ", want an object"}
	}
	if v, ok := top.member("version"); ok {
		if v.kind != jString {
			return nil, &DecodeError{Offset: v.off, Msg: `"version" is ` + v.kind.String() + ", want a string"}
		}
		d.Version = v.s
	}
	if rc, ok := top.member("refcounts"); ok {
		if rc.kind != jObject {
			return nil, &DecodeError{Offset: rc.off, Msg: `"refcounts" is ` + rc.kind.String() + ", want an object"}
		}
		for i := range rc.kids {
			if n := &rc.kids[i]; n.kind != jInt || n.i < 0 {
				return nil, &DecodeError{Offset: n.off, Msg: "refcount of " + quoteShort(rc.keys[i]) + " is not a count"}
			}
		}
	}
	d.index = make(map[string]int, len(d.objects.keys))
	for i, key := range d.objects.keys {
		d.index[key] = i
		obj := &d.objects.kids[i]
		if obj.kind != jObject {
			return nil, &DecodeError{Object: key, Offset: obj.off, Msg: "is " + obj.kind.String() + ", want an object"}
		}
		t, ok := obj.member("type")
		if !ok {
			return nil, &DecodeError{Object: key, Offset: obj.off, Msg: `no "type"`}
		}
		if _, err := pyref(t); err != nil {
			return nil, &DecodeError{Object: key, Offset: t.off, Msg: "type: " + err.Error()}
		}
		if p, ok := obj.member("paths"); ok {
			if err := checkPaths(p); err != nil {
				return nil, &DecodeError{Object: key, Offset: p.off, Msg: err.Error()}
			}
		}
	}
	return d, nil
}

// Unmarshal decodes the fiddle JSON document data into a tree of the
// value types this package writes (see the package documentation), plus
// *Object for traversable values of other types.
func Unmarshal(data []byte) (any, error) {
	d, err := Parse(data)
	if err != nil {
		return nil, err
	}
	return d.Root()
}

// Root decodes the whole document: the value of "root" with every
// reference resolved. A value referenced several times is decoded once
// and shared, as fiddle's Deserialization shares it.
//
// Values become nil, bool, int, float64 and string (JSON numbers without
// fraction or exponent are ints, as in Python), Ref, *Config, *List,
// *Tuple, *Dict and *Object. A Ref's Kind is Constant for the torch
// dtypes NeMo registers, Builtin for a pyref NeMo wrote without paths
// (a builtin function), and Callable otherwise: an enum member
// ("Class.MEMBER") cannot be told from a nested class by the document
// alone.
// A Config's Type is left zero for fdl.Config.
//
// Decoding fails, naming the object, on a dangling or cyclic reference,
// a value of the wrong shape, a tree nested deeper than MaxDepth or one
// that would expand (shared values counted once per path) to more than a
// million values.
func (d *Document) Root() (any, error) {
	dec := d.decoder()
	v, _, err := dec.value(d.root, 0, false)
	return v, err
}

// At decodes the value of the first object, in document order, whose
// "paths" include path, such as "<root>.model": the object NeMo's
// io.load_context(dir, subpath="model") re-roots the document at. ok is
// false when no object has that path.
func (d *Document) At(path string) (v any, ok bool, err error) {
	for i, key := range d.objects.keys {
		p, has := d.objects.kids[i].member("paths")
		if !has {
			continue
		}
		for _, s := range p.kids {
			if s.s == path {
				dec := d.decoder()
				v, _, err := dec.object(key, 0, false, d.objects.kids[i].off)
				return v, true, err
			}
		}
	}
	return nil, false, nil
}

// Keys returns the keys of the document's objects, in document order.
func (d *Document) Keys() []string { return append([]string(nil), d.objects.keys...) }

func (d *Document) decoder() *decoder {
	return &decoder{doc: d, done: map[string]decoded{}, active: map[string]bool{}}
}

func checkPaths(p *jval) error {
	if p.kind != jArray {
		return errors.New(`"paths" is ` + p.kind.String() + ", want an array")
	}
	for _, s := range p.kids {
		if s.kind != jString {
			return errors.New(`"paths" holds ` + s.kind.String() + ", want strings")
		}
	}
	return nil
}

// pyref reads {"type": "pyref", "module": m, "name": n}.
func pyref(v *jval) (Ref, error) {
	if v.kind != jObject {
		return Ref{}, errors.New("is " + v.kind.String() + ", want a pyref")
	}
	t, ok := v.member("type")
	if !ok || t.kind != jString || t.s != "pyref" {
		return Ref{}, errors.New("is not a pyref")
	}
	m, ok1 := v.member("module")
	n, ok2 := v.member("name")
	if !ok1 || !ok2 || m.kind != jString || n.kind != jString || m.s == "" || n.s == "" {
		return Ref{}, errors.New("pyref without a module and name")
	}
	return Ref{Module: m.s, Name: n.s}, nil
}

// decoded is a decoded object with the measures of its expanded tree.
type decoded struct {
	v   any
	dim dims
}

// dims measures a decoded value's tree, shared values expanded.
type dims struct {
	size   int // values, metadata included
	height int // levels of values below the value, metadata excluded
}

type decoder struct {
	doc    *Document
	done   map[string]decoded
	active map[string]bool // objects being decoded: a reference to one is a cycle
	cur    string          // the object being decoded, for errors
}

func (dec *decoder) errorf(v *jval, format string, args ...any) error {
	return &DecodeError{Object: dec.cur, Offset: v.off, Msg: fmt.Sprintf(format, args...)}
}

// object decodes the object key, reached at depth.
func (dec *decoder) object(key string, depth int, meta bool, off int) (any, dims, error) {
	if r, ok := dec.done[key]; ok {
		return r.v, r.dim, nil
	}
	if dec.active[key] {
		return nil, dims{}, &DecodeError{Object: dec.cur, Offset: off, Msg: "reference to " + quoteShort(key) + " makes a cycle"}
	}
	i, ok := dec.doc.index[key]
	if !ok {
		return nil, dims{}, &DecodeError{Object: dec.cur, Offset: off, Msg: "reference to " + quoteShort(key) + ", which is not among the objects"}
	}
	dec.active[key] = true
	outer := dec.cur
	dec.cur = key
	v, dim, err := dec.value(&dec.doc.objects.kids[i], depth, meta)
	dec.cur = outer
	delete(dec.active, key)
	if err != nil {
		return nil, dims{}, err
	}
	dec.done[key] = decoded{v, dim}
	return v, dim, nil
}

// value decodes v, found at depth in the tree; meta is true inside a
// traversable's metadata, where fiddle writes no paths.
func (dec *decoder) value(v *jval, depth int, meta bool) (any, dims, error) {
	if depth > MaxDepth {
		return nil, dims{}, dec.errorf(v, "nested deeper than %d", MaxDepth)
	}
	switch v.kind {
	case jNull, jBool, jInt, jFloat, jString:
		// fiddle writes bare primitives only in metadata; its reader
		// takes them anywhere.
		p, err := dec.primitive(v)
		return p, dims{size: 1}, err
	case jArray:
		// A JSON array is a Python list to fiddle's reader.
		items, dim, err := dec.values(v.kids, depth, meta)
		if err != nil {
			return nil, dims{}, err
		}
		return &List{Items: items}, dim, nil
	}
	t, ok := v.member("type")
	if !ok {
		return nil, dims{}, dec.errorf(v, `value without "type"`)
	}
	if t.kind == jString {
		switch t.s {
		case "ref":
			k, ok := v.member("key")
			if !ok || k.kind != jString {
				return nil, dims{}, dec.errorf(v, "ref without a key")
			}
			r, dim, err := dec.object(k.s, depth, meta, v.off)
			if err != nil {
				return nil, dims{}, err
			}
			if depth+dim.height > MaxDepth {
				return nil, dims{}, dec.errorf(v, "reference to %s nests deeper than %d", quoteShort(k.s), MaxDepth)
			}
			return r, dim, nil
		case "pyref":
			r, err := pyref(v)
			if err != nil {
				return nil, dims{}, dec.errorf(v, "%v", err)
			}
			_, hasPaths := v.member("paths")
			switch {
			case r.Module == "torch" && torchDTypes[r.Name]:
				r.Kind = Constant
			case !meta && !hasPaths:
				// NeMo's serializer returns a builtin function's
				// pyref before paths are added.
				r.Kind = Builtin
			}
			return r, dims{size: 1}, nil
		case "leaf":
			x, ok := v.member("value")
			if !ok {
				return nil, dims{}, dec.errorf(v, "leaf without a value")
			}
			switch x.kind {
			case jArray, jObject:
				return nil, dims{}, dec.errorf(x, "leaf value is %s, want a JSON primitive", x.kind)
			}
			p, err := dec.primitive(x)
			return p, dims{size: 1}, err
		}
		return nil, dims{}, dec.errorf(t, "unknown value type %s", quoteShort(t.s))
	}
	typ, err := pyref(t)
	if err != nil {
		return nil, dims{}, dec.errorf(t, "type %v", err)
	}
	itemsJ, ok := v.member("items")
	if !ok || itemsJ.kind != jArray {
		return nil, dims{}, dec.errorf(v, "%s value without an items array", typ)
	}
	metaJ, ok := v.member("metadata")
	if !ok {
		return nil, dims{}, dec.errorf(v, "%s value without metadata", typ)
	}
	elems := make([]string, len(itemsJ.kids))
	vals := make([]jval, len(itemsJ.kids))
	for i := range itemsJ.kids {
		it := &itemsJ.kids[i]
		if it.kind != jArray || len(it.kids) != 2 || it.kids[0].kind != jString {
			return nil, dims{}, dec.errorf(it, "item %d of %s is not a [path element, value] pair", i, typ)
		}
		elems[i], vals[i] = it.kids[0].s, it.kids[1]
	}
	items, dim, err := dec.values(vals, depth, meta)
	if err != nil {
		return nil, dims{}, err
	}
	md, mdim, err := dec.value(metaJ, depth+1, true)
	if err != nil {
		return nil, dims{}, err
	}
	// Metadata counts towards the size but not the height: it is not
	// part of the value tree a walk descends (its nesting was checked
	// against MaxDepth as it was decoded).
	if dim, err = dim.add(dims{size: mdim.size, height: -1}); err != nil {
		return nil, dims{}, dec.errorf(v, "%v", err)
	}
	out, err := build(typ, elems, items, md)
	if err != nil {
		return nil, dims{}, dec.errorf(v, "%v", err)
	}
	return out, dim, nil
}

// values decodes the children of a container at depth and measures the
// container.
func (dec *decoder) values(js []jval, depth int, meta bool) ([]any, dims, error) {
	out := make([]any, len(js))
	dim := dims{size: 1}
	for i := range js {
		x, d, err := dec.value(&js[i], depth+1, meta)
		if err != nil {
			return nil, dims{}, err
		}
		out[i] = x
		if dim, err = dim.add(d); err != nil {
			return nil, dims{}, dec.errorf(&js[i], "%v", err)
		}
	}
	return out, dim, nil
}

// add accounts for a child c of d.
func (d dims) add(c dims) (dims, error) {
	d.size += c.size
	if d.size > maxTreeValues {
		return d, fmt.Errorf("the tree expands to more than %d values", maxTreeValues)
	}
	d.height = max(d.height, c.height+1)
	return d, nil
}

func (dec *decoder) primitive(v *jval) (any, error) {
	switch v.kind {
	case jNull:
		return nil, nil
	case jBool:
		return v.b, nil
	case jInt:
		n := int(v.i)
		if int64(n) != v.i {
			return nil, dec.errorf(v, "integer %d is out of range", v.i)
		}
		return n, nil
	case jFloat:
		return v.f, nil
	case jString:
		return v.s, nil
	}
	return nil, dec.errorf(v, "%s is not a primitive", v.kind)
}

// build turns a traversable's type, items and metadata into the value
// fiddle's traverser for the type unflattens.
func build(typ Ref, elems []string, items []any, meta any) (any, error) {
	switch typ {
	case builtinsList:
		return &List{Items: items}, nil
	case builtinsTuple:
		return &Tuple{Items: items}, nil
	case builtinsDict:
		keys, ok := sequence(meta)
		if !ok {
			return nil, fmt.Errorf("dict metadata is %s, want the tuple of its keys", Describe(meta))
		}
		if len(keys) != len(items) {
			return nil, fmt.Errorf("dict has %d values and %d keys", len(items), len(keys))
		}
		d := &Dict{Entries: make([]Entry, len(items))}
		seen := make(map[any]bool, len(keys))
		for i, k := range keys {
			switch k.(type) {
			case string, int:
			default:
				return nil, fmt.Errorf("dict key %d is %s, want a string or an int", i, Describe(k))
			}
			if seen[k] {
				return nil, fmt.Errorf("dict key %v repeated", k)
			}
			seen[k] = true
			d.Entries[i] = Entry{Key: k, Value: items[i]}
		}
		return d, nil
	}
	if m, ok := meta.(*Object); ok && m.Type == buildableTraverserMetadata {
		return buildable(typ, items, m)
	}
	switch typ {
	case FiddleConfig, FiddlePartial, RunConfig, RunPartial:
		return nil, fmt.Errorf("%s without BuildableTraverserMetadata (metadata is %s)", typ, Describe(meta))
	}
	o := &Object{Type: typ, Items: make([]Item, len(items)), Metadata: meta}
	for i := range items {
		o.Items[i] = Item{Elem: elems[i], Value: items[i]}
	}
	return o, nil
}

// buildable unflattens a Buildable from its argument values and its
// BuildableTraverserMetadata(fn_or_cls, argument_names, argument_tags,
// argument_history), read by position as a NamedTuple is. Tags and
// history do not change what the Buildable builds.
func buildable(typ Ref, values []any, m *Object) (*Config, error) {
	if len(m.Items) < 2 || len(m.Items) > 4 {
		return nil, fmt.Errorf("BuildableTraverserMetadata has %d fields, want 4", len(m.Items))
	}
	fn, ok := m.Items[0].Value.(Ref)
	if !ok {
		return nil, fmt.Errorf("fn_or_cls is %s, want a pyref", Describe(m.Items[0].Value))
	}
	names, ok := sequence(m.Items[1].Value)
	if !ok {
		return nil, fmt.Errorf("argument_names of %s is %s, want a tuple", fn, Describe(m.Items[1].Value))
	}
	if len(names) != len(values) {
		return nil, fmt.Errorf("%s has %d argument values and %d argument names", fn, len(values), len(names))
	}
	fn.Kind = Callable
	c := &Config{Fn: fn, Args: make([]Arg, len(values))}
	if typ != FiddleConfig {
		c.Type = typ
	}
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		s, ok := n.(string)
		if !ok {
			return nil, fmt.Errorf("argument name %d of %s is %s, want a string", i, fn, Describe(n))
		}
		if seen[s] {
			return nil, fmt.Errorf("argument %s of %s given twice", quoteShort(s), fn)
		}
		seen[s] = true
		c.Args[i] = Arg{Name: s, Value: values[i]}
	}
	return c, nil
}

func sequence(v any) ([]any, bool) {
	switch x := v.(type) {
	case *Tuple:
		return x.Items, true
	case *List:
		return x.Items, true
	}
	return nil, false
}

// Describe names a decoded value's kind for an error message: "an int",
// "a Buildable of 'm.C'".
func Describe(v any) string {
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
	case Ref:
		return "the pyref " + quoteShort(x.String())
	case *Config:
		return "a Buildable of " + quoteShort(x.Fn.String())
	case *List:
		return "a list"
	case *Tuple:
		return "a tuple"
	case *Dict:
		return "a dict"
	case *Object:
		return "a " + quoteShort(x.Type.String())
	}
	return fmt.Sprintf("%T", v)
}

// Package pickle reads and writes Python pickles without running Python.
//
// Decoding handles protocols 0 through 5 and builds a generic object tree:
// nothing is ever executed, classes are recorded by name ([Global]) and calls
// are recorded as [Object] values. Encoding writes the protocol-2 subset that
// torch.load(weights_only=True) accepts, which plain pickle.load accepts too.
//
// Python values map to Go values as follows:
//
//	None            nil
//	bool            bool
//	int             int64, or *big.Int when it does not fit
//	float           float64
//	str             string
//	bytes           Bytes
//	bytearray       *ByteArray
//	tuple           Tuple
//	list            *List
//	dict            *Dict (insertion ordered)
//	set, frozenset  *Set
//	a global name   Global
//	a call, NEWOBJ  *Object (callable, arguments, BUILD state, appended items)
//	persistent id   PersID, unless the decoder has a PersistentLoad hook
package pickle

import (
	"fmt"
	"math/big"
)

// Tuple is a Python tuple.
type Tuple []any

// Bytes is a Python bytes value.
type Bytes []byte

// ByteArray is a Python bytearray.
type ByteArray struct{ Data []byte }

// List is a Python list. It is a pointer type because pickles may share and
// mutate lists through the memo.
type List struct{ Items []any }

// Set is a Python set or frozenset.
type Set struct {
	Items  []any
	Frozen bool
}

// Global names a module-level Python object, such as a class or function.
type Global struct{ Module, Name string }

func (g Global) String() string { return g.Module + "." + g.Name }

// PersID is a persistent id that was not resolved by a PersistentLoad hook.
type PersID struct{ ID any }

// Object is the result of calling something during unpickling (REDUCE,
// NEWOBJ, NEWOBJ_EX, OBJ, INST), together with whatever was applied to it
// afterwards: BUILD state and items appended or set on it.
type Object struct {
	Callable any   // usually a Global
	Args     Tuple // positional arguments
	Kwargs   *Dict // NEWOBJ_EX keyword arguments, or nil
	NewObj   bool  // created with cls.__new__ (NEWOBJ) rather than called (REDUCE)

	Built bool // BUILD was applied
	State any  // the BUILD state: usually a *Dict, sometimes a Tuple

	ListItems []any  // APPEND(S) applied to the object (list subclasses)
	DictItems []Item // SETITEM(S) applied to the object (dict subclasses such as OrderedDict)
}

// Class returns the callable as a Global, if it is one.
func (o *Object) Class() (Global, bool) {
	g, ok := o.Callable.(Global)
	return g, ok
}

// Is reports whether the object was made by the global module.name.
func (o *Object) Is(module, name string) bool {
	g, ok := o.Class()
	return ok && g.Module == module && g.Name == name
}

// Attr returns the named field of the object's BUILD state when the state is
// a dict, or the dict half of a (dict, slots) state pair.
func (o *Object) Attr(name string) (any, bool) {
	d := o.StateDict()
	if d == nil {
		return nil, false
	}
	return d.Get(name)
}

// StateDict returns the object's state dict, or nil when it has none.
func (o *Object) StateDict() *Dict {
	switch s := o.State.(type) {
	case *Dict:
		return s
	case Tuple:
		// (state, slotstate) as written by copyreg for classes with __slots__.
		if len(s) == 2 {
			d, _ := s[0].(*Dict)
			if d == nil {
				d, _ = s[1].(*Dict)
			}
			return d
		}
	}
	return nil
}

// Item is one key/value pair of a Dict.
type Item struct{ Key, Value any }

// Dict is a Python dict. Items keep insertion order. Keys of hashable scalar
// types (str, int, bool, float, None, Global) are deduplicated as Python
// would; other keys (tuples, objects) are kept as given.
type Dict struct {
	Items []Item
	index map[any]int
}

// NewDict returns a dict holding the given key/value pairs in order.
func NewDict(kv ...any) *Dict {
	d := &Dict{}
	for i := 0; i+1 < len(kv); i += 2 {
		d.Set(kv[i], kv[i+1])
	}
	return d
}

func indexKey(k any) (any, bool) {
	switch k := k.(type) {
	case nil:
		return nil, true
	case string, int64, bool, float64, Global:
		return k, true
	case Bytes:
		return "b\x00" + string(k), true
	case *big.Int:
		return "n\x00" + k.String(), true
	}
	return nil, false
}

// smallDict is the size up to which a Dict is searched by a scan rather
// than through an index: most decoded dicts are a dataclass's few fields,
// and a map each would cost more than the dict.
const smallDict = 8

// Set sets key to value, replacing an equal scalar key in place.
func (d *Dict) Set(key, value any) {
	ik, ok := indexKey(key)
	if !ok {
		d.Items = append(d.Items, Item{key, value})
		return
	}
	if d.index == nil && len(d.Items) < smallDict {
		if i := d.scan(ik); i >= 0 {
			d.Items[i].Value = value
			return
		}
		d.Items = append(d.Items, Item{key, value})
		return
	}
	if d.index == nil {
		d.index = make(map[any]int, len(d.Items)+1)
		for i, it := range d.Items {
			if k, ok := indexKey(it.Key); ok {
				if _, dup := d.index[k]; !dup {
					d.index[k] = i
				}
			}
		}
	}
	if i, ok := d.index[ik]; ok {
		d.Items[i].Value = value
		return
	}
	d.index[ik] = len(d.Items)
	d.Items = append(d.Items, Item{key, value})
}

// scan returns the position of the first item whose key is ik, or -1.
func (d *Dict) scan(ik any) int {
	for i, it := range d.Items {
		if k, ok := indexKey(it.Key); ok && k == ik {
			return i
		}
	}
	return -1
}

// Get returns the value for a scalar key such as a string.
func (d *Dict) Get(key any) (any, bool) {
	if d == nil {
		return nil, false
	}
	ik, ok := indexKey(key)
	if !ok {
		return nil, false
	}
	if d.index == nil {
		// A small dict, or one built by hand as a literal: scan.
		if i := d.scan(ik); i >= 0 {
			return d.Items[i].Value, true
		}
		return nil, false
	}
	i, ok := d.index[ik]
	if !ok {
		return nil, false
	}
	return d.Items[i].Value, true
}

// Len returns the number of items.
func (d *Dict) Len() int {
	if d == nil {
		return 0
	}
	return len(d.Items)
}

// AsDict returns the items of a dict or of a dict-like object such as
// collections.OrderedDict, which pickles as a call followed by SETITEMS.
func AsDict(v any) (*Dict, bool) {
	switch v := v.(type) {
	case *Dict:
		return v, true
	case *Object:
		if len(v.Args) == 0 && !v.Built && len(v.ListItems) == 0 &&
			(len(v.DictItems) > 0 || v.Is("collections", "OrderedDict")) {
			d := &Dict{}
			for _, it := range v.DictItems {
				d.Set(it.Key, it.Value)
			}
			return d, true
		}
		// OrderedDict([(k, v), ...]) as older protocols write it.
		if v.Is("collections", "OrderedDict") && len(v.Args) == 1 {
			d := &Dict{}
			items, ok := AsList(v.Args[0])
			if !ok {
				return nil, false
			}
			for _, p := range items {
				pair, ok := p.(Tuple)
				if !ok {
					if l, isList := p.(*List); isList {
						pair = Tuple(l.Items)
					}
				}
				if len(pair) != 2 {
					return nil, false
				}
				d.Set(pair[0], pair[1])
			}
			for _, it := range v.DictItems {
				d.Set(it.Key, it.Value)
			}
			return d, true
		}
	}
	return nil, false
}

// AsList returns the elements of a tuple or list.
func AsList(v any) ([]any, bool) {
	switch v := v.(type) {
	case Tuple:
		return v, true
	case *List:
		return v.Items, true
	}
	return nil, false
}

// AsInt returns v as an int64 if it is an integer that fits.
func AsInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case *big.Int:
		if v.IsInt64() {
			return v.Int64(), true
		}
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// AsInts returns a tuple or list of integers as a slice.
func AsInts(v any) ([]int64, error) {
	items, ok := AsList(v)
	if !ok {
		return nil, fmt.Errorf("want a tuple of ints, got %s", TypeName(v))
	}
	out := make([]int64, len(items))
	for i, it := range items {
		n, ok := AsInt(it)
		if !ok {
			return nil, fmt.Errorf("want a tuple of ints, element %d is %s", i, TypeName(it))
		}
		out[i] = n
	}
	return out, nil
}

// TypeName describes the Python type of a decoded value, for error messages.
func TypeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case Bytes:
		return "bytes"
	case *ByteArray:
		return "bytearray"
	case Tuple:
		return "tuple"
	case *List:
		return "list"
	case *Dict:
		return "dict"
	case *Set:
		if v.Frozen {
			return "frozenset"
		}
		return "set"
	case Global:
		return "global " + v.String()
	case *Object:
		if g, ok := v.Class(); ok {
			return g.String() + " object"
		}
		return "object"
	case PersID:
		return "persistent id"
	}
	return fmt.Sprintf("%T", v)
}

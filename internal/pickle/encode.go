package pickle

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"strings"
)

// maxEncodeDepth bounds nesting, which also catches cycles (a list that
// holds itself) that would otherwise recurse forever.
const maxEncodeDepth = 1000

// Encoder writes protocol-2 pickles using only opcodes that
// torch.load(weights_only=True) understands (torch 1.13 and later):
// PROTO, GLOBAL, BINUNICODE, BININT1/BININT2/BININT/LONG1, BINFLOAT, NONE,
// NEWTRUE/NEWFALSE, EMPTY_TUPLE/TUPLE1-3/MARK+TUPLE, EMPTY_LIST+APPENDS,
// EMPTY_DICT+SETITEMS, BINPERSID, REDUCE, NEWOBJ, BUILD and STOP, and with
// MemoStrings BINPUT/LONG_BINPUT and BINGET/LONG_BINGET. Containers are
// never memoized, so a shared one is written once per reference.
//
// Note that torch 1.13's weights_only unpickler predates BINFLOAT; floats
// load there only with weights_only=False.
type Encoder struct {
	// MemoStrings writes each distinct string and global once and
	// refers back to it after, as Python's pickler does: a large index
	// names the same key and file in every record, and shrinks to about a
	// third.
	MemoStrings bool

	w    *bufio.Writer
	err  error
	memo map[any]uint32
}

// NewEncoder returns an encoder writing to w.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: bufio.NewWriter(w)}
}

// Marshal encodes v as a protocol-2 pickle.
func Marshal(v any) ([]byte, error) {
	var b bytesBuffer
	if err := NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	return b, nil
}

type bytesBuffer []byte

func (b *bytesBuffer) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// Encode writes one complete pickle of v (PROTO 2 ... STOP) and flushes.
//
// Accepted values: nil, bool, signed and unsigned Go integers, *big.Int,
// float32/float64, string, Bytes or []byte, Tuple, *List or []any, *Dict,
// *Set (as the builtins set/frozenset called on a list), Global, *Object
// and PersID.
func (e *Encoder) Encode(v any) error {
	e.w.WriteByte(opProto)
	e.w.WriteByte(2)
	if err := e.value(v, 0); err != nil {
		return err
	}
	e.w.WriteByte(opStop)
	return e.w.Flush()
}

func (e *Encoder) value(v any, depth int) error {
	if depth > maxEncodeDepth {
		return fmt.Errorf("pickle: nesting deeper than %d (a cycle?)", maxEncodeDepth)
	}
	w := e.w
	switch v := v.(type) {
	case nil:
		w.WriteByte(opNone)
	case bool:
		if v {
			w.WriteByte(opNewTrue)
		} else {
			w.WriteByte(opNewFalse)
		}
	case int:
		e.int(int64(v))
	case int8:
		e.int(int64(v))
	case int16:
		e.int(int64(v))
	case int32:
		e.int(int64(v))
	case int64:
		e.int(v)
	case uint8:
		e.int(int64(v))
	case uint16:
		e.int(int64(v))
	case uint32:
		e.int(int64(v))
	case uint:
		e.bigInt(new(big.Int).SetUint64(uint64(v)))
	case uint64:
		e.bigInt(new(big.Int).SetUint64(v))
	case *big.Int:
		e.bigInt(v)
	case float32:
		e.float(float64(v))
	case float64:
		e.float(v)
	case string:
		e.str(v)
	case Bytes:
		e.bytes(v)
	case []byte:
		e.bytes(v)
	case Tuple:
		return e.tuple(v, depth)
	case []any:
		return e.list(v, depth)
	case *List:
		return e.list(v.Items, depth)
	case *Dict:
		w.WriteByte(opEmptyDict)
		return e.setItems(v.Items, depth)
	case *Set:
		name := "set"
		if v.Frozen {
			name = "frozenset"
		}
		e.global(Global{"__builtin__", name})
		w.WriteByte(opEmptyList)
		if err := e.appends(v.Items, depth); err != nil {
			return err
		}
		w.WriteByte(opTuple1)
		w.WriteByte(opReduce)
	case *ByteArray:
		e.global(Global{"__builtin__", "bytearray"})
		e.bytes(v.Data)
		w.WriteByte(opTuple1)
		w.WriteByte(opReduce)
	case Global:
		// GLOBAL ends each name at a newline, so a name holding one (as
		// STACK_GLOBAL allows on the way in) cannot be written.
		if strings.ContainsRune(v.Module, '\n') || strings.ContainsRune(v.Name, '\n') {
			return fmt.Errorf("pickle: cannot encode global %q.%q: a name holds a newline", v.Module, v.Name)
		}
		e.global(v)
	case PersID:
		if err := e.value(v.ID, depth+1); err != nil {
			return err
		}
		w.WriteByte(opBinPersID)
	case *Object:
		return e.object(v, depth)
	default:
		return fmt.Errorf("pickle: cannot encode %T", v)
	}
	return nil
}

func (e *Encoder) object(o *Object, depth int) error {
	w := e.w
	if o.Kwargs != nil && o.Kwargs.Len() > 0 {
		return fmt.Errorf("pickle: cannot encode keyword arguments in protocol 2 (%s)", TypeName(o))
	}
	if err := e.value(o.Callable, depth+1); err != nil {
		return err
	}
	if err := e.tuple(o.Args, depth); err != nil {
		return err
	}
	if o.NewObj {
		w.WriteByte(opNewObj)
	} else {
		w.WriteByte(opReduce)
	}
	if len(o.ListItems) > 0 {
		if err := e.appends(o.ListItems, depth); err != nil {
			return err
		}
	}
	if len(o.DictItems) > 0 {
		if err := e.setItems(o.DictItems, depth); err != nil {
			return err
		}
	}
	if o.Built {
		if err := e.value(o.State, depth+1); err != nil {
			return err
		}
		w.WriteByte(opBuild)
	}
	return nil
}

func (e *Encoder) int(v int64) {
	w := e.w
	switch {
	case v >= 0 && v < 1<<8:
		w.WriteByte(opBinInt1)
		w.WriteByte(byte(v))
	case v >= 0 && v < 1<<16:
		w.WriteByte(opBinInt2)
		binary.Write(w, binary.LittleEndian, uint16(v))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		w.WriteByte(opBinInt)
		binary.Write(w, binary.LittleEndian, int32(v))
	default:
		e.long(encodeLong(big.NewInt(v)))
	}
}

func (e *Encoder) bigInt(v *big.Int) {
	if v.IsInt64() {
		e.int(v.Int64())
		return
	}
	e.long(encodeLong(v))
}

// long writes LONG1, or LONG4 for integers over 255 bytes.
func (e *Encoder) long(b []byte) {
	if len(b) < 256 {
		e.w.WriteByte(opLong1)
		e.w.WriteByte(byte(len(b)))
	} else {
		e.w.WriteByte(opLong4)
		binary.Write(e.w, binary.LittleEndian, uint32(len(b)))
	}
	e.w.Write(b)
}

// encodeLong returns the minimal little-endian two's-complement form, as
// Python's encode_long does.
func encodeLong(v *big.Int) []byte {
	if v.Sign() == 0 {
		return nil
	}
	n := v.BitLen()/8 + 1
	var x *big.Int
	if v.Sign() < 0 {
		x = new(big.Int).Add(v, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	} else {
		x = v
	}
	be := x.FillBytes(make([]byte, n))
	b := make([]byte, n)
	for i := range be {
		b[i] = be[n-1-i]
	}
	// Drop a redundant sign byte, as Python does.
	if len(b) > 1 {
		last, prev := b[len(b)-1], b[len(b)-2]
		if (last == 0 && prev&0x80 == 0) || (last == 0xff && prev&0x80 != 0) {
			b = b[:len(b)-1]
		}
	}
	return b
}

func (e *Encoder) float(f float64) {
	e.w.WriteByte(opBinFloat)
	binary.Write(e.w, binary.BigEndian, math.Float64bits(f))
}

// memoized writes a reference to v if it was written before, and
// otherwise returns a function that memoizes it once it is on the stack.
func (e *Encoder) memoized(v any) (done bool, put func()) {
	if !e.MemoStrings {
		return false, func() {}
	}
	if idx, ok := e.memo[v]; ok {
		if idx < 256 {
			e.w.Write([]byte{opBinGet, byte(idx)})
		} else {
			e.w.WriteByte(opLongBinGet)
			binary.Write(e.w, binary.LittleEndian, idx)
		}
		return true, nil
	}
	return false, func() {
		if e.memo == nil {
			e.memo = make(map[any]uint32)
		}
		idx := uint32(len(e.memo))
		e.memo[v] = idx
		if idx < 256 {
			e.w.Write([]byte{opBinPut, byte(idx)})
		} else {
			e.w.WriteByte(opLongBinPut)
			binary.Write(e.w, binary.LittleEndian, idx)
		}
	}
}

func (e *Encoder) str(s string) {
	done, put := e.memoized(s)
	if done {
		return
	}
	defer put()
	e.w.WriteByte(opBinUnicode)
	binary.Write(e.w, binary.LittleEndian, uint32(len(s)))
	e.w.WriteString(s)
}

// bytes writes bytes the protocol-2 way: _codecs.encode(latin1 text, "latin1").
func (e *Encoder) bytes(b []byte) {
	e.global(Global{"_codecs", "encode"})
	runes := make([]rune, len(b))
	for i, c := range b {
		runes[i] = rune(c)
	}
	e.str(string(runes))
	e.str("latin1")
	e.w.WriteByte(opTuple2)
	e.w.WriteByte(opReduce)
}

func (e *Encoder) global(g Global) {
	done, put := e.memoized(g)
	if done {
		return
	}
	defer put()
	e.w.WriteByte(opGlobal)
	e.w.WriteString(g.Module)
	e.w.WriteByte('\n')
	e.w.WriteString(g.Name)
	e.w.WriteByte('\n')
}

func (e *Encoder) tuple(t Tuple, depth int) error {
	w := e.w
	if len(t) == 0 {
		w.WriteByte(opEmptyTuple)
		return nil
	}
	if len(t) > 3 {
		w.WriteByte(opMark)
	}
	for _, it := range t {
		if err := e.value(it, depth+1); err != nil {
			return err
		}
	}
	switch len(t) {
	case 1:
		w.WriteByte(opTuple1)
	case 2:
		w.WriteByte(opTuple2)
	case 3:
		w.WriteByte(opTuple3)
	default:
		w.WriteByte(opTuple)
	}
	return nil
}

func (e *Encoder) list(items []any, depth int) error {
	e.w.WriteByte(opEmptyList)
	return e.appends(items, depth)
}

// batch matches pickle's _BATCHSIZE, so a huge list does not need a huge
// stack in the reader.
const batch = 1000

func (e *Encoder) appends(items []any, depth int) error {
	for len(items) > 0 {
		n := min(len(items), batch)
		e.w.WriteByte(opMark)
		for _, it := range items[:n] {
			if err := e.value(it, depth+1); err != nil {
				return err
			}
		}
		e.w.WriteByte(opAppends)
		items = items[n:]
	}
	return nil
}

func (e *Encoder) setItems(items []Item, depth int) error {
	for len(items) > 0 {
		n := min(len(items), batch)
		e.w.WriteByte(opMark)
		for _, it := range items[:n] {
			if err := e.value(it.Key, depth+1); err != nil {
				return err
			}
			if err := e.value(it.Value, depth+1); err != nil {
				return err
			}
		}
		e.w.WriteByte(opSetItems)
		items = items[n:]
	}
	return nil
}

// Equal reports whether two decoded values are structurally equal. Dicts
// compare in order. It is meant for tests and verification.
func Equal(a, b any) bool { return equal(a, b, 0) }

func equal(a, b any, depth int) bool {
	if depth > maxEncodeDepth {
		return false
	}
	switch a := a.(type) {
	case *Dict:
		bd, ok := b.(*Dict)
		if !ok || a.Len() != bd.Len() {
			return false
		}
		for i := range a.Items {
			if !equal(a.Items[i].Key, bd.Items[i].Key, depth+1) || !equal(a.Items[i].Value, bd.Items[i].Value, depth+1) {
				return false
			}
		}
		return true
	case *List:
		bl, ok := b.(*List)
		return ok && equalSlices(a.Items, bl.Items, depth)
	case Tuple:
		bt, ok := b.(Tuple)
		return ok && equalSlices(a, bt, depth)
	case *big.Int:
		bi, ok := b.(*big.Int)
		return ok && a.Cmp(bi) == 0
	case *Object:
		bo, ok := b.(*Object)
		if !ok || a.NewObj != bo.NewObj || a.Built != bo.Built || len(a.DictItems) != len(bo.DictItems) {
			return false
		}
		if !equal(a.Callable, bo.Callable, depth+1) || !equalSlices(a.Args, bo.Args, depth) ||
			!equal(a.State, bo.State, depth+1) || !equalSlices(a.ListItems, bo.ListItems, depth) {
			return false
		}
		for i := range a.DictItems {
			if !equal(a.DictItems[i].Key, bo.DictItems[i].Key, depth+1) || !equal(a.DictItems[i].Value, bo.DictItems[i].Value, depth+1) {
				return false
			}
		}
		if (a.Kwargs == nil) != (bo.Kwargs == nil) {
			return false
		}
		return a.Kwargs == nil || equal(a.Kwargs, bo.Kwargs, depth+1)
	case *Set:
		bs, ok := b.(*Set)
		return ok && a.Frozen == bs.Frozen && equalSlices(a.Items, bs.Items, depth)
	case *ByteArray:
		bb, ok := b.(*ByteArray)
		return ok && string(a.Data) == string(bb.Data)
	case PersID:
		bp, ok := b.(PersID)
		return ok && equal(a.ID, bp.ID, depth+1)
	case Bytes:
		bb, ok := b.(Bytes)
		return ok && string(a) == string(bb)
	case float64:
		bf, ok := b.(float64)
		return ok && (a == bf || (math.IsNaN(a) && math.IsNaN(bf)))
	}
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if reflect.TypeOf(a) != reflect.TypeOf(b) || !reflect.TypeOf(a).Comparable() {
		return false
	}
	return a == b
}

func equalSlices(a, b []any, depth int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equal(a[i], b[i], depth+1) {
			return false
		}
	}
	return true
}

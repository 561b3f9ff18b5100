package pickle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrUnsupported is wrapped by errors for valid pickles that use a feature
// this package does not model (extension codes, out-of-band buffers).
var ErrUnsupported = errors.New("pickle: unsupported feature")

// SyntaxError reports malformed pickle data.
type SyntaxError struct {
	Offset int64  // byte offset of the opcode
	Op     byte   // the opcode
	Msg    string // what is wrong
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("pickle: at byte %d (opcode %s): %s", e.Offset, opName(e.Op), e.Msg)
}

// Decoder decodes one pickle from a byte slice. Pickles are small relative to
// checkpoints (a .metadata or data.pkl), so callers read them whole, capped
// at a size they choose, and every length inside is checked against what is
// left before anything is allocated.
type Decoder struct {
	// PersistentLoad, if set, resolves persistent ids (PERSID, BINPERSID).
	// Otherwise they decode as PersID values.
	PersistentLoad func(id any) (any, error)

	// Reduce, if set, is offered every REDUCE of a global; when it
	// returns ok, v stands for the call instead of an Object. It lets a
	// caller keep a compact form of calls that are only a wrapper (torch's
	// torch.Size(tuple)), since a decoded pickle is held whole. v should
	// be one of args, or made of them: it is charged as a reference.
	Reduce func(callable Global, args Tuple) (v any, ok bool)

	// Build, if set, is offered every object once BUILD has given it its
	// state; when it returns ok, v stands for the object from then on, on
	// the stack and in the memo. It lets a caller turn each record of a
	// large pickle into its own compact form as it is read, so the generic
	// tree never exists whole. v is charged as a caller's value; the object
	// and its state dict are credited back unless the memo keeps them.
	// An object replaced this way cannot be built again.
	Build func(o *Object) (v any, ok bool)

	// MaxMemo caps the number of memo entries (default 1<<24).
	MaxMemo int

	// MaxBytes caps the decoder's estimate of the memory the decoded
	// value and its working state take. The estimate is charged as values
	// are built, so a hostile pickle (millions of empty lists, or of
	// references to one memo entry) is refused before it is built, with
	// an error wrapping ErrTooLarge. Zero means DefaultBudget(len(data)).
	MaxBytes int64

	keepMemo bool // tests: keep every memoized value, as without a read set
}

// DefaultBudget is the default Decoder.MaxBytes for n bytes of pickle:
// 16 MiB plus 32 bytes per input byte, and the input and its decoding
// together at most MaxHeap, so that a process that reads a pickle whole
// and decodes it stays within its memory promise whatever the input. Real
// pickles decode into about 5 bytes per input byte: torch's 28 MB .metadata
// of 200,000 chunks (Nemotron-4 340B with optimizer state at TP=8) is
// charged 121 MiB with dcp's Build hook. Hostile ones need 64 or more.
func DefaultBudget(n int) int64 {
	return max(0, min(16<<20+32*int64(n), MaxHeap-int64(n)))
}

// MaxHeap bounds a pickle's bytes plus DefaultBudget: it leaves room in a
// 256 MiB process for the streaming around it.
const MaxHeap = 224 << 20

// ErrTooLarge is wrapped by errors for pickles whose decoded value would
// take more memory than Decoder.MaxBytes allows.
var ErrTooLarge = errors.New("pickle: decoded value too large")

// Unmarshal decodes a pickle with default settings.
func Unmarshal(data []byte) (any, error) {
	var d Decoder
	return d.Decode(data)
}

type decodeState struct {
	*Decoder
	data  []byte
	pos   int
	op    byte
	opPos int
	stack []any
	marks []int

	memo memo

	emptyTuple any // one shared (), as tuples are immutable

	scanned bool           // reads is known: memoize only what is read
	reads   readSet        // memo indices that GET opcodes read
	held    map[any]uint64 // with Build: memo index of each object and dict kept

	used, limit int64 // estimated bytes charged, and the cap
}

type markObj struct{}

// Decode decodes the pickle at the start of data. Bytes after STOP are
// ignored, as Python does.
func (d *Decoder) Decode(data []byte) (any, error) {
	v, _, err := d.DecodePrefix(data)
	return v, err
}

// DecodePrefix decodes the pickle at the start of data and also returns
// its length through STOP, for formats that store pickles back to back
// (torch's legacy torch.save).
func (d *Decoder) DecodePrefix(data []byte) (v any, n int, err error) {
	s := &decodeState{Decoder: d, data: data, limit: d.MaxBytes}
	if s.limit <= 0 {
		s.limit = DefaultBudget(len(data))
	}
	if reads, ok := scanReads(data); ok && !d.keepMemo {
		s.memo.reads, s.memo.scanned = reads, true
		s.used += 8 * int64(cap(reads))
	}
	v, err = s.run()
	if err != nil {
		return nil, 0, err
	}
	return v, s.pos, nil
}

func (s *decodeState) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: int64(s.opPos), Op: s.op, Msg: fmt.Sprintf(format, args...)}
}

func (s *decodeState) need(n uint64) ([]byte, error) {
	if n > uint64(len(s.data)-s.pos) {
		return nil, s.errorf("needs %d bytes, %d left: truncated or corrupt", n, len(s.data)-s.pos)
	}
	b := s.data[s.pos : s.pos+int(n)]
	s.pos += int(n)
	return b, nil
}

func (s *decodeState) line() (string, error) {
	for i := s.pos; i < len(s.data); i++ {
		if s.data[i] == '\n' {
			l := string(s.data[s.pos:i])
			s.pos = i + 1
			return l, nil
		}
	}
	return "", s.errorf("unterminated line")
}

func (s *decodeState) u8() (uint64, error) {
	b, err := s.need(1)
	if err != nil {
		return 0, err
	}
	return uint64(b[0]), nil
}

func (s *decodeState) u16() (uint64, error) {
	b, err := s.need(2)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint16(b)), nil
}

func (s *decodeState) u32() (uint64, error) {
	b, err := s.need(4)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint32(b)), nil
}

func (s *decodeState) u64() (uint64, error) {
	b, err := s.need(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// The budget charges what the decoder keeps alive: stack slots while
// values are on the stack, each new value's own allocation, and the slots
// containers and the memo hold. Popped slots are credited back; values
// that become garbage are not, so the estimate errs high.

// push puts a new value on the stack.
func (s *decodeState) push(v any) {
	s.used += cost(v)
	s.pushRef(v)
}

// pushRef puts another reference to an existing value on the stack. A
// stack that grows is charged for each new array, as the old ones are
// garbage only once collected.
func (s *decodeState) pushRef(v any) {
	s.used += slotCost
	if len(s.stack) == cap(s.stack) {
		s.stack = slices.Grow(s.stack, 1)
		s.used += slotCost * int64(cap(s.stack))
	}
	s.stack = append(s.stack, v)
}

// Estimated sizes in bytes, rounded to Go's size classes; slices that grow
// by append are charged half again for their spare capacity.
const (
	slotCost   = 16 // an interface value
	itemCost   = 24 // a list item
	dictCost   = 40 // a dict item, with its share of the index
	sparseCost = 64 // a memo map entry
)

// cost estimates the allocation a new value brings, beyond its slot;
// the items of a container built from the stack are charged by the
// container.
func cost(v any) int64 {
	switch v := v.(type) {
	case nil, bool:
		return 0
	case int64:
		if v >= 0 && v < 256 {
			return 0 // boxed without allocation
		}
		return 8
	case float64:
		return 8
	case string:
		return 16 + int64(len(v))
	case Bytes:
		return 24 + int64(len(v))
	case *big.Int:
		return 48 + int64(v.BitLen()/8)
	case Global:
		return 32 + int64(len(v.Module)+len(v.Name))
	case Tuple:
		return 24 + slotCost*int64(len(v))
	case *List:
		return 32 + itemCost*int64(len(v.Items))
	case *Dict:
		return 32 + dictCost*int64(len(v.Items))
	case *Set:
		return 48 + itemCost*int64(len(v.Items))
	case *ByteArray:
		return 48 + int64(len(v.Data))
	case *Object:
		return 128
	case PersID:
		return 16
	}
	return 64 // a caller's PersistentLoad value
}

func (s *decodeState) pop() (any, error) {
	n := len(s.stack)
	base := 0
	if len(s.marks) > 0 {
		base = s.marks[len(s.marks)-1]
	}
	if n <= base {
		return nil, s.errorf("stack underflow")
	}
	v := s.stack[n-1]
	s.stack[n-1] = nil
	s.stack = s.stack[:n-1]
	s.used -= slotCost
	return v, nil
}

func (s *decodeState) top() (*any, error) {
	n := len(s.stack)
	base := 0
	if len(s.marks) > 0 {
		base = s.marks[len(s.marks)-1]
	}
	if n <= base {
		return nil, s.errorf("stack underflow")
	}
	return &s.stack[n-1], nil
}

// popMark pops everything above the newest mark, and the mark.
func (s *decodeState) popMark() ([]any, error) {
	if len(s.marks) == 0 {
		return nil, s.errorf("no MARK on the stack")
	}
	m := s.marks[len(s.marks)-1]
	s.marks = s.marks[:len(s.marks)-1]
	items := make([]any, len(s.stack)-m)
	copy(items, s.stack[m:])
	clear(s.stack[m:])
	s.stack = s.stack[:m]
	s.used -= slotCost * int64(len(items))
	return items, nil
}

// popMarkView is popMark for callers that copy the items at once: the
// result aliases the stack and is valid until the next push.
func (s *decodeState) popMarkView() ([]any, error) {
	if len(s.marks) == 0 {
		return nil, s.errorf("no MARK on the stack")
	}
	m := s.marks[len(s.marks)-1]
	s.marks = s.marks[:len(s.marks)-1]
	items := s.stack[m:]
	s.stack = s.stack[:m]
	s.used -= slotCost * int64(len(items))
	return items, nil
}

func (s *decodeState) run() (any, error) {
	for {
		if s.pos >= len(s.data) {
			return nil, &SyntaxError{Offset: int64(s.pos), Msg: "data ends before STOP: truncated"}
		}
		s.opPos = s.pos
		s.op = s.data[s.pos]
		s.pos++
		if s.op == opStop {
			if len(s.marks) != 0 {
				return nil, s.errorf("MARK left open at STOP")
			}
			if len(s.stack) != 1 {
				return nil, s.errorf("stack holds %d values at STOP, want 1", len(s.stack))
			}
			return s.stack[0], nil
		}
		if err := s.step(); err != nil {
			return nil, err
		}
		if s.used > s.limit {
			return nil, fmt.Errorf("%w: %w", ErrTooLarge, s.errorf("decoding needs more than the %.1f MiB allowed for a %d-byte pickle", float64(s.limit)/(1<<20), len(s.data)))
		}
	}
}

func (s *decodeState) step() error {
	switch s.op {
	case opProto:
		v, err := s.u8()
		if err != nil {
			return err
		}
		if v > 5 {
			return s.errorf("unsupported protocol %d", v)
		}
	case opFrame:
		n, err := s.u64()
		if err != nil {
			return err
		}
		if n > uint64(len(s.data)-s.pos) {
			return s.errorf("frame of %d bytes, %d left: truncated", n, len(s.data)-s.pos)
		}
	case opMark:
		s.marks = append(s.marks, len(s.stack))
	case opPop:
		if len(s.marks) > 0 && s.marks[len(s.marks)-1] == len(s.stack) {
			// POP of a mark, as Python allows.
			s.marks = s.marks[:len(s.marks)-1]
			return nil
		}
		_, err := s.pop()
		return err
	case opPopMark:
		_, err := s.popMarkView()
		return err
	case opDup:
		t, err := s.top()
		if err != nil {
			return err
		}
		s.pushRef(*t)

	// Scalars.
	case opNone:
		s.push(nil)
	case opNewTrue:
		s.push(true)
	case opNewFalse:
		s.push(false)
	case opBinInt:
		v, err := s.u32()
		if err != nil {
			return err
		}
		s.push(int64(int32(uint32(v))))
	case opBinInt1:
		v, err := s.u8()
		if err != nil {
			return err
		}
		s.push(int64(v))
	case opBinInt2:
		v, err := s.u16()
		if err != nil {
			return err
		}
		s.push(int64(v))
	case opLong1, opLong4:
		var n uint64
		var err error
		if s.op == opLong1 {
			n, err = s.u8()
		} else {
			n, err = s.u32()
		}
		if err != nil {
			return err
		}
		b, err := s.need(n)
		if err != nil {
			return err
		}
		s.push(decodeLong(b))
	case opInt:
		l, err := s.line()
		if err != nil {
			return err
		}
		switch l {
		case "00":
			s.push(false)
		case "01":
			s.push(true)
		default:
			v, err := parseIntText(l)
			if err != nil {
				return s.errorf("bad INT %q", l)
			}
			s.push(v)
		}
	case opLong:
		l, err := s.line()
		if err != nil {
			return err
		}
		v, err := parseIntText(strings.TrimSuffix(l, "L"))
		if err != nil {
			return s.errorf("bad LONG %q", l)
		}
		s.push(v)
	case opFloat:
		l, err := s.line()
		if err != nil {
			return err
		}
		f, err := strconv.ParseFloat(l, 64)
		if err != nil {
			return s.errorf("bad FLOAT %q", l)
		}
		s.push(f)
	case opBinFloat:
		v, err := s.u64()
		if err != nil {
			return err
		}
		// BINFLOAT is big-endian; u64 read little-endian, so swap.
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		s.push(math.Float64frombits(binary.BigEndian.Uint64(b[:])))

	// Strings and bytes.
	case opBinUnicode, opShortBinUnicode, opBinUnicode8:
		b, err := s.sized(lenWidth(s.op))
		if err != nil {
			return err
		}
		if !utf8.Valid(b) {
			// Python would fail on invalid UTF-8 except for lone surrogates
			// ("surrogatepass"); replace what is not UTF-8 instead.
			s.push(strings.ToValidUTF8(string(b), "\uFFFD"))
			return nil
		}
		s.push(string(b))
	case opUnicode:
		l, err := s.line()
		if err != nil {
			return err
		}
		v, err := decodeRawUnicodeEscape(l)
		if err != nil {
			return s.errorf("bad UNICODE: %v", err)
		}
		s.push(v)
	case opString:
		l, err := s.line()
		if err != nil {
			return err
		}
		v, err := decodeStringLiteral(l)
		if err != nil {
			return s.errorf("bad STRING: %v", err)
		}
		s.push(Bytes(v))
	case opBinString, opShortBinString:
		size := 4
		if s.op == opShortBinString {
			size = 1
		}
		b, err := s.sized(size)
		if err != nil {
			return err
		}
		// A Python 2 str. Python 3 decodes it with the unpickler's
		// encoding (torch passes utf-8); bytes that are not UTF-8 are kept
		// as bytes, as encoding="bytes" would, rather than mangled.
		if utf8.Valid(b) {
			s.push(string(b))
		} else {
			s.push(Bytes(append([]byte(nil), b...)))
		}
	case opBinBytes, opShortBinBytes, opBinBytes8:
		b, err := s.sized(lenWidth(s.op))
		if err != nil {
			return err
		}
		s.push(Bytes(append([]byte(nil), b...)))
	case opByteArray8:
		b, err := s.sized(8)
		if err != nil {
			return err
		}
		s.push(&ByteArray{Data: append([]byte(nil), b...)})
	case opNextBuffer, opReadonlyBuffer:
		return fmt.Errorf("%w: out-of-band buffer (%w)", ErrUnsupported, s.errorf("protocol 5 buffers"))
	case opExt1, opExt2, opExt4:
		return fmt.Errorf("%w: extension registry code (%w)", ErrUnsupported, s.errorf("copyreg extension"))

	// Containers.
	case opEmptyTuple:
		if s.emptyTuple == nil {
			s.push(Tuple{})
			s.emptyTuple = s.stack[len(s.stack)-1]
			return nil
		}
		s.pushRef(s.emptyTuple)
	case opTuple:
		items, err := s.popMark()
		if err != nil {
			return err
		}
		s.push(Tuple(items))
	case opTuple1, opTuple2, opTuple3:
		n := int(s.op-opTuple1) + 1
		t := make(Tuple, n)
		for i := n - 1; i >= 0; i-- {
			v, err := s.pop()
			if err != nil {
				return err
			}
			t[i] = v
		}
		s.push(t)
	case opEmptyList:
		s.push(&List{})
	case opList:
		items, err := s.popMark()
		if err != nil {
			return err
		}
		s.push(&List{Items: items})
	case opEmptyDict:
		s.push(&Dict{})
	case opDict:
		items, err := s.popMark()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return s.errorf("odd number of items for DICT")
		}
		d := &Dict{Items: make([]Item, 0, len(items)/2)}
		for i := 0; i < len(items); i += 2 {
			d.Set(items[i], items[i+1])
		}
		s.push(d)
	case opEmptySet:
		s.push(&Set{})
	case opFrozenSet:
		items, err := s.popMark()
		if err != nil {
			return err
		}
		s.push(&Set{Items: items, Frozen: true})
	case opAppend:
		v, err := s.pop()
		if err != nil {
			return err
		}
		return s.appendTo([]any{v})
	case opAppends:
		items, err := s.popMarkView()
		if err != nil {
			return err
		}
		defer clear(items)
		return s.appendTo(items)
	case opSetItem:
		v, err := s.pop()
		if err != nil {
			return err
		}
		k, err := s.pop()
		if err != nil {
			return err
		}
		return s.setItems([]any{k, v})
	case opSetItems:
		items, err := s.popMarkView()
		if err != nil {
			return err
		}
		defer clear(items)
		if len(items)%2 != 0 {
			return s.errorf("odd number of items for SETITEMS")
		}
		return s.setItems(items)
	case opAddItems:
		items, err := s.popMarkView()
		if err != nil {
			return err
		}
		t, err := s.top()
		if err != nil {
			return err
		}
		set, ok := (*t).(*Set)
		if !ok {
			return s.errorf("ADDITEMS on %s", TypeName(*t))
		}
		s.used += itemCost * int64(len(items))
		set.Items = append(set.Items, items...)

	// Memo.
	case opPut:
		l, err := s.line()
		if err != nil {
			return err
		}
		idx, err := strconv.ParseUint(l, 10, 32)
		if err != nil {
			return s.errorf("bad PUT index %q", l)
		}
		return s.memoPut(idx)
	case opBinPut:
		idx, err := s.u8()
		if err != nil {
			return err
		}
		return s.memoPut(idx)
	case opLongBinPut:
		idx, err := s.u32()
		if err != nil {
			return err
		}
		return s.memoPut(idx)
	case opMemoize:
		return s.memoPut(uint64(s.memo.n))
	case opGet:
		l, err := s.line()
		if err != nil {
			return err
		}
		idx, err := strconv.ParseUint(l, 10, 32)
		if err != nil {
			return s.errorf("bad GET index %q", l)
		}
		return s.memoGet(idx)
	case opBinGet:
		idx, err := s.u8()
		if err != nil {
			return err
		}
		return s.memoGet(idx)
	case opLongBinGet:
		idx, err := s.u32()
		if err != nil {
			return err
		}
		return s.memoGet(idx)

	// Globals, calls and objects.
	case opGlobal:
		mod, err := s.line()
		if err != nil {
			return err
		}
		name, err := s.line()
		if err != nil {
			return err
		}
		s.push(Global{Module: mod, Name: name})
	case opStackGlobal:
		name, err := s.pop()
		if err != nil {
			return err
		}
		mod, err := s.pop()
		if err != nil {
			return err
		}
		ms, ok1 := mod.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return s.errorf("STACK_GLOBAL needs two strings, got %s and %s", TypeName(mod), TypeName(name))
		}
		s.push(Global{Module: ms, Name: ns})
	case opReduce:
		args, err := s.pop()
		if err != nil {
			return err
		}
		fn, err := s.pop()
		if err != nil {
			return err
		}
		t, ok := args.(Tuple)
		if !ok {
			return s.errorf("REDUCE arguments are %s, want tuple", TypeName(args))
		}
		if g, ok := fn.(Global); ok && s.Reduce != nil {
			if v, ok := s.Reduce(g, t); ok {
				s.pushRef(v)
				return nil
			}
		}
		s.push(reduce(fn, t))
	case opNewObj:
		args, err := s.pop()
		if err != nil {
			return err
		}
		cls, err := s.pop()
		if err != nil {
			return err
		}
		t, ok := args.(Tuple)
		if !ok {
			return s.errorf("NEWOBJ arguments are %s, want tuple", TypeName(args))
		}
		s.push(&Object{Callable: cls, Args: t, NewObj: true})
	case opNewObjEx:
		kw, err := s.pop()
		if err != nil {
			return err
		}
		args, err := s.pop()
		if err != nil {
			return err
		}
		cls, err := s.pop()
		if err != nil {
			return err
		}
		t, ok := args.(Tuple)
		kd, ok2 := kw.(*Dict)
		if !ok || !ok2 {
			return s.errorf("NEWOBJ_EX needs a tuple and a dict, got %s and %s", TypeName(args), TypeName(kw))
		}
		if kd.Len() == 0 {
			// cls.__new__(cls, *args, **{}) is NEWOBJ; one form for both
			// keeps a re-encoded pickle equal to its source.
			kd = nil
		}
		s.push(&Object{Callable: cls, Args: t, Kwargs: kd, NewObj: true})
	case opObj:
		items, err := s.popMark()
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return s.errorf("OBJ without a class")
		}
		s.push(&Object{Callable: items[0], Args: Tuple(items[1:])})
	case opInst:
		mod, err := s.line()
		if err != nil {
			return err
		}
		name, err := s.line()
		if err != nil {
			return err
		}
		items, err := s.popMark()
		if err != nil {
			return err
		}
		s.push(&Object{Callable: Global{Module: mod, Name: name}, Args: Tuple(items)})
	case opBuild:
		state, err := s.pop()
		if err != nil {
			return err
		}
		t, err := s.top()
		if err != nil {
			return err
		}
		o, ok := (*t).(*Object)
		if !ok {
			return s.errorf("BUILD on %s", TypeName(*t))
		}
		if o.Built {
			// A second BUILD merges state in Python; keep the newest dict
			// items on top of the old ones.
			if od, nd := o.StateDict(), stateDict(state); od != nil && nd != nil {
				for _, it := range nd.Items {
					od.Set(it.Key, it.Value)
				}
				return nil
			}
		}
		o.Built = true
		o.State = state
		if s.Build != nil {
			s.build(t, o)
		}
	case opPersID, opBinPersID:
		var id any
		if s.op == opPersID {
			l, err := s.line()
			if err != nil {
				return err
			}
			for i := 0; i < len(l); i++ {
				if l[i] >= 0x80 {
					return s.errorf("PERSID is not ASCII") // as Python refuses it
				}
			}
			id = l
		} else {
			v, err := s.pop()
			if err != nil {
				return err
			}
			id = v
		}
		if s.PersistentLoad == nil {
			s.push(PersID{ID: id})
			return nil
		}
		v, err := s.PersistentLoad(id)
		if err != nil {
			return fmt.Errorf("%w: %w", s.errorf("persistent load"), err)
		}
		s.push(v)
	default:
		return s.errorf("unknown opcode")
	}
	return nil
}

// build offers a built object to the Build hook and puts what it returns
// in the object's place.
func (s *decodeState) build(t *any, o *Object) {
	v, ok := s.Build(o)
	if !ok {
		return
	}
	*t = v
	s.used += cost(v)
	if idx, kept := s.held[o]; kept {
		delete(s.held, o)
		if cur, _ := s.memo.get(idx); cur == any(o) { // unless a later PUT replaced it
			s.memo.set(idx, v)
		}
		return // GET may have put it elsewhere too: no credit
	}
	s.used -= cost(o)
	if d, ok := o.State.(*Dict); ok {
		if _, kept := s.held[d]; !kept {
			s.used -= cost(d)
		}
	}
}

// reduce records a call. Calls that protocol 2 uses to spell builtin
// values (bytes, set, frozenset) become those values, as Python would.
func reduce(fn any, args Tuple) any {
	if g, ok := fn.(Global); ok && (g.Module == "builtins" || g.Module == "__builtin__" || g.Module == "_codecs") {
		switch {
		case g.Module == "_codecs" && g.Name == "encode" && len(args) == 2:
			text, ok1 := args[0].(string)
			enc, ok2 := args[1].(string)
			if ok1 && ok2 && (enc == "latin1" || enc == "latin-1") {
				b := make([]byte, 0, len(text))
				for _, r := range text {
					if r > 0xff {
						return &Object{Callable: fn, Args: args}
					}
					b = append(b, byte(r))
				}
				return Bytes(b)
			}
		case g.Name == "bytearray" && len(args) == 1:
			if b, ok := args[0].(Bytes); ok {
				return &ByteArray{Data: b}
			}
		case g.Name == "bytes" && len(args) == 0:
			return Bytes{}
		case (g.Name == "set" || g.Name == "frozenset") && len(args) <= 1:
			set := &Set{Frozen: g.Name == "frozenset"}
			if len(args) == 1 {
				items, ok := AsList(args[0])
				if !ok {
					break
				}
				set.Items = items
			}
			return set
		}
	}
	return &Object{Callable: fn, Args: args}
}

func stateDict(v any) *Dict {
	o := &Object{State: v}
	return o.StateDict()
}

func (s *decodeState) sized(lenBytes int) ([]byte, error) {
	var n uint64
	var err error
	switch lenBytes {
	case 1:
		n, err = s.u8()
	case 4:
		n, err = s.u32()
	default:
		n, err = s.u64()
	}
	if err != nil {
		return nil, err
	}
	return s.need(n)
}

func (s *decodeState) appendTo(items []any) error {
	t, err := s.top()
	if err != nil {
		return err
	}
	s.used += itemCost * int64(len(items))
	switch c := (*t).(type) {
	case *List:
		c.Items = append(c.Items, items...)
	case *Object:
		c.ListItems = append(c.ListItems, items...)
	default:
		return s.errorf("APPEND to %s", TypeName(*t))
	}
	return nil
}

func (s *decodeState) setItems(kv []any) error {
	t, err := s.top()
	if err != nil {
		return err
	}
	s.used += dictCost * int64(len(kv)/2)
	switch c := (*t).(type) {
	case *Dict:
		c.Items = slices.Grow(c.Items, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			c.Set(kv[i], kv[i+1])
		}
	case *Object:
		for i := 0; i+1 < len(kv); i += 2 {
			c.DictItems = append(c.DictItems, Item{kv[i], kv[i+1]})
		}
	default:
		return s.errorf("SETITEM on %s", TypeName(*t))
	}
	return nil
}

// decodeLong decodes a little-endian two's-complement integer.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var u uint64
		for i := len(b) - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[i])
		}
		// Sign-extend from len(b) bytes.
		shift := 64 - 8*uint(len(b))
		return int64(u<<shift) >> shift
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if n.IsInt64() {
		return n.Int64()
	}
	return n
}

func parseIntText(s string) (any, error) {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, fmt.Errorf("not an integer")
	}
	return n, nil
}

// decodeStringLiteral decodes a Python repr of a byte string, as protocol 0
// STRING writes it: quoted with ' or ", with backslash escapes.
func decodeStringLiteral(l string) ([]byte, error) {
	if len(l) < 2 || l[0] != l[len(l)-1] || (l[0] != '\'' && l[0] != '"') {
		return nil, fmt.Errorf("not a quoted string")
	}
	in := l[1 : len(l)-1]
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(in) {
			return nil, fmt.Errorf("trailing backslash")
		}
		switch c := in[i]; c {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case '\\', '\'', '"':
			out = append(out, c)
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'v':
			out = append(out, 11)
		case 'x':
			if i+2 >= len(in) {
				return nil, fmt.Errorf("short \\x escape")
			}
			v, err := strconv.ParseUint(in[i+1:i+3], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("bad \\x escape")
			}
			out = append(out, byte(v))
			i += 2
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			for j < len(in) && j < i+3 && in[j] >= '0' && in[j] <= '7' {
				j++
			}
			v, _ := strconv.ParseUint(in[i:j], 8, 16)
			out = append(out, byte(v))
			i = j - 1
		default:
			out = append(out, '\\', c)
		}
	}
	return out, nil
}

// decodeRawUnicodeEscape decodes Python's raw-unicode-escape codec, which
// protocol 0 UNICODE uses: only \uXXXX and \UXXXXXXXX are escapes.
func decodeRawUnicodeEscape(l string) (string, error) {
	var sb strings.Builder
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c == '\\' && i+1 < len(l) && (l[i+1] == 'u' || l[i+1] == 'U') {
			n := 4
			if l[i+1] == 'U' {
				n = 8
			}
			if i+2+n > len(l) {
				return "", fmt.Errorf("short \\%c escape", l[i+1])
			}
			v, err := strconv.ParseUint(l[i+2:i+2+n], 16, 32)
			if err != nil || v > utf8.MaxRune {
				return "", fmt.Errorf("bad \\%c escape", l[i+1])
			}
			sb.WriteRune(rune(v))
			i += 1 + n
			continue
		}
		// Other bytes are Latin-1 code points.
		sb.WriteRune(rune(c))
	}
	return sb.String(), nil
}

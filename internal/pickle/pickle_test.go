package pickle

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// pyValue builds, in Python, a value that exercises every kind of object the
// decoder models. It is shared by the round-trip tests.
const pyValue = `
import collections, dataclasses, pickle, sys, os

@dataclasses.dataclass
class Point:
    x: int
    y: object

@dataclasses.dataclass(frozen=True)
class Frozen:
    fqn: str
    offset: tuple

class Reduced:
    def __init__(self, a, b):
        self.a, self.b = a, b
    def __reduce__(self):
        return (Reduced, (self.a, self.b))
    def __eq__(self, o):
        return isinstance(o, Reduced) and (self.a, self.b) == (o.a, o.b)

class Slotted:
    __slots__ = ("p", "q")
    def __init__(self, p, q):
        self.p, self.q = p, q
    def __getstate__(self):
        return (None, {"p": self.p, "q": self.q})
    def __eq__(self, o):
        return isinstance(o, Slotted) and (self.p, self.q) == (o.p, o.q)

class MyList(list):
    pass

shared = [1, 2, 3]
value = {
    "none": None, "t": True, "f": False,
    "ints": [0, 1, 255, 256, 65535, 65536, -1, -255, -2**31, 2**31 - 1, 2**31, 2**32, 2**33,
             2**63 - 1, 2**63, -2**63, -2**63 - 1, 2**100, -(2**100), 10**40],
    "floats": [0.0, -0.0, 0.5, 1e-300, -1e300, 3.0, float("inf"), float("-inf")],
    "strs": ["", "a", "héllo ☃ \U0001F600", "x" * 300, "line\nbreak"],
    "bytes": [b"", b"\x00\xff\x80abc", bytes(range(256)) * 2],
    "bytearray": bytearray(b"\x01\x02"),
    "tuples": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), ((1,), ("a", None))],
    "nested": {1: "int key", (1, 2): "tuple key", "d": {"e": [{}]}, None: 0, 2.5: "float key"},
    "sets": [set(), {1, 2}, frozenset(), frozenset({"a"})],
    "od": collections.OrderedDict([("b", 1), ("a", 2)]),
    "point": Point(1, [Point(2, None)]),
    "frozen": Frozen("w", (0, 0)),
    "reduced": Reduced(1, "two"),
    "slotted": Slotted(1, [2]),
    "mylist": MyList([1, 2]),
    "shared": [shared, shared],
    "big_list": list(range(2500)),
    "big_dict": {str(i): i for i in range(2100)},
}
`

// TestPythonRoundTrip decodes pickles that Python wrote at every protocol,
// re-encodes them, and has Python check that what it reads back equals the
// original.
func TestPythonRoundTrip(t *testing.T) {
	dir := t.TempDir()
	oracle.Run(t, nil, pyValue+`
d = sys.argv[1]
for p in range(0, pickle.HIGHEST_PROTOCOL + 1):
    with open(os.path.join(d, "py%d.pkl" % p), "wb") as f:
        pickle.dump(value, f, protocol=p)
print(pickle.HIGHEST_PROTOCOL)
`, dir)
	files, _ := filepath.Glob(filepath.Join(dir, "py*.pkl"))
	if len(files) < 6 {
		t.Fatalf("python wrote %d pickles, want protocols 0-5", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Unmarshal(data)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatalf("%s: encode: %v", filepath.Base(f), err)
		}
		// Our own encoding must decode to the same tree.
		v2, err := Unmarshal(out)
		if err != nil {
			t.Fatalf("%s: decode own output: %v", filepath.Base(f), err)
		}
		if !Equal(v, v2) {
			t.Errorf("%s: own round trip changed the value", filepath.Base(f))
		}
		name := strings.Replace(filepath.Base(f), "py", "go", 1)
		if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := oracle.Run(t, nil, pyValue+`
d = sys.argv[1]
n = 0
for p in range(0, pickle.HIGHEST_PROTOCOL + 1):
    with open(os.path.join(d, "go%d.pkl" % p), "rb") as f:
        data = f.read()
    back = pickle.loads(data)
    if back != value:
        for k in value:
            if back.get(k) != value[k]:
                print("protocol %d: key %r differs: %r != %r" % (p, k, back.get(k), value[k]))
        sys.exit(1)
    if data[:2] != b"\x80\x02":
        print("protocol %d: not written as protocol 2" % p)
        sys.exit(1)
    n += 1
print("ok", n)
`, dir)
	if !strings.HasPrefix(string(got), "ok ") {
		t.Fatalf("python check: %s", got)
	}
}

func TestDecodeValues(t *testing.T) {
	dir := t.TempDir()
	oracle.Run(t, nil, `
import pickle, sys
v = {"a": [1, 2**40, -3], "b": (None, True, 1.5), "c": b"\x00\x01", "d": "ü"}
for p in range(6):
    open(sys.argv[1] + "/%d.pkl" % p, "wb").write(pickle.dumps(v, protocol=p))
`, dir)
	for p := 0; p < 6; p++ {
		data, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(p)+".pkl"))
		if err != nil {
			t.Fatal(err)
		}
		v, err := Unmarshal(data)
		if err != nil {
			t.Fatalf("protocol %d: %v", p, err)
		}
		want := NewDict(
			"a", &List{Items: []any{int64(1), int64(1 << 40), int64(-3)}},
			"b", Tuple{nil, true, 1.5},
			"c", Bytes{0, 1},
			"d", "ü",
		)
		if !Equal(v, want) {
			t.Errorf("protocol %d: got %#v", p, v)
		}
	}
}

func TestEncodeGolden(t *testing.T) {
	// Hand-assembled protocol-2 bytes: what each construct must produce.
	tests := []struct {
		v    any
		want string
	}{
		{nil, "\x80\x02N."},
		{true, "\x80\x02\x88."},
		{int64(7), "\x80\x02K\x07."},
		{int64(300), "\x80\x02M\x2c\x01."},
		{int64(-1), "\x80\x02J\xff\xff\xff\xff."},
		{int64(1 << 31), "\x80\x02\x8a\x05\x00\x00\x00\x80\x00."},
		{int64(1 << 33), "\x80\x02\x8a\x05\x00\x00\x00\x00\x02."},
		{int64(-1 << 40), "\x80\x02\x8a\x06\x00\x00\x00\x00\x00\xff."},
		{"hi", "\x80\x02X\x02\x00\x00\x00hi."},
		{1.5, "\x80\x02G\x3f\xf8\x00\x00\x00\x00\x00\x00."},
		{Tuple{}, "\x80\x02)."},
		{Tuple{int64(1), int64(2)}, "\x80\x02K\x01K\x02\x86."},
		{Tuple{int64(1), int64(2), int64(3), int64(4)}, "\x80\x02(K\x01K\x02K\x03K\x04t."},
		{NewDict("a", int64(1)), "\x80\x02}(X\x01\x00\x00\x00aK\x01u."},
		{&List{Items: []any{int64(1)}}, "\x80\x02](K\x01e."},
		{&List{}, "\x80\x02]."},
		{Global{"torch", "Size"}, "\x80\x02ctorch\nSize\n."},
		{PersID{ID: Tuple{"storage"}}, "\x80\x02X\x07\x00\x00\x00storage\x85Q."},
		{&Object{Callable: Global{"m", "C"}, Args: Tuple{}, NewObj: true, Built: true, State: NewDict()},
			"\x80\x02cm\nC\n)\x81}b."},
		{Bytes("ab"), "\x80\x02c_codecs\nencode\nX\x02\x00\x00\x00abX\x06\x00\x00\x00latin1\x86R."},
	}
	for _, tt := range tests {
		got, err := Marshal(tt.v)
		if err != nil {
			t.Errorf("Marshal(%#v): %v", tt.v, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("Marshal(%#v)\n got %q\nwant %q", tt.v, got, tt.want)
		}
		back, err := Unmarshal(got)
		if err != nil {
			t.Errorf("Unmarshal(Marshal(%#v)): %v", tt.v, err)
			continue
		}
		if !Equal(normalize(tt.v), back) {
			t.Errorf("round trip of %#v gave %#v", tt.v, back)
		}
	}
}

func normalize(v any) any {
	if i, ok := v.(int); ok {
		return int64(i)
	}
	return v
}

func TestBigIntegers(t *testing.T) {
	for _, s := range []string{"2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
		"-9223372036854775809", "340282366920938463463374607431768211456", "-128", "128", "-32768", "255"} {
		n, _ := new(big.Int).SetString(s, 10)
		data, err := Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Unmarshal(data)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		var got *big.Int
		switch v := v.(type) {
		case int64:
			got = big.NewInt(v)
		case *big.Int:
			got = v
		default:
			t.Fatalf("%s decoded as %T", s, v)
		}
		if got.Cmp(n) != 0 {
			t.Errorf("%s round-tripped to %s", s, got)
		}
	}
	if b := encodeLong(big.NewInt(255)); !bytes.Equal(b, []byte{0xff, 0x00}) {
		t.Errorf("encodeLong(255) = %x, want ff00", b)
	}
	if b := encodeLong(big.NewInt(-256)); !bytes.Equal(b, []byte{0x00, 0xff}) {
		t.Errorf("encodeLong(-256) = %x, want 00ff", b)
	}
}

func TestEncodeRejects(t *testing.T) {
	cyc := &List{}
	cyc.Items = append(cyc.Items, cyc)
	if _, err := Marshal(cyc); err == nil {
		t.Error("a self-containing list encoded without error")
	}
	if _, err := Marshal(struct{}{}); err == nil {
		t.Error("an unsupported Go type encoded without error")
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "truncated"},
		{"no stop", "\x80\x02N", "truncated"},
		{"unknown opcode", "\x80\x02\xff.", "unknown opcode"},
		{"underflow", "\x80\x02R.", "stack underflow"},
		{"huge string", "\x80\x04\x8d\xff\xff\xff\xff\xff\xff\xff\x7f.", "truncated"},
		{"huge long", "\x80\x02\x8b\xff\xff\xff\x7f.", "truncated"},
		{"huge frame", "\x80\x04\x95\xff\xff\xff\xff\x00\x00\x00\x00N.", "truncated"},
		{"bad memo", "\x80\x02h\x05.", "memo key 5"},
		{"reduce non tuple", "\x80\x02cm\nf\nNR.", "want tuple"},
		{"build on int", "\x80\x02K\x01}b.", "BUILD on int"},
		{"append to int", "\x80\x02K\x01K\x02a.", "APPEND to int"},
		{"two values", "\x80\x02NN.", "stack holds 2"},
		{"open mark", "\x80\x02(N.", "MARK left open"},
		{"bad proto", "\x80\x09N.", "unsupported protocol"},
		{"ext", "\x80\x02\x82\x01.", "unsupported"},
		{"odd dict", "\x80\x02(K\x01d.", "odd number"},
	}
	for _, tt := range tests {
		_, err := Unmarshal([]byte(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	var se *SyntaxError
	_, err := Unmarshal([]byte("\x80\x02\xff."))
	if !errors.As(err, &se) || se.Offset != 2 {
		t.Errorf("SyntaxError offset: %v", err)
	}
	_, err = Unmarshal([]byte("\x80\x02\x82\x01."))
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("extension code error %v does not wrap ErrUnsupported", err)
	}
}

// TestTruncation cuts a real pickle at every length: each must fail
// cleanly, never panic.
func TestTruncation(t *testing.T) {
	v := NewDict("a", Tuple{int64(1), "x", 2.5, Bytes("yz")}, "b", &Object{Callable: Global{"m", "C"}, Args: Tuple{}, NewObj: true, Built: true, State: NewDict("k", int64(1)<<40)})
	data, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		if _, err := Unmarshal(data[:i]); err == nil {
			t.Errorf("truncated to %d of %d bytes: no error", i, len(data))
		}
	}
}

func TestPersistentLoad(t *testing.T) {
	data, err := Marshal(Tuple{PersID{ID: Tuple{"storage", int64(3)}}})
	if err != nil {
		t.Fatal(err)
	}
	d := Decoder{PersistentLoad: func(id any) (any, error) {
		tup := id.(Tuple)
		return "loaded-" + tup[0].(string), nil
	}}
	v, err := d.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !Equal(v, Tuple{"loaded-storage"}) {
		t.Errorf("got %#v", v)
	}
	d.PersistentLoad = func(any) (any, error) { return nil, errors.New("no such storage") }
	if _, err := d.Decode(data); err == nil || !strings.Contains(err.Error(), "no such storage") {
		t.Errorf("hook error not propagated: %v", err)
	}
}

func TestObjectHelpers(t *testing.T) {
	o := &Object{Callable: Global{"collections", "OrderedDict"}, Args: Tuple{}}
	o.DictItems = []Item{{"x", int64(1)}}
	d, ok := AsDict(o)
	if !ok || d.Len() != 1 {
		t.Fatalf("AsDict(OrderedDict) = %v, %v", d, ok)
	}
	if v, _ := d.Get("x"); v != int64(1) {
		t.Errorf("Get = %v", v)
	}
	p := &Object{Callable: Global{"m", "P"}, Built: true, State: Tuple{nil, NewDict("p", int64(2))}}
	if v, ok := p.Attr("p"); !ok || v != int64(2) {
		t.Errorf("slot state Attr = %v, %v", v, ok)
	}
	ints, err := AsInts(Tuple{int64(1), int64(2)})
	if err != nil || len(ints) != 2 {
		t.Errorf("AsInts = %v, %v", ints, err)
	}
	if _, err := AsInts(Tuple{"x"}); err == nil {
		t.Error("AsInts accepted a string")
	}
	if !math.IsNaN(math.NaN()) || !Equal(math.NaN(), math.NaN()) {
		t.Error("NaN should equal NaN for verification purposes")
	}
}

// A global read through STACK_GLOBAL may hold a newline, which GLOBAL
// cannot carry: Marshal must refuse it rather than write a pickle that
// decodes as something else (found by FuzzLoadPlain).
func TestMarshalGlobalNewline(t *testing.T) {
	for _, g := range []Global{{Module: "torch\n0", Name: "x"}, {Module: "torch", Name: "a\nb"}} {
		if b, err := Marshal(Tuple{g, int64(1)}); err == nil {
			t.Errorf("Marshal(%q.%q) = %q, want an error", g.Module, g.Name, b)
		}
	}
	// What GLOBAL can carry still round-trips.
	g := Global{Module: "torch._utils", Name: "_rebuild_tensor_v2"}
	b, err := Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(b)
	if err != nil || back != g {
		t.Fatalf("round trip: %v, %v", back, err)
	}
}

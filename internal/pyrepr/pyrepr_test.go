package pyrepr

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// TestFloat compares Float with Python's repr on special, boundary and
// random doubles.
func TestFloat(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-4, 1e-5, 1.5e-5, 1e15, 1e16, 1.2345678901234567e16,
		123456789012345678, 9999999999999998, 1e22, 1e-7, 5e-324, math.MaxFloat64, math.SmallestNonzeroFloat64,
		2.5, 0.30000000000000004, 100, 1e100, 1.7976931348623157e308, math.Inf(1), math.Inf(-1),
		0.5, 0.0134, 500000, 1.5e-7, -3e100, 123.456}
	rng := rand.New(rand.NewPCG(1, 2))
	for len(vals) < 3000 {
		f := math.Float64frombits(rng.Uint64())
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			vals = append(vals, f)
		}
		vals = append(vals, float64(rng.IntN(100000))/float64(1+rng.IntN(1000)))
	}
	hexes := make([]string, len(vals))
	for i, v := range vals {
		hexes[i] = strconv.FormatFloat(v, 'x', -1, 64)
	}
	arg, _ := json.Marshal(hexes)
	out := oracle.Run(t, nil, `
import json, sys
print(json.dumps([repr(float.fromhex(h)) for h in json.loads(sys.argv[1])]))
`, string(arg))
	var want []string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i, v := range vals {
		if got := Float(v); got != want[i] {
			t.Errorf("Float(%v) = %s, Python repr %s", v, got, want[i])
			if bad++; bad > 10 {
				t.FailNow()
			}
		}
	}
	if got := Float(math.NaN()); got != "nan" {
		t.Errorf("NaN: %s", got)
	}
}

// TestFloatTable holds values whose repr was read off Python, so that the
// formatter is checked where no interpreter is installed.
func TestFloatTable(t *testing.T) {
	for f, want := range map[float64]string{
		1: "1.0", 0.5: "0.5", 1e-5: "1e-05", 1e-4: "0.0001", 1e16: "1e+16", 1e15: "1000000000000000.0",
		0.0134: "0.0134", 500000: "500000.0", 1.5e-7: "1.5e-07", -3e100: "-3e+100", 123.456: "123.456",
		5e-324: "5e-324", math.Copysign(0, -1): "-0.0", math.Inf(-1): "-inf",
	} {
		if got := Float(f); got != want {
			t.Errorf("Float(%v) = %q, want %q", f, got, want)
		}
	}
}

// strCases are texts on which repr's choices differ: quotes, escapes,
// printable and unprintable characters in and beyond Latin-1, and bytes
// that are not UTF-8.
var strCases = []string{
	"", "a", "plugins", "it's", `say "hi"`, `both ' and "`, `a'b"c`, "tab\there", "nl\n", "x\ny", "cr\r",
	`back\slash`, "\x00", "\x00\x7f", "\x1b[0m", "é", "\u0080", "\u009f", "\u00a0", "\u00ad", "\u00ff",
	"\u0100", "\u200b", "\u2028", "\ufeff", "\ufffd", "日本", "\U0001F600", "\U000e0001", "\U0010ffff",
	"\xff", "a\x80b", "\xc3", "\xed\xa0\x80", "it's \xfe",
}

// pyStrs runs script with the list of strCases bound to cases, each
// decoded from its bytes with surrogateescape, as Python decodes a command
// line or a file name, and returns what the script prints as JSON.
func pyStrs(t *testing.T, script string) []string {
	t.Helper()
	hexes := make([]string, len(strCases))
	for i, s := range strCases {
		hexes[i] = hex.EncodeToString([]byte(s))
	}
	arg, _ := json.Marshal(hexes)
	out := oracle.Run(t, nil, `
import ast, json, sys
cases = [bytes.fromhex(h).decode("utf-8", "surrogateescape") for h in json.loads(sys.argv[1])]
`+script, string(arg))
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got) != len(strCases) {
		t.Fatalf("Python answered %d strings for %d", len(got), len(strCases))
	}
	return got
}

func TestStr(t *testing.T) {
	want := pyStrs(t, `print(json.dumps([repr(s) for s in cases]))`)
	for i, s := range strCases {
		if got := Str(s); got != want[i] {
			t.Errorf("Str(%q) = %s, Python %s", s, got, want[i])
		}
	}
}

// TestDoubleQuoted checks that Python reads each literal back as the text
// it was made from, and that it is what repr writes whenever repr chooses
// double quotes (for the text with a single quote added).
func TestDoubleQuoted(t *testing.T) {
	lits := make([]string, len(strCases))
	for i, s := range strCases {
		lits[i] = DoubleQuoted(s)
	}
	litsJSON, _ := json.Marshal(lits)
	back := pyStrs(t, `lits = `+string(litsJSON)+`
print(json.dumps(["ok" if ast.literal_eval(l) == s else ascii(ast.literal_eval(l)) for s, l in zip(cases, lits)]))`)
	reprs := pyStrs(t, `print(json.dumps([repr(s + "'") for s in cases]))`)
	for i, s := range strCases {
		if back[i] != "ok" {
			t.Errorf("DoubleQuoted(%q) = %s reads back in Python as %s", s, lits[i], back[i])
		}
		if strings.Contains(s, `"`) {
			continue
		}
		if got := DoubleQuoted(s + "'"); got != reprs[i] {
			t.Errorf("DoubleQuoted(%q) = %s, Python repr %s", s+"'", got, reprs[i])
		}
	}
}

// TestStrTable holds reprs read off Python, so that the quoting is
// checked where no interpreter is installed.
func TestStrTable(t *testing.T) {
	for in, want := range map[string]string{
		"plugins": `'plugins'`, "it's": `"it's"`, `a'b"c`: `'a\'b"c'`, "x\ny": `'x\ny'`, "é": `'é'`, "\x00": `'\x00'`,
		"\u00a0": `'\xa0'`, "\u200b": `'\u200b'`, "a\xffb": `'a\udcffb'`,
	} {
		if got := Str(in); got != want {
			t.Errorf("Str(%q) = %s, want %s", in, got, want)
		}
	}
	if got, want := DoubleQuoted(`it's "x"`), `"it's \"x\""`; got != want {
		t.Errorf("DoubleQuoted = %s, want %s", got, want)
	}
}

// FuzzFloat checks that every repr reads back as the same float and reads
// as a float, not an int, in Python (a dot, an exponent or a name).
func FuzzFloat(f *testing.F) {
	for _, v := range []float64{0, 1, 1e16, 1e-5, 0.1, 5e-324, math.MaxFloat64, 123456789012345678} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		s := Float(v)
		if math.IsNaN(v) {
			if s != "nan" {
				t.Fatalf("NaN: %s", s)
			}
			return
		}
		back, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(back) != bits {
			t.Fatalf("Float(%v) = %s reads back as %v (%v)", v, s, back, err)
		}
		if !strings.ContainsAny(s, ".en") {
			t.Fatalf("Float(%v) = %s reads as an int", v, s)
		}
	})
}

func ExampleFloat() {
	for _, f := range []float64{2e-4, 1e-5, 3, 1e16, 0.1} {
		fmt.Println(Float(f))
	}
	// Output:
	// 0.0002
	// 1e-05
	// 3.0
	// 1e+16
	// 0.1
}

func ExampleStr() {
	fmt.Println(Str("plugins"), Str("it's"), Str("tab\t"))
	// Output:
	// 'plugins' "it's" 'tab\t'
}

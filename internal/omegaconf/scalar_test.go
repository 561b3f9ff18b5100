package omegaconf

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// trickyScalars are plain YAML scalars on which YAML 1.1, YAML 1.2 and
// OmegaConf disagree.
var trickyScalars = []string{
	// YAML 1.1 booleans, in the cases PyYAML accepts, and near misses.
	"yes", "Yes", "YES", "yEs", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
	"true", "True", "TRUE", "tRue", "false", "False", "FALSE", "y", "n", "Y", "N",
	// Nulls.
	"~", "null", "Null", "NULL", "nUll", "", "None",
	// Integers: underscores, bases, YAML 1.1 octal, sexagesimal, big.
	"0", "-0", "+0", "7", "-7", "+7", "1_000", "1__0", "0x10", "0xFF", "0x_1", "-0x10", "0o17", "017", "0_17",
	"08", "0b101", "-0b11", "1:30", "190:20:30", "-1:00", "100000000000000000000",
	"-123456789012345678901234567890", "12e",
	// Floats: OmegaConf's dotless exponents, dots, inf/nan, underscores.
	"1e-4", "1E4", "2e-5", "1e+4", "-1e4", "1.", "-1.", ".5", "-.5", "+.5", "1.5", "1_000.5", "6.02e23",
	"1.0e-20", "1e400", "1e-400", ".inf", "-.inf", "+.inf", ".Inf", ".INF", ".iNf", ".nan", ".NaN", ".NAN",
	"inf", "nan", "1:30.5", "1.e5", "._5", "0.1_0", "1e4.5",
	// Timestamps stay strings in OmegaConf.
	"2024-01-01", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "12:30:45",
	// Strings.
	"???", "foo", "1.2.3", "0.1.2", "/path/to/file.nemo", "abc123", "- x", "v1.0",
}

// goScalar returns (Python type name, repr) for a plain scalar as this
// package reads it, or ("error", "") when it is rejected.
func goScalar(s string) (string, string) {
	n, err := Parse([]byte("v: " + s + "\n"))
	if err != nil {
		return "error", ""
	}
	v := n.Get("v")
	if v == nil {
		return "error", "missing"
	}
	return pyTypeName(v), PyRepr(v)
}

func pyTypeName(v *Node) string {
	switch v.Kind {
	case Null:
		return "NoneType"
	case Bool:
		return "bool"
	case Int:
		return "int"
	case Float:
		return "float"
	case String, Missing:
		return "str"
	case List:
		return "list"
	}
	return "dict"
}

// Known answers from PyYAML's resolver tables and OmegaConf's float fix,
// so the behaviour is pinned even where Python is not installed.
func TestScalarsKnown(t *testing.T) {
	want := map[string]string{
		"yes": "bool True", "Off": "bool False", "yEs": "str 'yEs'", "y": "str 'y'",
		"~": "NoneType None", "": "NoneType None",
		"1_000": "int 1000", "0x10": "int 16", "017": "int 15", "0o17": "str '0o17'",
		"1:30": "int 90", "100000000000000000000": "int 100000000000000000000",
		"1e-4": "float 0.0001", "1e+4": "float 10000.0", "-.5": "str '-.5'", "1.": "float 1.0",
		".inf": "float inf", ".NaN": "float nan", "inf": "str 'inf'", "2024-01-01": "str '2024-01-01'",
		"???": "str '???'", "1:30.5": "float 90.5", "6.02e23": "float 6.02e+23",
	}
	for s, w := range want {
		typ, repr := goScalar(s)
		if got := typ + " " + repr; got != w {
			t.Errorf("%q: got %s, want %s", s, got, w)
		}
	}
}

// TestScalarsOracle compares every tricky scalar with OmegaConf 2.2
// loading the same text.
func TestScalarsOracle(t *testing.T) {
	script := `
import json, sys
from omegaconf import OmegaConf
out = []
for s in json.loads(sys.argv[1]):
    try:
        v = OmegaConf.to_container(OmegaConf.create("v: " + s + "\n"))["v"]
        out.append([type(v).__name__, repr(v)])
    except Exception as e:
        out.append(["error", ""])
print(json.dumps(out))
`
	arg, _ := json.Marshal(trickyScalars)
	var got [][2]string
	if err := json.Unmarshal(oracle.Run(t, []string{"omegaconf"}, script, string(arg)), &got); err != nil {
		t.Fatal(err)
	}
	for i, s := range trickyScalars {
		typ, repr := goScalar(s)
		if typ != got[i][0] || repr != got[i][1] {
			t.Errorf("%q: we read %s %s, OmegaConf reads %s %s", s, typ, repr, got[i][0], got[i][1])
		}
	}
}

// TestQuotedAndTagged checks scalars whose style or tag decides the type.
func TestQuotedAndTagged(t *testing.T) {
	src := `
a: 'yes'
b: "1e-4"
c: !!str 123
d: !!int "0x10"
e: !!float "1"
f: !!bool "on"
g: !!null "x"
h: |
  yes
i: "???"
j: '??? '
`
	n, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := "{'a': 'yes', 'b': '1e-4', 'c': '123', 'd': 16, 'e': 1.0, 'f': True, 'g': None, 'h': 'yes\\n', 'i': '???', 'j': '??? '}"
	if got := PyRepr(n); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if n.Get("i").Kind != Missing {
		t.Errorf("quoted ??? is %v, want missing", n.Get("i").Kind)
	}
	got := oracle.Run(t, []string{"omegaconf"}, `
import sys
from omegaconf import OmegaConf
c = OmegaConf.create(sys.argv[1])
print(repr(OmegaConf.to_container(c)))
`, src)
	if strings.TrimSpace(string(got)) != want {
		t.Errorf("OmegaConf reads %s", got)
	}
}

package omegaconf

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// resolveDocs are configs exercising OmegaConf's interpolation grammar and
// resolvers. Each is resolved here and by OmegaConf, and every value is
// compared.
var resolveDocs = []string{
	// Absolute, relative and up-level references; list indices.
	`
name: gpt
model:
  tp: 2
  pp: 4
  seq: 512
  data:
    seq_length: ${model.seq}
    rel: ${.seq_length}
    up: ${..tp}
    upup: ${...name}
  lst: [10, 20, '${.tp}']
  i0: ${model.lst.0}
  i1: ${model.lst[1]}
  i2: ${model.lst[2]}
  brk: ${model[data][seq_length]}
`,
	// Strings built from values of every type; escapes.
	`
b: true
f: 1e-4
n: null
i: 3
s: x
big: 123456789012345678901234567890
cat: run_${s}_${i}_${b}_${f}_${n}_${big}
esc1: \${s}
esc2: \\${s}
esc3: \\\${s}
esc4: a\\b${s}
quote: 'it''s ${s}'
braces: '{${i}}-{step}-${s}}'
dollar: $ $$ ${s}$
ws: ${ s }
ws2: '${ oc.select: s , z }'
lst: [1, 2]
dct: {a: 1, b: '${i}'}
lstr: L${lst}
dstr: D${dct}
key: s
nested: ${${key}}
`,
	// NeMo's resolvers.
	`
tp: 2
pp: 4
f: 0.5
s: ab
t: true
mp: ${multiply:${tp}, ${pp}}
mf: ${multiply:${tp},${f}}
ms: ${multiply:${s},3}
mb: ${multiply:${t},5}
mz: ${multiply:${s},-1}
sm: ${sum:${tp},-1}
sf: ${sum:${f},1.25}
ss: ${sum:${s},cd}
nest: ${multiply:${sum:${tp},1},${pp}}
big: ${multiply:99999999999999999999,99999999999999999999}
lit: ${multiply:3,1_000}
fl: ${sum:1e3,.5}
inf: ${multiply:inf,2}
`,
	// Resolver argument syntax.
	`
x: 7
q1: |-
  ${oc.decode:'[1, 2, ${x}]'}
q2: |-
  ${oc.decode:"{a: 1, b: [x, y]}"}
q3: |-
  ${oc.decode:'  12  '}
q4: |-
  ${oc.decode:null}
q5: |-
  ${oc.decode:'true'}
q6: |-
  ${oc.decode:'a b c'}
q7: |-
  ${oc.decode:'1.5.2'}
q8: |-
  ${oc.decode:'-'}
q9: |-
  ${oc.decode:'a\,b'}
q10: |-
  ${oc.decode:'${x}'}
q11: |-
  ${oc.decode:"'quoted'"}
q12: |-
  ${oc.decode:'01'}
q13: |-
  ${oc.decode:'1_0.5'}
q14: |-
  ${oc.decode:'NaN'}
q15: |-
  ${oc.decode:'/a/b.c'}
q16: |-
  ${oc.decode:'x:y'}
q17: |-
  ${oc.decode:'{}'}
q18: |-
  ${oc.decode:'[]'}
q19: |-
  ${oc.decode:'[1,,2]'}
`,
	// oc.select, oc.deprecated, oc.env.
	`
a:
  b: 1
  c: ${oc.select:a.b}
  d: ${oc.select:a.zz,dflt}
  e: ${oc.select:.b}
  f: ${oc.select:nope}
  g: ${oc.deprecated:a.b}
h: ${oc.env:NEMO_MIGRATE_TEST_SET}
i: ${oc.env:NEMO_MIGRATE_TEST_UNSET,fallback}
j: ${oc.env:NEMO_MIGRATE_TEST_UNSET,null}
k: ${oc.env:NEMO_MIGRATE_TEST_UNSET,12}
l: p_${oc.env:NEMO_MIGRATE_TEST_SET}
`,
	// Sections copied whole.
	`
base:
  x: 1
  y: ${.x}
  z: ['${.x}', '${..top}']
top: t
copy: ${base}
copy2: ${copy}
deep: ${copy.z.1}
lst: ${base.z}
`,
	// Failures: missing keys, cycles, ???, grammar errors, unknown resolvers.
	`
ok: 1
m: ???
a: ${nope}
b: ${m}
c1: ${c2}
c2: ${c1}
self: ${self}
d: ${ok.x}
e: ${unknown:1}
f: ${gpu_name:}
g: ${oc.env:}
h: ${multiply:1}
i: ${sum:a,1}
n: ${ok}${a}
o: ${oc.decode:1}
p: ${multiply:[1],2}
p2: ${multiply:2,[a, '${ok}']}
p3: ${sum:[1],[2]}
p4: ${sum:${sec},[2]}
p5: ${multiply:${lst},2}
p6: ${sum:${lst},[3]}
lst: [1, 2]
sec:
  r: ${sec}
`,
}

// leafPaths lists the paths of the leaves of a parsed config (an
// interpolation is a leaf).
func leafPaths(n *Node) []string {
	var paths []string
	Walk(n, func(path string, v *Node) bool {
		if path != "" && (v.IsScalar() || (v.Kind == List && len(v.Items) == 0) || (v.Kind == Map && len(v.Entries) == 0)) {
			paths = append(paths, path)
		}
		return true
	})
	return paths
}

func hasUnresolved(v *Node) bool {
	found := false
	Walk(v, func(_ string, n *Node) bool {
		found = found || n.Unresolved != nil
		return !found
	})
	return found
}

var testEnv = map[string]string{"NEMO_MIGRATE_TEST_SET": "from_env"}

func goValues(t *testing.T, doc string) map[string]string {
	t.Helper()
	raw, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := Resolve(raw, &Options{Env: func(k string) (string, bool) { v, ok := testEnv[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range leafPaths(raw) {
		v := res.Lookup(p)
		switch {
		case v == nil:
			out[p] = "<absent>"
		case hasUnresolved(v):
			// OmegaConf.to_container fails on a section holding one.
			out[p] = "<error>"
		case v.Kind == Missing:
			out[p] = "<missing>"
		default:
			out[p] = PyRepr(v)
		}
	}
	return out
}

const selectScript = `
import json, os, sys
from omegaconf import OmegaConf, DictConfig, ListConfig
from omegaconf.errors import MissingMandatoryValue
OmegaConf.register_new_resolver("multiply", lambda x, y: x * y, replace=True)
OmegaConf.register_new_resolver("sum", lambda x, y: x + y, replace=True)
os.environ.update(json.loads(sys.argv[3]))
cfg = OmegaConf.create(open(sys.argv[1]).read())
out = {}
for p in json.loads(sys.argv[2]):
    try:
        v = OmegaConf.select(cfg, p, throw_on_missing=True)
        if isinstance(v, (DictConfig, ListConfig)):
            v = OmegaConf.to_container(v, resolve=True)
        out[p] = repr(v)
    except MissingMandatoryValue as e:
        out[p] = "<missing>" if type(e) is MissingMandatoryValue else "<error>"
    except Exception as e:
        out[p] = "<error>"
print(json.dumps(out))
`

// TestResolveOracle resolves each document here and with OmegaConf 2.2
// (NeMo's multiply and sum registered) and compares every value.
func TestResolveOracle(t *testing.T) {
	for i, doc := range resolveDocs {
		f := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		compareWithOmegaConf(t, fmt.Sprintf("doc %d", i), f, []byte(doc))
	}
}

// compareWithOmegaConf resolves the config file, whose text is doc, here
// and with OmegaConf, and compares every leaf value; what names the config
// in errors.
func compareWithOmegaConf(t *testing.T, what, file string, doc []byte) {
	t.Helper()
	got := goValues(t, string(doc))
	raw, _ := Parse(doc)
	paths := leafPaths(raw)
	arg, _ := json.Marshal(paths)
	env, _ := json.Marshal(testEnv)
	var want map[string]string
	if err := json.Unmarshal(oracle.Run(t, []string{"omegaconf"}, selectScript, file, string(arg), string(env)), &want); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if got[p] != want[p] {
			t.Errorf("%s %s: we give %s, OmegaConf %s", what, p, got[p], want[p])
		}
	}
}

// TestResolveReports checks what is reported for unresolved values.
func TestResolveReports(t *testing.T) {
	raw, err := Parse([]byte(`a: 1
b: ${oc.env:DATA_DIR,/data}
c: x_${oc.env:DATA_DIR}
d: ${c1}
c1: ${d}
e: ${nope.x}
`))
	if err != nil {
		t.Fatal(err)
	}
	res, errs, err := Resolve(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]*InterpolationError{}
	var paths []string
	for _, e := range errs {
		byPath[e.Path] = e
		paths = append(paths, e.Path)
	}
	if want := "b c d c1 e"; strings.Join(paths, " ") != want {
		t.Fatalf("unresolved %v, want %s", paths, want)
	}
	b := byPath["b"]
	if b.Line != 2 || b.Column != 4 || b.EnvVar == nil || b.EnvVar.Name != "DATA_DIR" || b.EnvVar.Default.Str != "/data" {
		t.Errorf("b: %+v %+v", b, b.EnvVar)
	}
	if byPath["c"].EnvVar != nil {
		t.Error("c embeds oc.env in text; it must not be offered as a plain variable")
	}
	if !strings.Contains(byPath["d"].Reason, "cycle") || !strings.Contains(byPath["c1"].Reason, "cycle") {
		t.Errorf("cycle not reported: %q / %q", byPath["d"].Reason, byPath["c1"].Reason)
	}
	if !strings.Contains(byPath["e"].Reason, "not found") {
		t.Errorf("e: %q", byPath["e"].Reason)
	}
	if v := res.Get("b"); v.Kind != String || v.Str != "${oc.env:DATA_DIR,/data}" || v.Unresolved == nil {
		t.Errorf("unresolved value kept as %+v", v)
	}
}

func TestSplitKey(t *testing.T) {
	cases := map[string]string{
		"a.b": "a|b", "a[b]": "a|b", "[a].b": "a|b", "a.b[c].d": "a|b|c|d", "a": "a", "a[b.c]": "a|b.c", "a.": "a|",
	}
	for in, want := range cases {
		if got := strings.Join(splitKey(in), "|"); got != want {
			t.Errorf("splitKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWalkOrder(t *testing.T) {
	raw, err := Parse([]byte("z: 1\na: {c: 2, b: [3, 4]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	Walk(raw, func(p string, n *Node) bool { got = append(got, p); return true })
	want := []string{"", "z", "a", "a.c", "a.b", "a.b.0", "a.b.1"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("walk order %v, want %v (key order must be kept)", got, want)
	}
	if !sort.StringsAreSorted([]string{"a"}) {
		t.Fatal()
	}
}

// TestGrammarErrorsAtLoad checks that a malformed interpolation stops the
// load, with its position, as OmegaConf's strict validation at create
// time does; and that well-formed ones load.
func TestGrammarErrorsAtLoad(t *testing.T) {
	cases := []struct {
		value string
		bad   bool
	}{
		{"${a", true}, {"${}", true}, {"${a${ok}}", true}, {"x${", true}, {"${a b}", true}, {"${.}", true},
		{`${a:"x}`, true}, {"a${b", true}, {"${foo:[1,2}", true}, {"${foo:{a:1}", true}, {"${foo:a}}", false},
		{"${foo:}", false}, {"${oc.env:}", false}, {"${foo:a,,b}", false}, {"${ a }", false}, {"${a.b[c]}", false},
		{"${foo: a b , c }", false}, {"$${a}", false}, {`\\${a}`, false}, {"${foo:'a,b'}", false}, {"${foo:é}", true},
		{"${a.é}", false}, {"${foo:\\}", true}, {"${foo:x=y}", true}, {"${foo:x\\=y}", false}, {"${..a..b}", true},
	}
	var values []string
	for _, c := range cases {
		values = append(values, c.value)
		q, _ := json.Marshal(c.value) // a JSON string is a YAML double-quoted scalar
		_, err := Parse([]byte("k: 1\nv: " + string(q) + "\n"))
		if (err != nil) != c.bad {
			t.Errorf("%q: error %v, want error %v", c.value, err, c.bad)
			continue
		}
		var se *SyntaxError
		if err != nil && (!errors.As(err, &se) || se.Line != 2 || se.Column != 4) {
			t.Errorf("%q: error %v not at 2:4", c.value, err)
		}
	}
	arg, _ := json.Marshal(values)
	out := oracle.Run(t, []string{"omegaconf"}, `
import json, sys
from omegaconf import OmegaConf
res = []
for v in json.loads(sys.argv[1]):
    try:
        OmegaConf.create({"v": v})
        res.append(False)
    except Exception:
        res.append(True)
print(json.dumps(res))
`, string(arg))
	var want []bool
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if c.bad != want[i] {
			t.Errorf("%q: OmegaConf rejects it: %v; the table says %v", c.value, want[i], c.bad)
		}
	}
}

// TestTestdataOracle resolves the testdata configs (this package's and the
// NeMo-shaped ones of configmig) here and with OmegaConf and compares every
// value.
func TestTestdataOracle(t *testing.T) {
	var files []string
	for _, p := range []string{"testdata/*.yaml", "../configmig/testdata/*.yaml"} {
		f, _ := filepath.Glob(p)
		files = append(files, f...)
	}
	if len(files) < 7 {
		t.Fatalf("testdata: %v", files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		compareWithOmegaConf(t, f, f, data)
	}
}

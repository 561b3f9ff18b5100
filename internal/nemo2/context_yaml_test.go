package nemo2

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/nemo-migrate/nemo-migrate/internal/membudget"
	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// yamlCasesScript has PyYAML write documents full of what trips a YAML
// writer (strings that read back as other types, indicators, quotes,
// non-ASCII, long lines that fold, nesting) and prints each document with
// yaml.safe_dump's output, one JSON object per line.
const yamlCasesScript = `
import json, yaml
strings = ["", " ", "plain", "with space", "null", "Null", "~", "true", "yes", "NO", "on", "1", "-1", "0x1F", "0o7",
    "07", "1_000", "1.0", "1e5", "1.0e-05", ".5", ".inf", "-.inf", ".nan", "2024-01-31", "2001-12-14t21:59:43.10-05:00",
    "<<", "=", "-", "- x", "-x", "?", "? x", ":", "a: b", "a:b", "a #b", "a#b", "#c", "[x]", "x]", "{a}", "a,b", "&a",
    "*a", "!t", "|x", ">x", "'q'", '"q"', "it's", "%x", "@x", "` + "`" + `x", "---", "...x", " lead", "trail ", "tab\there",
    "line\nbreak", "two\n\nbreaks", "\nlead", "trail\n", "sp \nbr", "br\n sp", "caf\u00e9", "\u2581", "\U0001f600",
    "nul\x00", "bell\x07", "esc\x1b", "del\x7f", "\x85", "\u2028", "\ufeff", "back\\slash",
    "word " * 30, "w" * 100 + " " + "v" * 30, "it's " * 30, "caf\u00e9 " * 30, "x" * 79 + " y", "x" * 78 + " y z",
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    "nemo.collections.llm.gpt.model.llama.Llama3Config8B", "0123456789abcdef0123456789abcdef_tokenizer.model",
    "<|startoftext|>", "a  b", "a   b" * 20]
floats = [0.0, 1.0, -2.5, 1e-05, 0.0001, 1e16, 1e15, 123456789.125, 1.5e-07, 0.008944, 500000.0, 1e300, float("inf"),
    float("-inf")]
docs = [{"s": s} for s in strings]
docs.append({"list": strings})
docs.append({"nested": {"deeper": {"s": strings[-6], "t": strings[-10]}}, "l": [[1, [2, []]], {}, [], {"k": "v"}]})
docs.append({"floats": floats, "ints": [0, -7, 2**62], "bools": [True, False], "none": None})
docs.append({"maps": [{"b": 1, "a": [1, 2], "c": {"z": None}}, {"_target_": "x", "_call_": False}], "_cpu": 1, "Z": 2})
for d in docs:
    print(json.dumps({"doc": d, "yaml": yaml.safe_dump(d)}))
`

// fromJSON turns a decoded JSON value into the values marshalYAML takes,
// keeping Python's int/float distinction ("1.0" is a float).
func fromJSON(t *testing.T, v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = fromJSON(t, e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fromJSON(t, e)
		}
		return out
	case json.Number:
		s := x.String()
		switch s {
		case "1e999":
			return math.Inf(1)
		case "-1e999":
			return math.Inf(-1)
		}
		if strings.ContainsAny(s, ".eE") {
			f, err := x.Float64()
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		n, err := x.Int64()
		if err != nil {
			t.Fatal(err)
		}
		return int(n)
	}
	return v
}

// TestYAMLMatchesPyYAML compares marshalYAML with yaml.safe_dump byte for
// byte.
func TestYAMLMatchesPyYAML(t *testing.T) {
	out := oracle.Run(t, []string{"yaml"}, yamlCasesScript)
	// Python's json writes Infinity, which Go's decoder refuses.
	out = bytes.ReplaceAll(out, []byte("-Infinity"), []byte("-1e999"))
	out = bytes.ReplaceAll(out, []byte("Infinity"), []byte("1e999"))
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	if len(lines) < 50 {
		t.Fatalf("%d cases", len(lines))
	}
	for _, line := range lines {
		var c struct {
			Doc  map[string]any `json:"doc"`
			YAML string         `json:"yaml"`
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		doc := fromJSON(t, c.Doc).(map[string]any)
		got, err := marshalYAML(doc)
		if err != nil {
			t.Errorf("%s: %v", line, err)
			continue
		}
		if string(got) != c.YAML {
			t.Errorf("document %s:\n got: %q\nwant: %q", line, got, c.YAML)
		}
	}
}

// FuzzYAMLString checks that any string survives a round trip through the
// writer and a YAML parser, and never makes the writer panic.
func FuzzYAMLString(f *testing.F) {
	for _, s := range []string{"", "null", "a: b", "it's", "caf\u00e9 ", "x\ny", " - ", "#", strings.Repeat("ab ", 40), "\t", "\u2581"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		defer membudget.Check(t, len(s))()
		out, err := marshalYAML(map[string]any{"k": s, "l": []any{s, map[string]any{"m": s}}})
		if err != nil {
			if !strings.Contains(err.Error(), "UTF-8") {
				t.Fatal(err)
			}
			return
		}
		var back struct {
			K string `yaml:"k"`
			L []any  `yaml:"l"`
		}
		if err := yaml.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q: %v\n%s", s, err, out)
		}
		// YAML normalizes line breaks inside scalars: compare like for
		// like.
		norm := func(s string) string { return strings.ReplaceAll(s, "\r", "") }
		if norm(back.K) != norm(s) {
			t.Fatalf("%q came back as %q\n%s", s, back.K, out)
		}
	})
}

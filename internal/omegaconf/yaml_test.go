package omegaconf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// badYAML are files NeMo cannot load, with where we report the problem.
var badYAML = []struct {
	name, src    string
	line, column int
	msg          string
}{
	{"dedent", "a:\n  b: 1\n c: 2\n", 3, 2, "did not find expected key"},
	{"two colons", "x: 1\na: b: c\n", 2, 5, "mapping values are not allowed"},
	{"tab indent", "a:\n\t- 1\n", 2, 1, "cannot start any token"},
	{"reserved @", "a: 1\nb: @x\n", 2, 4, "cannot start any token"},
	{"unterminated quote", "a: 1\nb: 'open\nc: 2\n", 2, 1, "end of stream"},
	{"unclosed flow", "a: [1, 2\nb: 3\n", 1, 4, ""},
	{"list after map", "key: value\n- item\n", 2, 1, ""},
	{"map after list", "- a\nb: c\n", 2, 1, ""},
	{"unknown anchor", "a: 1\nb: *nope\n", 2, 4, "unknown anchor"},
	{"bad escape", "a: 1\nb: \"\\q\"\n", 2, 5, "unknown escape"},
	{"duplicate key", "a: 1\nm:\n  x: 1\n  x: 2\n", 4, 3, "duplicate key \"x\""},
	{"two documents", "a: 1\n---\nb: 2\n", 2, 1, "more than one YAML document"},
	{"custom tag", "a: !foo 1\n", 1, 4, "tag !foo"},
	{"bad int tag", "a: !!int x1\n", 1, 4, "invalid integer"},
	{"bad interpolation", "a: 1\nb: ${a\n", 2, 4, "invalid interpolation"},
	{"bare =", "a: =\n", 1, 4, "value key"},
	{"list key", "? [1, 2]\n: x\n", 1, 3, "mapping key must be a scalar"},
}

func TestSyntaxErrors(t *testing.T) {
	for _, c := range badYAML {
		_, err := Parse([]byte(c.src))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s: got %v, want a SyntaxError", c.name, err)
			continue
		}
		if se.Line != c.line || se.Column != c.column || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("%s: got %d:%d %q, want %d:%d containing %q", c.name, se.Line, se.Column, se.Msg, c.line, c.column, c.msg)
		}
		if !strings.Contains(se.Error(), "^") {
			t.Errorf("%s: error does not show the line: %s", c.name, se.Error())
		}
	}
}

// TestSyntaxErrorsOracle proves each bad file is also one OmegaConf (and so
// NeMo) refuses to load.
func TestSyntaxErrorsOracle(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i, c := range badYAML {
		f := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".yaml")
		if err := os.WriteFile(f, []byte(c.src), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		_ = i
	}
	out := oracle.Run(t, []string{"omegaconf"}, `
import sys
from omegaconf import OmegaConf
for f in sys.argv[1:]:
    try:
        OmegaConf.load(f)
        print("loaded", f)
    except Exception as e:
        print("refused", f)
`, files...)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(line, "loaded") {
			t.Errorf("OmegaConf loads %s, which we reject", line)
		}
	}
}

func TestReadFileErrors(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("missing file: %v", err)
	}
	f := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(f, []byte("a:\n  b: 1\n c: 2\n"), 0o644)
	_, err = ReadFile(f)
	if err == nil || !strings.HasPrefix(err.Error(), f+":3:2: ") {
		t.Errorf("bad file: %v", err)
	}
}

func TestEmptyAndMerge(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "---\n"} {
		n, err := Parse([]byte(src))
		if err != nil || n.Kind != Map || len(n.Entries) != 0 {
			t.Errorf("%q: %v %+v", src, err, n)
		}
	}
	src := `
base: &b {x: 1, y: 2}
other: &o {y: 3, z: 4}
m:
  <<: [*b, *o]
  z: 5
  w: 6
anch: *b
`
	n, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := "{'base': {'x': 1, 'y': 2}, 'other': {'y': 3, 'z': 4}, 'm': {'y': 2, 'z': 5, 'x': 1, 'w': 6}, 'anch': {'x': 1, 'y': 2}}"
	if got := PyRepr(n); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	out := oracle.Run(t, []string{"omegaconf"}, `
import sys
from omegaconf import OmegaConf
print(repr(OmegaConf.to_container(OmegaConf.create(sys.argv[1]))))
`, src)
	if strings.TrimSpace(string(out)) != want {
		t.Errorf("OmegaConf reads %s", out)
	}
}

func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		b.WriteString("a" + string(rune('0'+i%10)) + string(rune('a'+i)) + ": &a" + itoa(i) + " [")
		for j := 0; j < 8; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + itoa(i-1))
		}
		b.WriteString("]\n")
	}
	_, err := Parse([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Errorf("alias bomb: %v", err)
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

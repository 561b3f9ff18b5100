package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

const configTestdata = "../../internal/configmig/testdata"

func TestConfigCommand(t *testing.T) {
	in := filepath.Join(configTestdata, "gpt_pretrain.yaml")

	// Python to stdout; the summary to stderr.
	code, stdout, stderr := runCmd(t, "config", in)
	if code != 0 {
		t.Fatalf("config: code %d: %s", code, stderr)
	}
	for _, want := range []string{"nl.MegatronStrategy(", "ckpt_load_directly_on_device=True,  # model.dist_ckpt_load_on_device",
		"llm.pretrain(", "# YAML keys with no NeMo 2.0 counterpart:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("script lacks %q", want)
		}
	}
	if !strings.Contains(stderr, "warnings") || strings.Contains(stdout, "warnings, ") {
		t.Errorf("summary belongs on stderr: %q", stderr)
	}

	// Flags after the file; -o writes the file, which Python parses.
	out := filepath.Join(t.TempDir(), "pretrain.py")
	if code, _, stderr := runCmd(t, "config", in, "-o", out); code != 0 {
		t.Fatalf("config -o: code %d: %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil || string(data) != stdout {
		t.Fatalf("-o wrote something else than stdout: %v", err)
	}
	oracle.Run(t, nil, "import ast, sys; ast.parse(open(sys.argv[1]).read())", out)

	// --json.
	code, stdout, _ = runCmd(t, "config", "--json", in)
	var m map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &m) != nil {
		t.Fatalf("--json: code %d:\n%s", code, stdout)
	}
	for _, k := range []string{"strategy", "trainer", "precision", "optim", "logger", "resume", "data", "tokenizer", "peft", "model", "warnings", "unmapped"} {
		if _, ok := m[k]; !ok {
			t.Errorf("--json lacks %q", k)
		}
	}
	keys := []string{}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.Token()
	for dec.More() {
		tok, _ := dec.Token()
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	if got := strings.Join(keys, ","); got != "source,recipe,strategy,trainer,precision,optim,logger,resume,data,tokenizer,peft,model,callbacks,warnings,unresolved,unmapped" {
		t.Errorf("--json key order: %s", got)
	}

	// Help teaches.
	code, stdout, _ = runCmd(t, "config", "-h")
	if code != 0 || !strings.Contains(stdout, "Usage: nemo-migrate config IN.yaml") || !strings.Contains(stdout, "Examples:") || !strings.Contains(stdout, "MegatronStrategy") {
		t.Errorf("config -h: code %d:\n%s", code, stdout)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(src), 0o644)
		return p
	}
	cases := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"config"}, 2, []string{"want exactly one YAML file"}},
		{[]string{"config", "a.yaml", "b.yaml"}, 2, []string{"got 2"}},
		{[]string{"config", "--bogus", "a.yaml"}, 2, []string{"bogus"}},
		{[]string{"config", filepath.Join(dir, "absent.yaml")}, 1, []string{"absent.yaml", "does not exist"}},
		{[]string{"config", write("bad.yaml", "trainer:\n  devices: 1\n precision: bf16\n")}, 1, []string{"bad.yaml:3:2:", "invalid YAML"}},
		{[]string{"config", write("other.yaml", "servers:\n  - a\n")}, 1, []string{"other.yaml:1:1:", "not a NeMo 1.0"}},
		{[]string{"config", write("interp.yaml", "model:\n  a: ${b\n")}, 1, []string{"interp.yaml:2:6:", "invalid interpolation"}},
	}
	for _, c := range cases {
		code, stdout, stderr := runCmd(t, c.args...)
		if code != c.code {
			t.Errorf("%v: code %d, want %d (%s)", c.args, code, c.code, stderr)
		}
		if stdout != "" {
			t.Errorf("%v: wrote to stdout on error: %q", c.args, stdout)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr %q lacks %q", c.args, stderr, w)
			}
		}
	}
	// A failed run leaves no output file.
	out := filepath.Join(dir, "out.py")
	if code, _, _ := runCmd(t, "config", filepath.Join(dir, "absent.yaml"), "-o", out); code != 1 {
		t.Error("missing input must fail")
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("a failed run created the output file")
	}
}

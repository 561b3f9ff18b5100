package main

import (
	"archive/tar"
	"bytes"
	"context"
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

// runCmdStdin runs a command line in-process with stdin as its standard
// input.
func runCmdStdin(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(&env{ctx: context.Background(), stdin: strings.NewReader(stdin), stdout: &o, stderr: &e}, args)
	return code, o.String(), e.String()
}

// TestConfigOutput covers where config reads and writes: -o never replaces
// a file without --force, -o - is standard output, - reads standard input.
func TestConfigOutput(t *testing.T) {
	in := filepath.Join(configTestdata, "gpt_pretrain.yaml")
	_, script, _ := runCmd(t, "config", in)
	dir := t.TempDir()

	// An existing file is kept without --force, and the error says how.
	out := filepath.Join(dir, "pretrain.py")
	os.WriteFile(out, []byte("# mine\n"), 0o644)
	code, stdout, stderr := runCmd(t, "config", in, "-o", out)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "-o "+out) || !strings.Contains(stderr, "--force") || !strings.Contains(stderr, "-o -") {
		t.Errorf("existing -o: code %d, stderr %q", code, stderr)
	}
	if data, _ := os.ReadFile(out); string(data) != "# mine\n" {
		t.Errorf("the existing file was changed (%d bytes)", len(data))
	}
	// --force replaces it, with the script's mode.
	if code, _, stderr := runCmd(t, "config", in, "-o", out, "--force"); code != 0 {
		t.Fatalf("--force: code %d: %s", code, stderr)
	}
	if data, _ := os.ReadFile(out); string(data) != script {
		t.Error("--force did not write the script")
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	// Nor does --force replace the input, or write over a directory.
	cfg := filepath.Join(dir, "c.yaml")
	src, _ := os.ReadFile(in)
	os.WriteFile(cfg, src, 0o644)
	if code, _, stderr := runCmd(t, "config", cfg, "-o", cfg, "--force"); code != 1 || !strings.Contains(stderr, "is the input file") {
		t.Errorf("-o the input: code %d, %q", code, stderr)
	}
	if data, _ := os.ReadFile(cfg); !bytes.Equal(data, src) {
		t.Error("the input was overwritten")
	}
	if code, _, stderr := runCmd(t, "config", in, "-o", dir, "--force"); code != 1 || !strings.Contains(stderr, "is a directory") {
		t.Errorf("-o a directory: code %d, %q", code, stderr)
	}
	// A missing directory is created.
	nested := filepath.Join(dir, "scripts", "new", "pretrain.py")
	if code, _, stderr := runCmd(t, "config", in, "-o", nested); code != 0 {
		t.Errorf("-o in a new directory: code %d, %s", code, stderr)
	}
	if data, _ := os.ReadFile(nested); string(data) != script {
		t.Error("-o in a new directory: no script")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// -o - writes to standard output; no file called -.
	wd, _ := os.Getwd()
	code, stdout, stderr = runCmd(t, "config", in, "-o", "-")
	if code != 0 || stdout != script || !strings.Contains(stderr, "warnings") {
		t.Errorf("-o -: code %d, %d bytes, stderr %q", code, len(stdout), stderr)
	}
	if _, err := os.Stat(filepath.Join(wd, "-")); err == nil {
		t.Error("-o - created a file called -")
	}

	// - reads standard input, named <stdin> in the script and messages.
	code, stdout, stderr = runCmdStdin(t, string(src), "config", "-", "-o", "-")
	if code != 0 || !strings.Contains(stdout, "migrated by nemo-migrate from <stdin>") || !strings.Contains(stderr, "<stdin>: ") {
		t.Fatalf("config -: code %d, stderr %q", code, stderr)
	}
	if strings.Replace(stdout, "<stdin>", "gpt_pretrain.yaml", 1) != script {
		t.Error("config - wrote another script than config FILE")
	}
	code, stdout, _ = runCmdStdin(t, string(src), "config", "--json", "-")
	var m map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &m) != nil || m["source"] != "<stdin>" {
		t.Errorf("config --json -: code %d", code)
	}
	code, _, stderr = runCmdStdin(t, "trainer:\n  devices: 1\n precision: 16\n", "config", "-")
	if code != 1 || !strings.Contains(stderr, "<stdin>:3:2:") {
		t.Errorf("bad YAML on stdin: code %d, %q", code, stderr)
	}
}

// TestConfigRefusals checks, through the command, that what config does
// not migrate ends in exit 1 with what was detected and what to do, and
// no script.
func TestConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	yaml := []byte("num_layers: 2\n")
	tw.WriteHeader(&tar.Header{Name: "./model_config.yaml", Mode: 0o644, Size: int64(len(yaml))})
	tw.Write(yaml)
	tw.Close()
	nemo := write("llama.nemo", tarball.Bytes())
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"config", nemo}, []string{"llama.nemo: a .nemo checkpoint", "nemo-migrate convert --input_path " + nemo}},
		{[]string{"config", write("t5.yaml", []byte("name: megatron_t5\ntrainer: {devices: 1}\nmodel:\n  encoder: {num_layers: 12}\n  decoder: {num_layers: 12}\n"))},
			[]string{"t5.yaml:4:3: a NeMo 1.0 T5 (encoder-decoder) config (model.encoder)", "llm.T5Model"}},
		{[]string{"config", write("gen.yaml", []byte("inference: {greedy: true}\ntrainer: {devices: 1}\ngpt_model_file: /m/gpt.nemo\nprompts: [hi]\n"))},
			[]string{"inference", "does not train", "llm.generate"}},
		{[]string{"config", write("model.yaml", []byte("_target_: nemo.collections.llm.gpt.model.llama.LlamaModel\nconfig:\n  _target_: nemo.collections.llm.gpt.model.llama.LlamaConfig\n"))},
			[]string{"a NeMo 2.0 model config", "nothing to migrate"}},
		{[]string{"config", write("mamba_sft.yaml", []byte("name: megatron_mamba\nmodel:\n  restore_from_path: /m/mamba.nemo\n  data: {train_ds: {file_names: [a.jsonl]}}\n"))},
			[]string{"Mamba", "(name: megatron_mamba)", "llm.MambaModel"}},
	}
	for _, c := range cases {
		code, stdout, stderr := runCmd(t, c.args...)
		if code != 1 || stdout != "" {
			t.Errorf("%v: code %d, stdout %d bytes", c.args, code, len(stdout))
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr %q lacks %q", c.args, stderr, w)
			}
		}
	}
	// --json readers get the refusal as JSON.
	code, stdout, _ := runCmd(t, "config", "--json", nemo)
	var e struct{ Error string }
	if code != 1 || json.Unmarshal([]byte(stdout), &e) != nil || !strings.Contains(e.Error, "nemo-migrate convert") {
		t.Errorf("--json refusal: code %d, %q", code, stdout)
	}
	// Nothing is written for a refused file.
	out := filepath.Join(dir, "out.py")
	if code, _, _ := runCmd(t, "config", nemo, "-o", out); code != 1 {
		t.Error("refused input must fail")
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("a refused input created the output file")
	}
}

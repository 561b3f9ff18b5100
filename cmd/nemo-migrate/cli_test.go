package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/dcp"
	"github.com/nemo-migrate/nemo-migrate/internal/testbin"
)

// The CLI tests run the built binary, as a user's shell does.

// cli runs the built binary with args and returns its exit code and output.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(testbin.Path(t), args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, o.String(), e.String()
}

// TestErrorsNameWhatToFix: each path error names the flag or argument it
// came from, and a misspelt flag is echoed as typed with the likely one.
func TestErrorsNameWhatToFix(t *testing.T) {
	example, _ := filepath.Abs("../../examples/tiny-llama.nemo")
	out := t.TempDir()
	missing := filepath.Join(t.TempDir(), "missing.nemo")
	for _, tt := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"convert", "--input_path", missing, "--output_path", out, "--model_id", "auto"}, 1, []string{"--input_path " + missing + " does not exist"}},
		{[]string{"convert", "-i", example, "-o", out, "--model_id", "auto", "--tokenizer_path", missing}, 1, []string{"--tokenizer_path " + missing + " does not exist"}},
		{[]string{"export", "--input_path", missing, "--output_path", out}, 1, []string{"--input_path " + missing + " does not exist"}},
		{[]string{"verify", out, "--source", missing}, 1, []string{"--source " + missing + " does not exist"}},
		{[]string{"inspect", missing}, 1, []string{"checkpoint " + missing + " does not exist"}},
		{[]string{"verify", example}, 1, []string{"is a file", "verify OUT --source " + example, "inspect " + example}},
		{[]string{"convert", "--input-pth", example}, 2, []string{"unknown flag --input-pth (did you mean --input_path?)"}},
		{[]string{"export", "--shard_sise=1GB"}, 2, []string{"unknown flag --shard_sise (did you mean --shard-size?)"}},
		{[]string{"inspect", example, "--frobnicate"}, 2, []string{"unknown flag --frobnicate\n"}},
	} {
		code, _, stderr := cli(t, tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d (%s)", tt.args, code, tt.code, stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: %q does not say %q", tt.args, stderr, w)
			}
		}
	}
}

// TestHelpTeaches: every command's help has examples, and the flags a
// command cannot run without are marked.
func TestHelpTeaches(t *testing.T) {
	for _, c := range commands() {
		if c.name == "version" {
			continue
		}
		code, stdout, _ := cli(t, c.name, "--help")
		if code != 0 || !strings.Contains(stdout, "Examples:\n  nemo-migrate "+c.name) {
			t.Errorf("%s --help: exit %d, no examples:\n%s", c.name, code, stdout)
		}
	}
	_, stdout, _ := cli(t, "convert", "-h")
	for _, f := range []string{"--input_path, --input, -i CHECKPOINT   (required)", "--output_path, --output, -o DIRECTORY   (required)", "--model_id MODEL   (required)"} {
		if !strings.Contains(stdout, f) {
			t.Errorf("convert -h does not mark %q:\n%s", f, stdout)
		}
	}
	if strings.Contains(stdout, "--dtype DTYPE   (required)") {
		t.Error("convert -h marks an optional flag as required")
	}
}

// TestNoRawBytesFromInput: a key name carrying a terminal escape sequence
// (a hostile checkpoint) reaches the screen escaped, in tables and errors.
func TestNoRawBytesFromInput(t *testing.T) {
	dir := t.TempDir()
	m := &dcp.Metadata{}
	key := "evil\x1b]0;pwned\x07\x1b[2J.weight"
	info := dcp.StorageInfo{RelativePath: "__0_0.distcp", Offset: 0, Length: 64}
	if err := m.AddTensorChunk(key, dcp.TensorProperties{DType: "bfloat16"}, []int64{4, 8}, dcp.Chunk{Offsets: []int64{0, 0}, Sizes: []int64{4, 8}}, info); err != nil {
		t.Fatal(err)
	}
	data, err := dcp.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ".metadata"), data, 0o644)
	os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(`{"sharded_backend": "torch_dist", "sharded_backend_version": 1, "common_backend": "torch", "common_backend_version": 1}`), 0o644)
	os.WriteFile(filepath.Join(dir, "__0_0.distcp"), make([]byte, 64), 0o644)
	for _, args := range [][]string{{"inspect", dir}, {"verify", dir}} {
		_, stdout, stderr := cli(t, args...)
		if strings.ContainsAny(stdout+stderr, "\x1b\x07") {
			t.Errorf("%v printed raw control characters: %q %q", args, stdout, stderr)
		}
		if !strings.Contains(stdout+stderr, `evil\u001b]0;pwned\u0007`) {
			t.Errorf("%v does not show the key escaped: %q %q", args, stdout, stderr)
		}
	}
}

// TestSuccessIsNotAnError: what a successful run prints never starts the
// way an error does ("nemo-migrate <command>: ...").
func TestSuccessIsNotAnError(t *testing.T) {
	example, _ := filepath.Abs("../../examples/tiny-llama.nemo")
	yaml := filepath.Join(t.TempDir(), "model_config.yaml")
	if out, err := exec.Command("tar", "-xOf", example, "./model_config.yaml").Output(); err != nil {
		t.Skipf("tar: %v", err)
	} else {
		os.WriteFile(yaml, out, 0o644)
	}
	for _, args := range [][]string{
		{"convert", "-i", example, "-o", filepath.Join(t.TempDir(), "out"), "--model_id", "auto"},
		{"config", yaml, "-o", filepath.Join(t.TempDir(), "train.py")},
		{"inspect", example},
	} {
		code, stdout, stderr := cli(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		for _, l := range strings.Split(stdout+stderr, "\n") {
			if strings.HasPrefix(l, "nemo-migrate "+args[0]+":") {
				t.Errorf("%v succeeded but printed %q", args, l)
			}
		}
	}
}

// TestVerifyContext: verify checks context/ in full. Each break of a
// converted checkpoint's context that NeMo 2.0 or its exporters would trip
// on is found and named; the untouched checkpoint passes.
func TestVerifyContext(t *testing.T) {
	example, _ := filepath.Abs("../../examples/tiny-llama.nemo")
	for _, c := range []struct {
		name   string
		damage func(ctx string) error
		want   string
	}{
		{"untouched", func(string) error { return nil }, ""},
		{"tokenizer deleted", func(ctx string) error {
			return os.Remove(filepath.Join(ctx, "0123456789abcdef0123456789abcdef_tokenizer.model"))
		}, "tokenizer"},
		{"tokenizer corrupt", func(ctx string) error {
			return os.WriteFile(filepath.Join(ctx, "0123456789abcdef0123456789abcdef_tokenizer.model"), []byte("not a model"), 0o644)
		}, "tokenizer"},
		{"config class renamed", func(ctx string) error {
			return replaceIn(filepath.Join(ctx, "io.json"), `"LlamaConfig"`, `"LlamaConfgi"`)
		}, "LlamaConfgi"},
		{"unknown dtype", func(ctx string) error {
			return replaceIn(filepath.Join(ctx, "io.json"), `"name": "bfloat16"`, `"name": "bfloat17"`)
		}, "torch.bfloat17, which no NeMo 2 config field takes"},
		{"model.yaml disagrees", func(ctx string) error {
			return replaceIn(filepath.Join(ctx, "model.yaml"), "  num_layers: 2\n", "  num_layers: 3\n")
		}, "config.num_layers is 3, io.json has 2"},
		{"model.yaml of another model", func(ctx string) error {
			return replaceIn(filepath.Join(ctx, "model.yaml"), "_target_: nemo.collections.llm.gpt.model.llama.LlamaModel", "_target_: nemo.collections.llm.gpt.model.mistral.MistralModel")
		}, "the model is nemo.collections.llm.gpt.model.mistral.MistralModel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			if code, _, stderr := cli(t, "convert", "-i", example, "-o", out, "--model_id", "auto"); code != 0 {
				t.Fatalf("convert: %s", stderr)
			}
			if err := c.damage(filepath.Join(out, "context")); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := cli(t, "verify", out)
			if c.want == "" {
				if code != 0 {
					t.Errorf("verify of an untouched conversion: exit %d: %s%s", code, stdout, stderr)
				}
				return
			}
			if code != 1 || !strings.Contains(stdout, c.want) {
				t.Errorf("exit %d, output does not say %q:\n%s%s", code, c.want, stdout, stderr)
			}
		})
	}
}

// replaceIn replaces old with new in a file, failing if old is not there.
func replaceIn(path, old, new string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Contains(b, []byte(old)) {
		return fmt.Errorf("%s has no %q", path, old)
	}
	return os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644)
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// shell runs script in the named shell, or skips when it is not installed.
func shell(t *testing.T, name, script string) []string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed", name)
	}
	out, err := exec.Command(path, "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	return strings.Fields(string(out))
}

// completionScript writes the binary's script for a shell to a file.
func completionScript(t *testing.T, sh string) string {
	t.Helper()
	code, out, stderr := cli(t, "completion", sh)
	if code != 0 {
		t.Fatalf("completion %s: exit %d: %s", sh, code, stderr)
	}
	p := filepath.Join(t.TempDir(), "nemo-migrate."+sh)
	os.WriteFile(p, []byte(out), 0o644)
	return p
}

// TestCompletionBash drives bash's completion function as bash does on
// Tab: COMP_WORDS and COMP_CWORD set, COMPREPLY read back.
func TestCompletionBash(t *testing.T) {
	script := completionScript(t, "bash")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "model.nemo"), nil, 0o644)
	os.Mkdir(filepath.Join(dir, "model-out"), 0o755)
	for _, tt := range []struct {
		words []string // the last is the word being completed
		want  []string
	}{
		{[]string{"con"}, []string{"config", "convert"}},
		{[]string{"convert", "--model_id", "meta-llama/Meta"}, []string{"meta-llama/Meta-Llama-3-8B", "meta-llama/Meta-Llama-3-70B"}},
		{[]string{"convert", "--model-id", "au"}, []string{"auto"}},
		{[]string{"convert", "--dt"}, []string{"--dtype"}},
		{[]string{"export", "--dtype", ""}, []string{"bfloat16", "float16", "float32"}},
		{[]string{"export", "--input_path", dir + "/model."}, []string{dir + "/model.nemo"}},
		{[]string{"convert", "-o", dir + "/model"}, []string{dir + "/model-out"}},
		{[]string{"completion", ""}, []string{"bash", "zsh", "fish"}},
		{[]string{"verify", "--so"}, []string{"--source"}},
	} {
		var words strings.Builder
		for _, w := range append([]string{"nemo-migrate"}, tt.words...) {
			words.WriteString(" '" + w + "'")
		}
		got := shell(t, "bash", "source "+script+"\nCOMP_WORDS=("+words.String()+")\nCOMP_CWORD="+
			string(rune('0'+len(tt.words)))+"\n_nemo_migrate\nprintf '%s\\n' \"${COMPREPLY[@]}\"")
		slices.Sort(got)
		want := slices.Sorted(slices.Values(tt.want))
		if !slices.Equal(got, want) {
			t.Errorf("%q: completed %q, want %q", tt.words, got, want)
		}
	}
}

// TestCompletionFish asks fish itself what it would complete.
func TestCompletionFish(t *testing.T) {
	script := completionScript(t, "fish")
	for line, want := range map[string][]string{
		"nemo-migrate con":                      {"config", "convert"},
		"nemo-migrate convert --model_id mistr": {"mistralai/Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x22B-v0.1", "mistralai/Mistral-7B-v0.1"},
		"nemo-migrate export --dtype float":     {"float16", "float32"},
		"nemo-migrate verify --so":              {"--source"},
	} {
		out := shell(t, "fish", "source "+script+"; complete -C '"+line+"' | cut -f1")
		slices.Sort(out)
		if !slices.Equal(out, slices.Sorted(slices.Values(want))) {
			t.Errorf("%q: completed %q, want %q", line, out, want)
		}
	}
}

// TestCompletionZsh checks the script parses and that, for a command, the
// completion function hands zsh's _arguments the command's flag specs.
func TestCompletionZsh(t *testing.T) {
	script := completionScript(t, "zsh")
	shell(t, "zsh", "zsh -n "+script)
	got := shell(t, "zsh", `compdef() { :; }
_arguments() { print -l -- "$@" | cut -d'[' -f1; }
_describe() { print -l -- ${(P)2} | cut -d: -f1; }
source `+script+`
words=(nemo-migrate convert --); CURRENT=3; _nemo-migrate
print -- ---
words=(nemo-migrate co); CURRENT=2; _nemo-migrate`)
	i := slices.Index(got, "---")
	if i < 0 {
		t.Fatalf("no output: %q", got)
	}
	for _, f := range []string{"--input_path", "-i", "--model_id", "--dtype", "--dry-run"} {
		if !slices.Contains(got[:i], f) {
			t.Errorf("convert's specs lack %s: %q", f, got[:i])
		}
	}
	if !slices.Contains(got[i:], "convert") || !slices.Contains(got[i:], "config") {
		t.Errorf("commands offered: %q", got[i:])
	}
}

// Package oracle runs the real Python libraries (PyTorch, zarr,
// sentencepiece, OmegaConf) from tests, so that formats are proven against
// the code that defines them rather than against our own reader.
//
// Tests that need Python call [Python] or [Run]. When the interpreter or a
// module is missing the test is skipped, unless NEMO_MIGRATE_INTEROP=require
// is set (CI sets it), in which case the test fails. NEMO_MIGRATE_PYTHON
// names the interpreter; the default is /usr/bin/python3, Debian's, which
// is the one that sees python3-torch (torch 1.13 on Debian 12).
//
// Tests that also prove output against current torch call [Stacks], which
// returns the interpreters NEMO_MIGRATE_STACKS configures, a space-separated
// list of NAME=PYTHON (for example
// "torch-2.6=/var/cache/nemo-migrate/trixie/.python3"), and run scripts with
// [RunWith] or [RunErrWith]. .ci/chroot builds such interpreters (Debian
// chroots whose python3 sees the host's /tmp and this repository at the same
// paths) and .ci/run sets the variable.
//
// Every script runs with py/ on PYTHONPATH, where the helper modules are:
// torchshim.py (one DCP API over torch 1.13 and 2.x), nemo1fixture.py (the
// NeMo 1 fixture writer, host torch 1.13 only) and nemo2check.py (checks a
// converted NeMo 2 checkpoint, any torch).
package oracle

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var (
	mu      sync.Mutex
	checked = map[string]error{}
)

// Interpreter returns the Python interpreter path tests use.
func Interpreter() string {
	if p := os.Getenv("NEMO_MIGRATE_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

func required() bool { return os.Getenv("NEMO_MIGRATE_INTEROP") == "require" }

// Python checks that the interpreter can import every module named and
// returns its path; otherwise it skips t (or fails it when interop is
// required).
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	py := Interpreter()
	if err := importable(py, modules); err != nil {
		unavailable(t, err.Error()+" (install Debian's python3-torch python3-zarr ...; see .ci/run)")
	}
	return py
}

// unavailable skips t, or fails it when interop is required.
func unavailable(t testing.TB, why string) {
	t.Helper()
	if required() {
		t.Fatalf("interop required but unavailable: %s", why)
	}
	t.Skipf("interop test skipped: %s", why)
}

// importable reports whether py imports every module, once per
// interpreter and module list.
func importable(py string, modules []string) error {
	key := py + "\x00" + strings.Join(modules, ",")
	mu.Lock()
	defer mu.Unlock()
	if err, ok := checked[key]; ok {
		return err
	}
	script := "import " + strings.Join(append([]string{"sys"}, modules...), ", ")
	cmd := exec.Command(py, "-c", script)
	cmd.Env = env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		err = &importError{py: py, modules: modules, out: strings.TrimSpace(string(out)), err: err}
	}
	checked[key] = err
	return err
}

type importError struct {
	py      string
	modules []string
	out     string
	err     error
}

func (e *importError) Error() string {
	mods := strings.Join(e.modules, ", ")
	if mods == "" {
		mods = "sys"
	}
	s := e.py + " cannot import " + mods + ": " + e.err.Error()
	if l := lastLine(e.out); l != "" {
		s += ": " + l
	}
	return s
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// A Stack is one configured current-torch interpreter: Name labels it in
// test names (e.g. "torch-2.6"), Python is the interpreter to run.
type Stack struct{ Name, Python string }

// Stacks returns the stacks NEMO_MIGRATE_STACKS configures whose
// interpreter imports every module named, in the order given. When none is
// configured, or a configured one cannot import the modules, t is skipped
// (a stack that cannot import is left out when others can), or failed when
// NEMO_MIGRATE_INTEROP=require. A malformed variable always fails t.
func Stacks(t testing.TB, modules ...string) []Stack {
	t.Helper()
	stacks, missing := configured(t, modules)
	if len(missing) > 0 {
		why := "current torch stack unavailable: " + strings.Join(missing, "; ") + " (" + stackHint + ")"
		if required() || len(stacks) == 0 {
			unavailable(t, why)
		}
		t.Logf("interop stack skipped: %s", why)
	}
	return stacks
}

// StacksWith returns the configured stacks that import every module
// named, for libraries only some stacks carry (transformers is in sid
// only). Unlike Stacks, a stack without them is left out even when interop
// is required; t is skipped, or failed when it is required, only when no
// stack has them.
func StacksWith(t testing.TB, modules ...string) []Stack {
	t.Helper()
	stacks, missing := configured(t, modules)
	if len(stacks) == 0 && len(missing) > 0 {
		unavailable(t, "no current stack imports "+strings.Join(modules, ", ")+": "+strings.Join(missing, "; "))
	}
	return stacks
}

const stackHint = "build them with .ci/chroot and set NEMO_MIGRATE_STACKS=\"NAME=PYTHON ...\" as .ci/run does"

// configured parses NEMO_MIGRATE_STACKS and sorts its stacks into those
// that import modules and the reasons the others do not.
func configured(t testing.TB, modules []string) (stacks []Stack, missing []string) {
	t.Helper()
	v := strings.TrimSpace(os.Getenv("NEMO_MIGRATE_STACKS"))
	if v == "" {
		unavailable(t, "no current torch stack configured: "+stackHint)
		return nil, nil
	}
	for _, f := range strings.Fields(v) {
		name, py, ok := strings.Cut(f, "=")
		if !ok || name == "" || py == "" {
			t.Fatalf("NEMO_MIGRATE_STACKS: %q is not NAME=PYTHON", f)
		}
		if err := importable(py, modules); err != nil {
			missing = append(missing, name+": "+err.Error())
			continue
		}
		stacks = append(stacks, Stack{Name: name, Python: py})
	}
	return stacks, missing
}

// Dir is the directory holding the Python helper modules (torchshim.py,
// nemo1fixture.py, nemo2check.py), which every script gets on PYTHONPATH.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "py")
}

func env() []string {
	e := os.Environ()
	e = append(e, "PYTHONPATH="+Dir(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONHASHSEED=0")
	return e
}

// Run runs a Python script with arguments on [Interpreter] after checking
// that modules import, and returns its standard output. A failing script
// fails t with its standard error.
func Run(t testing.TB, modules []string, script string, args ...string) []byte {
	t.Helper()
	return RunWith(t, Interpreter(), modules, script, args...)
}

// RunErr is like Run but returns the error and standard error instead of
// failing, for tests that expect Python to reject something.
func RunErr(t testing.TB, modules []string, script string, args ...string) (stdout []byte, stderr string, err error) {
	t.Helper()
	return RunErrWith(t, Interpreter(), modules, script, args...)
}

// RunWith is Run on the interpreter python (a [Stack]'s, say).
func RunWith(t testing.TB, python string, modules []string, script string, args ...string) []byte {
	t.Helper()
	stdout, stderr, err := RunErrWith(t, python, modules, script, args...)
	if err != nil {
		t.Fatalf("python script failed (%s): %v\n--- stderr ---\n%s\n--- script ---\n%s", python, err, stderr, script)
	}
	return stdout
}

// RunErrWith is RunErr on the interpreter python. When python cannot
// import the modules t is skipped, or failed when interop is required.
func RunErrWith(t testing.TB, python string, modules []string, script string, args ...string) (stdout []byte, stderr string, err error) {
	t.Helper()
	if err := importable(python, modules); err != nil {
		unavailable(t, err.Error()+" (see .ci/run)")
	}
	cmd := exec.Command(python, append([]string{"-c", script}, args...)...)
	cmd.Env = env()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.Bytes(), e.String(), err
}

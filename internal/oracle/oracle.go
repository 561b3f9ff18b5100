// Package oracle runs the real Python libraries (PyTorch, zarr,
// sentencepiece, OmegaConf) from tests, so that formats are proven against
// the code that defines them rather than against our own reader.
//
// Tests that need Python call [Python] or [Run]. When the interpreter or a
// module is missing the test is skipped, unless NEMO_MIGRATE_INTEROP=require
// is set (CI sets it), in which case the test fails. NEMO_MIGRATE_PYTHON
// names the interpreter; the default is /usr/bin/python3, Debian's, which
// is the one that sees python3-torch.
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
	key := py + "\x00" + strings.Join(modules, ",")
	mu.Lock()
	err, ok := checked[key]
	if !ok {
		script := "import " + strings.Join(append([]string{"sys"}, modules...), ", ")
		cmd := exec.Command(py, "-c", script)
		cmd.Env = env()
		var out []byte
		out, err = cmd.CombinedOutput()
		if err != nil {
			err = &importError{py: py, modules: modules, out: strings.TrimSpace(string(out)), err: err}
		}
		checked[key] = err
	}
	mu.Unlock()
	if err != nil {
		if required() {
			t.Fatalf("interop required but unavailable: %v", err)
		}
		t.Skipf("interop test skipped: %v (install Debian's python3-torch python3-zarr ...; see .ci/run)", err)
	}
	return py
}

type importError struct {
	py      string
	modules []string
	out     string
	err     error
}

func (e *importError) Error() string {
	return e.py + " cannot import " + strings.Join(e.modules, ", ") + ": " + e.err.Error() + ": " + lastLine(e.out)
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Dir is the directory holding the Python helper modules (torchshim.py),
// which Run puts on PYTHONPATH.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "py")
}

func env() []string {
	e := os.Environ()
	e = append(e, "PYTHONPATH="+Dir(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONHASHSEED=0")
	return e
}

// Run runs a Python script with arguments after checking that modules
// import, and returns its standard output. A failing script fails t with
// its standard error.
func Run(t testing.TB, modules []string, script string, args ...string) []byte {
	t.Helper()
	stdout, stderr, err := RunErr(t, modules, script, args...)
	if err != nil {
		t.Fatalf("python script failed: %v\n--- stderr ---\n%s\n--- script ---\n%s", err, stderr, script)
	}
	return stdout
}

// RunErr is like Run but returns the error and standard error instead of
// failing, for tests that expect Python to reject something.
func RunErr(t testing.TB, modules []string, script string, args ...string) (stdout []byte, stderr string, err error) {
	t.Helper()
	py := Python(t, modules...)
	cmd := exec.Command(py, append([]string{"-c", script}, args...)...)
	cmd.Env = env()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.Bytes(), e.String(), err
}

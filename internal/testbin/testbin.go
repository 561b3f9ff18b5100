// Package testbin builds the nemo-migrate command once per test process,
// for tests that run the real binary as a user's shell would.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var built struct {
	once sync.Once
	path string
	err  error
}

// Path returns the path of a freshly built nemo-migrate, failing t if it
// does not build. Every caller in a process shares one build.
func Path(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "nemo-migrate-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "nemo-migrate")
		out, err := exec.Command("go", "build", "-o", built.path, "github.com/nemo-migrate/nemo-migrate/cmd/nemo-migrate").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

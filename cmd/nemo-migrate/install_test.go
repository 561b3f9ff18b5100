package main

import (
	"archive/zip"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoInstall installs the command the way the README tells users to,
// `go install MODULE/cmd/nemo-migrate@VERSION`, from a local module proxy
// that serves this checkout's tracked files as a release (the module's
// dependencies come from the module cache the test build already filled).
// The installed binary is static and reports that version.
func TestGoInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module from a zip")
	}
	const module, version = "github.com/nemo-migrate/nemo-migrate", "v0.0.1"
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	files, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("git ls-files: %v (needs a git checkout)", err)
	}
	proxy := t.TempDir()
	dir := filepath.Join(proxy, module, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	z, err := os.Create(filepath.Join(dir, version+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(z)
	for _, name := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join(root, name))
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		}
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(module + "@" + version + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	z.Close()
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, version+".mod"), gomod, 0o644)
	os.WriteFile(filepath.Join(dir, version+".info"), []byte(`{"Version":"`+version+`"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "list"), []byte(version+"\n"), 0o644)

	bin := t.TempDir()
	cmd := exec.Command("go", "install", module+"/cmd/nemo-migrate@"+version)
	cmd.Dir = t.TempDir() // outside any module
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOPROXY=file://"+filepath.ToSlash(proxy), "GOSUMDB=off",
		"GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(bin, "nemo-migrate"), "version").Output()
	if err != nil {
		t.Fatalf("installed binary: %v", err)
	}
	if !strings.HasPrefix(string(out), "nemo-migrate "+version+" ") {
		t.Errorf("version of the installed binary: %q, want nemo-migrate %s ...", out, version)
	}
	f, err := elf.Open(filepath.Join(bin, "nemo-migrate"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the installed binary asks for a dynamic loader: not static")
		}
	}
}

package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nemo-migrate/nemo-migrate/internal/testbin"
)

// TestInterruptedExitCodes: a run stopped by a signal exits 128 plus the
// signal (130 for Ctrl-C, 143 for SIGTERM), says so, and leaves nothing.
func TestInterruptedExitCodes(t *testing.T) {
	for sig, want := range map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143} {
		parent := t.TempDir()
		out := filepath.Join(parent, "out")
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(interrupted{sig})
		var o, e bytes.Buffer
		code := run(&env{ctx: ctx, stdout: &o, stderr: &e}, []string{"convert", "-i", example, "-o", out, "--model_id", "auto"})
		if code != want {
			t.Errorf("%v: exit %d, want %d (%s)", sig, code, want, &e)
		}
		if !strings.Contains(e.String(), "interrupted by") || !strings.Contains(e.String(), "nothing was written") {
			t.Errorf("%v: message %q does not say what happened", sig, &e)
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 0 {
			t.Errorf("%v: left %v", sig, entries)
		}
	}
}

// TestSignalToProcess sends SIGTERM to the real binary while it
// decompresses a large gzip .nemo: the spool stops, is removed, and the
// exit code is 143.
func TestSignalToProcess(t *testing.T) {
	dir := t.TempDir()
	bin := testbin.Path(t)
	in := filepath.Join(dir, "big.nemo")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	const size = 512 << 20
	tw.WriteHeader(&tar.Header{Name: "./model_weights/big", Size: size, Mode: 0o644})
	zero := make([]byte, 1<<20)
	for range size / len(zero) {
		tw.Write(zero)
	}
	tw.Close()
	zw.Close()
	f.Close()

	spool := t.TempDir()
	cmd := exec.Command(bin, "inspect", in)
	cmd.Env = append(os.Environ(), "TMPDIR="+spool)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	start := time.Now()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("SIGTERM did not end the run")
	}
	code := cmd.ProcessState.ExitCode()
	if code == 1 && !strings.Contains(stderr.String(), "interrupted") {
		t.Skipf("the run ended before the signal landed: %s", &stderr)
	}
	if code != 143 || !strings.Contains(stderr.String(), "interrupted by SIGTERM") {
		t.Errorf("exit %d after SIGTERM, want 143 and a message saying so: %s", code, &stderr)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("the run took %v to stop after SIGTERM", waited)
	}
	if entries, _ := os.ReadDir(spool); len(entries) != 0 {
		t.Errorf("the interrupted spool left %v", entries)
	}
}

// TestJSONErrors: with --json, an error is a JSON object on stdout, and
// every JSON output carries its schema version.
func TestJSONErrors(t *testing.T) {
	code, stdout, stderr := runCmd(t, "inspect", "/no/such/checkpoint", "--json")
	var got struct {
		Schema  int    `json:"schema"`
		Command string `json:"command"`
		Error   string `json:"error"`
	}
	if code != 1 || json.Unmarshal([]byte(stdout), &got) != nil || got.Error == "" || got.Command != "inspect" || got.Schema != jsonSchema {
		t.Errorf("inspect --json of a missing path: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, _ = runCmd(t, "inspect", example, "--json")
	if code != 0 || !strings.HasPrefix(stdout, "{\n  \"schema\": 1,") {
		t.Errorf("inspect --json does not start with the schema: %.80s", stdout)
	}
}

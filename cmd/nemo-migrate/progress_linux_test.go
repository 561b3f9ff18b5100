package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nemo-migrate/nemo-migrate/internal/testbin"
)

// openPTY opens a pseudo-terminal of the given width: the side a program
// writes to and the side that reads what it drew.
func openPTY(t *testing.T, cols uint16) (term, reader *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: cols}); err != nil {
		t.Fatal(err)
	}
	return s, m
}

// drawOn runs the binary with its stderr on a terminal of cols columns and
// returns what it drew there.
func drawOn(t *testing.T, cols uint16, env []string, args ...string) string {
	t.Helper()
	term, reader := openPTY(t, cols)
	cmd := exec.Command(testbin.Path(t), args...)
	cmd.Stderr = term
	cmd.Env = append(os.Environ(), env...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	term.Close()
	var drawn bytes.Buffer
	done := make(chan error)
	go func() {
		_, err := io.Copy(&drawn, reader)
		done <- err
	}()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, drawn.String())
	}
	if err := <-done; err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatal(err) // EIO: the program's side closed
	}
	reader.Close()
	return drawn.String()
}

// TestProgressOnTerminal: converting a gzip .nemo on a terminal draws a
// decompressing line and a converting line, each redraw fitting the
// terminal's width; on a dumb terminal, plain lines and no control codes.
func TestProgressOnTerminal(t *testing.T) {
	gz := filepath.Join(t.TempDir(), "tiny.nemo")
	data, err := os.ReadFile("../../examples/tiny-llama.nemo")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	os.WriteFile(gz, b.Bytes(), 0o644)
	convert := func() []string {
		return []string{"convert", "-i", gz, "-o", filepath.Join(t.TempDir(), "out"), "--model_id", "auto"}
	}
	noCols := "COLUMNS="

	for _, cols := range []uint16{40, 72, 150} {
		drawn := drawOn(t, cols, []string{"TERM=xterm", noCols}, convert()...)
		var labels []string
		for _, line := range strings.FieldsFunc(drawn, func(r rune) bool { return r == '\r' || r == '\n' }) {
			line = strings.ReplaceAll(line, "\x1b[K", "")
			if len(line) >= int(cols) {
				t.Errorf("%d columns: a redraw of %d columns would wrap: %q", cols, len(line), line)
			}
			if label, _, ok := strings.Cut(line, " "); ok && (len(labels) == 0 || labels[len(labels)-1] != label) {
				labels = append(labels, label)
			}
		}
		if strings.Join(labels, ",") != "decompressing,converting" {
			t.Errorf("%d columns: phases drawn %q, want decompressing then converting:\n%q", cols, labels, drawn)
		}
		if cols == 150 && !strings.Contains(drawn, "] 100%") {
			t.Errorf("150 columns: no bar at 100%%: %q", drawn)
		}
	}

	// The terminal turns each \n into \r\n (onlcr), as a real one does.
	drawn := strings.ReplaceAll(drawOn(t, 80, []string{"TERM=dumb", noCols}, convert()...), "\r\n", "\n")
	if strings.ContainsAny(drawn, "\r\x1b") {
		t.Errorf("TERM=dumb: control characters drawn: %q", drawn)
	}
	if !strings.Contains(drawn, "converting  100%") {
		t.Errorf("TERM=dumb: no plain progress line: %q", drawn)
	}

	if drawn := drawOn(t, 80, []string{"TERM=xterm", noCols}, append(convert(), "--no-progress")...); strings.Contains(drawn, "converting") {
		t.Errorf("--no-progress: progress drawn: %q", drawn)
	}
}

// Package outdir creates a command's output directory the safe way: it is
// checked before any work starts, built in a hidden sibling staging
// directory, and renamed into place only when complete, so an interrupted
// or failed run never leaves an output that looks usable.
package outdir

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Check refuses an output that would overlap the input, lose data (a
// non-empty directory without force) or cannot be created.
func Check(input, output string, force bool) error {
	if output == "" {
		return errors.New("no output path given")
	}
	in, err := filepath.Abs(input)
	if err != nil {
		return err
	}
	out, err := filepath.Abs(output)
	if err != nil {
		return err
	}
	if in == out || Within(out, in) || Within(in, out) {
		return fmt.Errorf("output %s overlaps input %s; choose a separate directory", output, input)
	}
	st, err := os.Stat(output)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Dir(out)); err != nil {
			return fmt.Errorf("output's parent directory: %w", err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("output %s exists and is not a directory", output)
	}
	entries, err := os.ReadDir(output)
	if err != nil {
		return err
	}
	if len(entries) > 0 && !force {
		return fmt.Errorf("output %s already exists and is not empty; choose a new path or pass --force to replace it", output)
	}
	return nil
}

// Within reports whether p lies strictly inside dir.
func Within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !filepath.IsAbs(rel) && (len(rel) < 3 || rel[:3] != "../")
}

// Staging creates a hidden sibling of out to build the output in, so the
// final rename stays on one filesystem.
func Staging(out string) (string, error) {
	var b [6]byte
	rand.Read(b[:])
	out = filepath.Clean(out)
	dir := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".nemo-migrate-"+hex.EncodeToString(b[:]))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating the staging directory: %w", err)
	}
	return dir, nil
}

// Commit moves the finished staging directory to out, replacing an
// existing directory (Check has refused a non-empty one without force).
func Commit(staging, out string) error {
	if _, err := os.Stat(out); err == nil {
		old := staging + ".old"
		if err := os.Rename(out, old); err != nil {
			return fmt.Errorf("moving the existing %s aside: %w", out, err)
		}
		if err := os.Rename(staging, out); err != nil {
			os.Rename(old, out)
			return fmt.Errorf("moving the new output into place: %w", err)
		}
		return os.RemoveAll(old)
	}
	if err := os.Rename(staging, out); err != nil {
		return fmt.Errorf("moving the new output into place: %w", err)
	}
	if d, err := os.Open(filepath.Dir(out)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Build creates out by running build on a fresh staging directory and
// committing it when build succeeds and ctx is still live; on any failure
// the staging directory is removed, so nothing that looks complete is left.
func Build(ctx context.Context, out string, build func(staging string) error) error {
	staging, err := Staging(out)
	if err != nil {
		return err
	}
	if err := build(staging); err != nil {
		os.RemoveAll(staging)
		return err
	}
	if err := ctx.Err(); err != nil {
		os.RemoveAll(staging)
		return err
	}
	if err := Commit(staging, out); err != nil {
		os.RemoveAll(staging)
		return err
	}
	return nil
}

// Package fingerprint notices when a checkpoint changes under a running
// command. A conversion reads its input over minutes or hours; a copy
// still being written, or a training job saving into the same directory,
// would give an output that mixes two checkpoints and still verifies
// against whatever the input has become. Take records every file's
// identity before the run and Check compares it again before the output
// is committed.
package fingerprint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// MaxFiles bounds how many files a fingerprint records; a checkpoint with
// more (a zarr store has one file per chunk) is refused as not a
// checkpoint rather than walked without end.
const MaxFiles = 1 << 22

// Print is the recorded state of a file or a directory tree.
type Print struct {
	root  string
	files map[string]state
}

type state struct {
	size  int64
	mtime time.Time
	sys   sysState // inode, device and change time where the OS has them
}

// Take records path: the file, or for a directory every file under it.
// Symbolic links are recorded as themselves, not followed.
func Take(path string) (*Print, error) {
	p := &Print{root: path, files: map[string]state{}}
	err := p.walk(func(rel string, info fs.FileInfo) error {
		if len(p.files) >= MaxFiles {
			return fmt.Errorf("%s holds more than %d files", path, MaxFiles)
		}
		p.files[rel] = stateOf(info)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Print) walk(fn func(rel string, info fs.FileInfo) error) error {
	info, err := os.Lstat(p.root)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fn(".", info)
	}
	return filepath.WalkDir(p.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(p.root, path)
		if err != nil {
			return err
		}
		return fn(rel, info)
	})
}

// ErrChanged is wrapped by Check's error when the input moved.
var ErrChanged = errors.New("the input changed while it was being read")

// Check reports the first difference between path now and when it was
// taken: a file added, removed, resized, rewritten or replaced.
func (p *Print) Check() error {
	seen := 0
	err := p.walk(func(rel string, info fs.FileInfo) error {
		old, ok := p.files[rel]
		if !ok {
			return fmt.Errorf("%w: %s appeared", ErrChanged, p.name(rel))
		}
		seen++
		now := stateOf(info)
		switch {
		case now.size != old.size:
			return fmt.Errorf("%w: %s is now %d bytes, was %d", ErrChanged, p.name(rel), now.size, old.size)
		case !now.mtime.Equal(old.mtime) || now.sys != old.sys:
			return fmt.Errorf("%w: %s was modified or replaced", ErrChanged, p.name(rel))
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrChanged, err)
	}
	if err != nil {
		return err
	}
	if seen != len(p.files) {
		for rel := range p.files {
			if _, err := os.Lstat(filepath.Join(p.root, rel)); err != nil {
				return fmt.Errorf("%w: %s was removed", ErrChanged, p.name(rel))
			}
		}
		return fmt.Errorf("%w: %d files were removed", ErrChanged, len(p.files)-seen)
	}
	return nil
}

func (p *Print) name(rel string) string {
	if rel == "." {
		return p.root
	}
	return filepath.Join(p.root, rel)
}

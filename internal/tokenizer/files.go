package tokenizer

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MaxFileSize is the largest tokenizer file read, copied or downloaded.
// The largest real ones are tokenizer.json files of about 35 MiB (Gemma 3).
const MaxFileSize = 64 << 20

// errTooLarge is wrapped by every size-limit error.
var errTooLarge = errors.New("file too large")

func tooLarge(size, limit int64) error {
	return fmt.Errorf("%w: %d bytes, the limit is %d", errTooLarge, size, limit)
}

// writeFile copies at most limit bytes from r to dst through a temporary
// file in dst's directory, synced and renamed into place, so that dst
// either holds the complete contents or does not exist. More than limit
// bytes is an error. Unless overwrite is set an existing dst is an error.
func writeFile(dst string, r io.Reader, limit int64, overwrite bool) (err error) {
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !overwrite {
		if _, err := os.Lstat(dst); err == nil {
			return fmt.Errorf("%s already exists", dst)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, io.LimitReader(r, limit+1))
	if err != nil {
		return err
	}
	if n > limit {
		return tooLarge(n, limit)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if overwrite {
		return os.Rename(tmp.Name(), dst)
	}
	// A hard link fails if dst appeared meanwhile, which a rename would
	// silently replace.
	if err := os.Link(tmp.Name(), dst); err == nil {
		return os.Remove(tmp.Name())
	} else if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists", dst)
	}
	return os.Rename(tmp.Name(), dst)
}

// statRegular checks that name inside root is a regular file of at most
// limit bytes, following symbolic links only while they stay inside root.
// Devices, pipes, sockets and directories are refused without being
// opened, so a FIFO cannot block the caller.
func statRegular(root *os.Root, name string, limit int64) (fs.FileInfo, error) {
	st, err := root.Stat(name)
	if err != nil {
		if lst, lerr := root.Lstat(name); lerr == nil && lst.Mode()&fs.ModeSymlink != 0 {
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return nil, errors.New("broken symbolic link")
			case strings.Contains(err.Error(), "escapes"):
				// os.Root's error for this is not exported.
				return nil, fmt.Errorf("refusing a symbolic link that leads outside %s", root.Name())
			}
		}
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file but %s", fileKind(st.Mode()))
	}
	if st.Size() > limit {
		return nil, tooLarge(st.Size(), limit)
	}
	return st, nil
}

// regularFile opens name inside root after statRegular's checks, and
// makes sure the file opened is the one checked.
func regularFile(root *os.Root, name string, limit int64) (*os.File, fs.FileInfo, error) {
	st, err := statRegular(root, name, limit)
	if err != nil {
		return nil, nil, err
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	st2, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !os.SameFile(st, st2) {
		f.Close()
		return nil, nil, fmt.Errorf("%s changed while it was opened", name)
	}
	return f, st2, nil
}

// readAllLimited reads r to the end, failing when it holds more than limit
// bytes.
func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(int64(len(data)), limit)
	}
	return data, nil
}

// openRegular opens path after checking that it is a regular file of at
// most limit bytes; like regularFile it refuses anything else before
// opening it.
func openRegular(path string, limit int64) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file but %s", path, fileKind(st.Mode()))
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %w", path, tooLarge(st.Size(), limit))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st2, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !os.SameFile(st, st2) {
		f.Close()
		return nil, fmt.Errorf("%s changed while it was opened", path)
	}
	return f, nil
}

// readRegular reads the regular file at path, of at most limit bytes.
func readRegular(path string, limit int64) ([]byte, error) {
	f, err := openRegular(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readAllLimited(f, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "an irregular file"
}

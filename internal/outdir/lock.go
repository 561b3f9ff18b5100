package outdir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// lockFile is an exclusive advisory lock held through an open file. The
// kernel drops it when the process dies, however it dies, so a killed run
// never leaves the output locked.
type lockFile struct {
	f    *os.File
	path string
}

// ErrLocked is wrapped by Begin's error when another run holds the lock.
var ErrLocked = errors.New("another nemo-migrate run is writing this output")

// acquire takes the lock at path, creating the file. It does not wait: a
// second run on one output fails at once rather than queueing behind an
// hours-long conversion.
func acquire(path string) (*lockFile, error) {
	for range 10 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("creating the lock file: %w", err)
		}
		if err := tryLock(f); err != nil {
			f.Close()
			if errors.Is(err, errWouldBlock) {
				if o, ok := readOwner(path); ok {
					return nil, fmt.Errorf("%w (%s); wait for it to finish or stop it", ErrLocked, o)
				}
				return nil, fmt.Errorf("%w; wait for it to finish or stop it", ErrLocked)
			}
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		// The holder before us may have removed the file between our open
		// and our lock; then we hold a lock nobody else can see.
		fst, err1 := f.Stat()
		pst, err2 := os.Stat(path)
		if err1 != nil || err2 != nil || !os.SameFile(fst, pst) {
			f.Close()
			continue
		}
		b, _ := json.Marshal(currentOwner())
		f.Truncate(0)
		f.Write(append(b, '\n'))
		return &lockFile{f: f, path: path}, nil
	}
	return nil, fmt.Errorf("locking %s: the lock file keeps changing", path)
}

// release removes the lock file and then unlocks, in that order, so that
// a run waiting to open it either sees no file or a file it can lock.
func (l *lockFile) release() {
	if l == nil || l.f == nil {
		return
	}
	os.Remove(l.path)
	l.f.Close()
	l.f = nil
}

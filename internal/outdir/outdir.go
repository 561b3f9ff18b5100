// Package outdir creates a command's output directory the safe way: it is
// checked before any work starts, built in a hidden sibling staging
// directory, and renamed into place only when complete, so an interrupted
// or failed run never leaves an output that looks usable.
package outdir

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nemo-migrate/nemo-migrate/internal/bytesize"
	"github.com/nemo-migrate/nemo-migrate/internal/fingerprint"
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
		// A missing parent is created by Begin, as NeMo's converter does;
		// what must exist is a directory to create it in.
		if _, err := existingAncestor(filepath.Dir(out)); err != nil {
			return fmt.Errorf("output %s: %w", output, err)
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

// Run is one command's claim on an output directory: the lock that keeps
// other runs off it and the staging directory the output is built in.
type Run struct {
	Out     string // the output directory
	Staging string // where the output is built; renamed to Out by Commit

	// Cleaned describes what earlier, killed runs on Out had left
	// behind and Begin removed (or restored), for the caller to report.
	Cleaned []string

	force bool
	lock  *lockFile
	spool string
	input *fingerprint.Print // set by Start
	done  bool
}

// Start begins a command's run from input to out: Check, then Begin, then
// a fingerprint of the input that CommitUnchanged compares again.
func Start(input, out string, force bool) (*Run, error) {
	if err := Check(input, out, force); err != nil {
		return nil, err
	}
	r, err := Begin(out, force)
	if err != nil {
		return nil, err
	}
	if r.input, err = fingerprint.Take(input); err != nil {
		r.Abort()
		return nil, fmt.Errorf("input: %w", err)
	}
	return r, nil
}

// SpoolDir returns dir, or when it is empty the run's own Spool.
func (r *Run) SpoolDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	return r.Spool()
}

// Spool returns a directory beside the staging directory for temporary
// files the run needs (a decompressed .nemo), created on first use. It
// is removed when the run ends, and a killed run's is removed with its
// staging directory.
func (r *Run) Spool() (string, error) {
	if r.spool == "" {
		dir := r.Staging + ".spool"
		if err := os.Mkdir(dir, 0o755); err != nil {
			return "", fmt.Errorf("creating the spool directory: %w", err)
		}
		r.spool = dir
	}
	return r.spool, nil
}

func (r *Run) removeSpool() {
	if r.spool != "" {
		os.RemoveAll(r.spool)
	}
}

// Begin claims out for this process: it takes the output's lock (failing
// at once if another run holds it), removes the staging directories of
// earlier runs that were killed before they finished, and creates a fresh
// staging directory beside out, so the final rename stays on one
// filesystem. With force, Commit may replace an existing out.
func Begin(out string, force bool) (*Run, error) {
	out = filepath.Clean(out)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, fmt.Errorf("creating the output's parent directory: %w", err)
	}
	lock, err := acquire(lockPath(out))
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", out, err)
	}
	r := &Run{Out: out, force: force, lock: lock}
	if err := r.cleanStale(); err != nil {
		lock.release()
		return nil, err
	}
	var b [6]byte
	rand.Read(b[:])
	r.Staging = stagingPrefix(out) + hex.EncodeToString(b[:])
	if err := os.Mkdir(r.Staging, 0o755); err != nil {
		lock.release()
		return nil, fmt.Errorf("creating the staging directory: %w", err)
	}
	if err := writeOwner(r.Staging); err != nil {
		os.RemoveAll(r.Staging)
		lock.release()
		return nil, err
	}
	return r, nil
}

func stagingPrefix(out string) string {
	return filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".nemo-migrate-")
}

func lockPath(out string) string { return stagingPrefix(out) + "lock" }

// ownerFile records, inside a staging directory, which process builds it,
// so that a later run can say whose leftovers it removes.
const ownerFile = ".nemo-migrate-owner"

type owner struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host"`
	Start time.Time `json:"start"`
}

func currentOwner() owner {
	host, _ := os.Hostname()
	return owner{PID: os.Getpid(), Host: host, Start: time.Now().UTC().Truncate(time.Second)}
}

func (o owner) String() string {
	return fmt.Sprintf("pid %d on %s, started %s", o.PID, o.Host, o.Start.Format(time.RFC3339))
}

func writeOwner(dir string) error {
	b, _ := json.Marshal(currentOwner())
	if err := os.WriteFile(filepath.Join(dir, ownerFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("recording the staging directory's owner: %w", err)
	}
	return nil
}

func readOwner(path string) (owner, bool) {
	var o owner
	b, err := os.ReadFile(path)
	if err != nil || len(b) > 4096 || json.Unmarshal(b, &o) != nil {
		return owner{}, false
	}
	return o, true
}

// cleanStale removes what killed runs on r.Out left. Every run on Out
// holds its lock for as long as its staging directory lives, so while
// this run holds it any other staging directory is a dead run's. A
// directory moved aside by an interrupted replace is put back if Out is
// missing, so a kill at that instant loses nothing.
func (r *Run) cleanStale() error {
	prefix := stagingPrefix(r.Out)
	matches, err := filepath.Glob(globEscape(prefix) + "*")
	if err != nil {
		return err
	}
	for _, m := range matches {
		if m == lockPath(r.Out) {
			continue
		}
		st, err := os.Lstat(m)
		if err != nil || !st.IsDir() {
			continue
		}
		who := "an earlier run"
		if o, ok := readOwner(filepath.Join(m, ownerFile)); ok {
			who = "the run of " + o.String()
		}
		if strings.HasSuffix(m, oldSuffix) {
			if _, err := os.Lstat(r.Out); errors.Is(err, fs.ErrNotExist) {
				if err := os.Rename(m, r.Out); err != nil {
					return fmt.Errorf("restoring %s from %s: %w", r.Out, m, err)
				}
				r.Cleaned = append(r.Cleaned, fmt.Sprintf("restored %s, which %s had moved aside to replace and was killed before it could", r.Out, who))
				continue
			}
		}
		if err := os.RemoveAll(m); err != nil {
			return fmt.Errorf("removing %s, left by %s: %w", m, who, err)
		}
		r.Cleaned = append(r.Cleaned, fmt.Sprintf("removed %s, left by %s, which did not finish", filepath.Base(m), who))
	}
	return nil
}

// globEscape quotes the glob metacharacters of a literal path.
func globEscape(p string) string {
	var b strings.Builder
	for _, c := range p {
		if strings.ContainsRune(`*?[\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

const oldSuffix = ".old"

// Commit moves the finished staging directory to Out. Without force it
// never replaces anything: an Out that appeared since Check (other than an
// empty directory) fails the commit. With force an existing Out is moved
// aside first and removed once the new one is in place.
func (r *Run) Commit() error {
	if r.done {
		return errors.New("outdir: run already ended")
	}
	if err := os.Remove(filepath.Join(r.Staging, ownerFile)); err != nil {
		return fmt.Errorf("finishing the staging directory: %w", err)
	}
	var old string
	if st, err := os.Lstat(r.Out); err == nil {
		switch {
		case st.IsDir() && isEmptyDir(r.Out):
			if err := os.Remove(r.Out); err != nil {
				return fmt.Errorf("replacing the empty %s: %w", r.Out, err)
			}
		case !r.force:
			return fmt.Errorf("output %s appeared while this run was writing it; nothing was replaced (pass --force to replace it)", r.Out)
		default:
			old = r.Staging + oldSuffix
			if err := os.Rename(r.Out, old); err != nil {
				return fmt.Errorf("moving the existing %s aside: %w", r.Out, err)
			}
		}
	}
	if err := renameNoReplace(r.Staging, r.Out); err != nil {
		if old != "" {
			os.Rename(old, r.Out)
		}
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("output %s appeared while this run was writing it; nothing was replaced", r.Out)
		}
		return fmt.Errorf("moving the new output into place: %w", err)
	}
	r.done = true
	r.removeSpool()
	if old != "" {
		os.RemoveAll(old)
	}
	if d, err := os.Open(filepath.Dir(r.Out)); err == nil {
		d.Sync()
		d.Close()
	}
	r.lock.release()
	return nil
}

// CommitUnchanged commits unless ctx is done or the input has changed
// since Start took its fingerprint: an input rewritten while it was read
// (a copy still arriving, a save into the same directory) would give an
// output of two checkpoints.
func (r *Run) CommitUnchanged(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.input == nil {
		return errors.New("outdir: CommitUnchanged on a run not made by Start")
	}
	if err := r.input.Check(); err != nil {
		return fmt.Errorf("%w; nothing was written", err)
	}
	return r.Commit()
}

// Abort removes the staging directory and releases the lock, unless
// Commit has succeeded. It is safe to defer.
func (r *Run) Abort() {
	if r.done {
		return
	}
	r.done = true
	os.RemoveAll(r.Staging)
	r.removeSpool()
	r.lock.release()
}

func isEmptyDir(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	return errors.Is(err, io.EOF)
}

// CheckSpace refuses a run whose output needs more bytes than the
// filesystem that will hold out has free, before anything is written. A
// replaced output is removed only after the new one is in place, so its
// space does not count.
func CheckSpace(out string, need int64) error {
	dir, err := existingAncestor(filepath.Dir(filepath.Clean(out)))
	if err != nil {
		return err
	}
	free := FreeSpace(dir)
	if free >= 0 && need > free {
		return fmt.Errorf("output %s needs %s, but %s has %s free; free some space or choose another output", out, bytesize.Format(need), dir, bytesize.Format(free))
	}
	return nil
}

// Preflight runs, without writing anything that stays, every check a real
// run makes before it starts writing: the output's place (Check), that its
// parent directory accepts new files, and free space for need bytes. Dry
// runs use it so that they fail where the real run would.
func Preflight(input, out string, force bool, need int64) error {
	if err := Check(input, out, force); err != nil {
		return err
	}
	dir, err := existingAncestor(filepath.Dir(filepath.Clean(out)))
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".nemo-migrate-probe-*")
	if err != nil {
		return fmt.Errorf("output %s: cannot create files in %s: %w", out, dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return CheckSpace(out, need)
}

// existingAncestor returns dir or its nearest ancestor that exists, which
// must be a directory.
func existingAncestor(dir string) (string, error) {
	for {
		st, err := os.Stat(dir)
		if err == nil {
			if !st.IsDir() {
				return "", fmt.Errorf("%s is not a directory", dir)
			}
			return dir, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", err
		}
		dir = up
	}
}

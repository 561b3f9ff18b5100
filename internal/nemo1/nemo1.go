// Package nemo1 opens NeMo 1.0 checkpoints: a .nemo file (a plain tar, or a
// gzip-compressed one as NeMo wrote before 1.7), the directory such a file
// extracts to, or a bare model_weights/ distributed checkpoint.
//
// NeMo 1.0 writes a .nemo with tarfile.open(path, "w:") and
// add(dir, arcname="."), so members are named "./model_config.yaml",
// "./model_weights/...", and artifacts (tokenizer files) sit at the root as
// "<32 hex>_<basename>", referenced from the config as "nemo:<name>".
package nemo1

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/nemo-migrate/nemo-migrate/internal/outdir"
	"github.com/nemo-migrate/nemo-migrate/internal/tarfs"
)

// Kind says what form of checkpoint was opened.
type Kind int

// The forms a NeMo 1.0 checkpoint comes in.
const (
	Archive          Kind = iota // a plain-tar .nemo, read in place
	GzipArchive                  // a gzip-compressed .nemo, decompressed once to a spool file
	Directory                    // an extracted .nemo
	WeightsDirectory             // a bare model_weights/ distributed checkpoint
)

func (k Kind) String() string {
	switch k {
	case Archive:
		return "tar archive"
	case GzipArchive:
		return "gzip-compressed tar archive"
	case Directory:
		return "extracted .nemo directory"
	case WeightsDirectory:
		return "bare model_weights directory"
	}
	return "unknown"
}

// ConfigName is the model config file's name inside a .nemo.
const ConfigName = "model_config.yaml"

// WeightsName is the distributed checkpoint's directory inside a .nemo.
const WeightsName = "model_weights"

// ErrLegacy is wrapped by errors for NeMo 1.0 checkpoints saved without
// Megatron-Core distributed checkpointing, which NeMo 2.0 cannot load.
var ErrLegacy = errors.New("nemo1: legacy (non-distributed) checkpoint")

// ErrNotCheckpoint is wrapped by errors for paths that are no NeMo 1.0
// checkpoint at all.
var ErrNotCheckpoint = errors.New("nemo1: not a NeMo 1.0 checkpoint")

// Options tune Open.
type Options struct {
	// SpoolDir is where a gzip-compressed archive is decompressed to (one
	// sequential pass) so its members can be read at random. Default:
	// os.TempDir().
	SpoolDir string

	// Progress, if set, is told how many compressed bytes were read while
	// spooling.
	Progress func(done, total int64)

	// Context, if set, stops a spool in progress when it is done (Ctrl-C
	// during the decompression of a large gzip .nemo).
	Context context.Context
}

// Checkpoint is an opened NeMo 1.0 checkpoint.
type Checkpoint struct {
	Path string
	Kind Kind

	// FS is rooted at the archive or directory root. Files opened from it
	// implement io.ReaderAt.
	FS fs.FS

	// WeightsDir is the distributed checkpoint's directory within FS:
	// "model_weights", or "." for a bare weights directory.
	WeightsDir string

	// ConfigPath is model_config.yaml's path within FS, or "" when the
	// checkpoint has none (a bare weights directory).
	ConfigPath string

	// Size is the input's size in bytes (the archive, or the sum of the
	// directory's files).
	Size int64

	cleanup []func() error
}

// Close releases the archive and removes any spool file.
func (c *Checkpoint) Close() error {
	var errs []error
	for i := len(c.cleanup) - 1; i >= 0; i-- {
		errs = append(errs, c.cleanup[i]())
	}
	c.cleanup = nil
	return errors.Join(errs...)
}

// Open opens the checkpoint at path.
func Open(name string, opts Options) (*Checkpoint, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return openDir(name)
	}
	return openArchive(name, st.Size(), opts)
}

func openDir(name string) (*Checkpoint, error) {
	root, err := os.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{Path: name, FS: root.FS(), cleanup: []func() error{root.Close}}
	switch {
	case exists(c.FS, "metadata.json") || exists(c.FS, ".metadata"):
		c.Kind, c.WeightsDir = WeightsDirectory, "."
	case exists(c.FS, WeightsName):
		c.Kind, c.WeightsDir = Directory, WeightsName
		if exists(c.FS, ConfigName) {
			c.ConfigPath = ConfigName
		}
	case exists(c.FS, "weights") && exists(c.FS, "context"):
		c.Close()
		return nil, fmt.Errorf("%w: %s is already a NeMo 2.0 checkpoint (weights/ and context/); inspect or verify it instead", ErrNotCheckpoint, name)
	default:
		if err := checkLegacy(c.FS); err != nil {
			c.Close()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		c.Close()
		return nil, fmt.Errorf("%w: %s has neither %s/ nor a distributed checkpoint's metadata.json; give a .nemo file, its extracted directory, or its model_weights directory", ErrNotCheckpoint, name, WeightsName)
	}
	c.Size = dirSize(c.FS)
	if err := checkLegacy(c.FS); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

func openArchive(name string, size int64, opts Options) (*Checkpoint, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	var head [tarMagicEnd]byte
	n, _ := io.ReadFull(f, head[:])
	f.Seek(0, io.SeekStart)
	c := &Checkpoint{Path: name, Size: size}
	tarPath := name
	if n >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		c.Kind = GzipArchive
		spool, err := spoolGzip(f, size, opts)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		tarPath = spool
		c.cleanup = append(c.cleanup, func() error { return os.Remove(spool) })
	} else {
		f.Close()
		c.Kind = Archive
	}
	tf, err := os.Open(tarPath)
	if err != nil {
		c.Close()
		return nil, err
	}
	t, err := tarfs.OpenFile(tf)
	if err != nil {
		c.Close()
		// A file cut short is a truncated archive only if it began as
		// one; anything else is named for what it is not.
		if c.Kind == Archive && !errors.Is(err, tarfs.ErrUnsafe) && (!errors.Is(err, io.ErrUnexpectedEOF) || !isTarHeader(head[:n])) {
			return nil, fmt.Errorf("%w: %s is neither a tar nor a gzip file (a .nemo is one of those)", ErrNotCheckpoint, name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c.cleanup = append(c.cleanup, t.Close)
	c.FS = t
	if err := c.locate(); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// tarMagicEnd is where a POSIX tar header's "ustar" magic ends.
const tarMagicEnd = 262

// isTarHeader reports whether b begins with a ustar, pax or GNU tar header
// (what Python's tarfile writes), by its magic at offset 257.
func isTarHeader(b []byte) bool {
	return len(b) >= tarMagicEnd && string(b[257:tarMagicEnd]) == "ustar"
}

// locate finds model_config.yaml and model_weights/ inside an archive.
func (c *Checkpoint) locate() error {
	if err := checkLegacy(c.FS); err != nil {
		return err
	}
	// NeMo accepts exactly one member ending in model_config.yaml.
	var configs []string
	fs.WalkDir(c.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ConfigName) && !strings.Contains(p, WeightsName+"/") {
			configs = append(configs, p)
		}
		return nil
	})
	switch len(configs) {
	case 0:
	case 1:
		c.ConfigPath = configs[0]
	default:
		return fmt.Errorf("%w: %d files named like %s (%s); NeMo requires exactly one", ErrNotCheckpoint, len(configs), ConfigName, strings.Join(configs, ", "))
	}
	prefix := "."
	if c.ConfigPath != "" {
		prefix = path.Dir(c.ConfigPath)
	}
	wd := path.Join(prefix, WeightsName)
	if !isDir(c.FS, wd) {
		if exists(c.FS, "metadata.json") {
			c.WeightsDir = "."
			return nil
		}
		return fmt.Errorf("%w: no %s/ directory in the archive", ErrNotCheckpoint, WeightsName)
	}
	c.WeightsDir = wd
	return nil
}

// checkLegacy explains checkpoints saved without distributed checkpointing.
func checkLegacy(fsys fs.FS) error {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil
	}
	for _, e := range entries {
		n := e.Name()
		switch {
		case n == "model_weights.ckpt",
			strings.HasPrefix(n, "mp_rank_"),
			strings.HasPrefix(n, "tp_rank_") && strings.Contains(n, "_pp_rank_"):
			if exists(fsys, WeightsName) {
				continue
			}
			return fmt.Errorf("%w: found %s. This checkpoint was saved without Megatron-Core distributed checkpointing (mcore_gpt: false or an older NeMo), and NeMo 2.0 loads only distributed checkpoints. Load it in NeMo 1.x with mcore_gpt=true and save it again (NeMo >= 1.23 saves model_weights/ as a distributed checkpoint), then convert that", ErrLegacy, n)
		}
	}
	return nil
}

// ReadConfig returns model_config.yaml's bytes, capped at 16 MiB.
func (c *Checkpoint) ReadConfig() ([]byte, error) {
	if c.ConfigPath == "" {
		return nil, fmt.Errorf("%s: no %s (a bare weights directory has none)", c.Path, ConfigName)
	}
	return readCapped(c.FS, c.ConfigPath, 16<<20)
}

// Artifact resolves a config value such as "nemo:3f2a..._tokenizer.model"
// to a path within FS. Artifacts sit next to model_config.yaml.
func (c *Checkpoint) Artifact(ref string) (string, error) {
	name := strings.TrimPrefix(ref, "nemo:")
	if name == "" || strings.Contains(name, "/") && !fs.ValidPath(name) {
		return "", fmt.Errorf("%s: artifact reference %q is not a file name", c.Path, ref)
	}
	dir := "."
	if c.ConfigPath != "" {
		dir = path.Dir(c.ConfigPath)
	}
	p := path.Join(dir, path.Base(name))
	if !exists(c.FS, p) {
		return "", fmt.Errorf("%s: artifact %q is not in the checkpoint", c.Path, ref)
	}
	return p, nil
}

func readCapped(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return b, nil
}

func exists(fsys fs.FS, name string) bool {
	_, err := fs.Stat(fsys, name)
	return err == nil
}

func isDir(fsys fs.FS, name string) bool {
	st, err := fs.Stat(fsys, name)
	return err == nil && st.IsDir()
}

func dirSize(fsys fs.FS) int64 {
	var n int64
	fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// spoolGzip decompresses a gzip .nemo in one sequential pass into a
// temporary plain tar, so members can then be read at random. The tar
// headers are read as they stream past: a member the archive could not
// hold (a link, a name outside it) stops the pass at once, the end of
// the archive ends it (a gzip of zeros is an empty tar, not gigabytes to
// spool), and a member larger than the spool filesystem's free space is
// refused before it is written.
func spoolGzip(f *os.File, size int64, opts Options) (string, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	var src io.Reader = bufio.NewReaderSize(f, 1<<20)
	if opts.Progress != nil {
		src = &progressReader{r: src, total: size, fn: opts.Progress}
	}
	zr, err := gzip.NewReader(src)
	if err != nil {
		return "", fmt.Errorf("gzip: %w", err)
	}
	zr.Multistream(true)
	var plain io.Reader = zr
	if opts.Context != nil {
		plain = ctxReader{opts.Context, zr}
	}
	dir := opts.SpoolDir
	if dir == "" {
		dir = os.TempDir()
	}
	out, err := os.CreateTemp(dir, "nemo-migrate-spool-*.tar")
	if err != nil {
		return "", fmt.Errorf("spooling the decompressed archive: %w", err)
	}
	fail := func(err error) (string, error) {
		out.Close()
		os.Remove(out.Name())
		return "", err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	tr := tar.NewReader(io.TeeReader(plain, errWriter{w}))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var werr *spoolWriteError
			switch {
			case opts.Context != nil && opts.Context.Err() != nil:
				return fail(opts.Context.Err())
			case errors.As(err, &werr):
				return fail(fmt.Errorf("decompressing into %s: %w", dir, werr.err))
			case errors.Is(err, io.ErrUnexpectedEOF):
				return fail(fmt.Errorf("gzip stream truncated: %w", err))
			case errors.Is(err, tar.ErrHeader):
				return fail(fmt.Errorf("%w: the gzip stream does not hold a tar archive (%v)", ErrNotCheckpoint, err))
			}
			return fail(fmt.Errorf("decompressing: %w", err))
		}
		if _, err := tarfs.CheckHeader(h); err != nil {
			return fail(err)
		}
		if free := outdir.FreeSpace(dir); free >= 0 && h.Size > free {
			return fail(fmt.Errorf("spooling the decompressed archive: %s is %d bytes, but %s has %d bytes free (pass --spool-dir to decompress elsewhere)", h.Name, h.Size, dir, free))
		}
	}
	if err := w.Flush(); err != nil {
		return fail(fmt.Errorf("decompressing into %s: %w", dir, err))
	}
	if err := out.Close(); err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

// ctxReader stops reading once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// errWriter passes writes on, marking a write error so that it is told
// from a read error when the tar reader above hands it back.
type errWriter struct{ w io.Writer }

type spoolWriteError struct{ err error }

func (e *spoolWriteError) Error() string { return e.err.Error() }
func (e *spoolWriteError) Unwrap() error { return e.err }

func (e errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil {
		return n, &spoolWriteError{err}
	}
	return n, nil
}

type progressReader struct {
	r     io.Reader
	done  int64
	total int64
	fn    func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	p.fn(p.done, p.total)
	return n, err
}

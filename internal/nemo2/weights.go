package nemo2

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/dcp"
	"github.com/nemo-migrate/nemo-migrate/internal/distckpt"
	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
	"github.com/nemo-migrate/nemo-migrate/internal/torchsave"
)

// WeightsDir is the name of the weights directory in a NeMo 2 checkpoint.
const WeightsDir = "weights"

// WeightsWriter writes a weights/ directory. Items are either copied in
// whole files from a torch_dist source (CopyFile, then Record*) or written
// into files the writer owns (File). Finish writes the index, common.pt
// and, last, metadata.json.
type WeightsWriter struct {
	dir   string
	md    dcp.Metadata
	files map[string]bool // names already used
	open  []*ItemFile
	done  bool
}

// NewWeightsWriter creates dir (which must not exist) and returns a writer
// for it.
func NewWeightsWriter(dir string) (*WeightsWriter, error) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	return &WeightsWriter{dir: dir, files: map[string]bool{}}, nil
}

// Dir returns the directory being written.
func (w *WeightsWriter) Dir() string { return w.dir }

func (w *WeightsWriter) claim(name string) error {
	if !validItemFile(name) {
		return fmt.Errorf("nemo2: %q is not a plain file name", name)
	}
	if w.files[name] {
		return fmt.Errorf("nemo2: %s written twice", name)
	}
	w.files[name] = true
	return nil
}

func validItemFile(name string) bool {
	return name != "" && name != "." && name != ".." && filepath.Base(name) == name &&
		name != ".metadata" && name != distckpt.MetadataName && name != distckpt.CommonName
}

// CopyFile copies n bytes from src at off into a new file name, verbatim
// (src's offset is moved, so it must be the caller's own descriptor),
// using the fastest means the system offers (a reflink of a whole file, or
// copy_file_range), in steps so that ctx can stop it, reporting each step to
// done. Items inside it are then recorded with RecordTensorChunk and
// RecordObject.
func (w *WeightsWriter) CopyFile(ctx context.Context, name string, src *os.File, off, n int64, done func(int64)) error {
	return w.copyInto(name, func(dst *os.File) error { return copyRange(ctx, dst, src, off, n, done) })
}

// CopyStream is CopyFile for sources that are no OS file.
func (w *WeightsWriter) CopyStream(ctx context.Context, name string, src io.Reader, n int64, done func(int64)) error {
	return w.copyInto(name, func(dst *os.File) error { return copyReader(ctx, dst, src, n, done) })
}

func (w *WeightsWriter) copyInto(name string, copyFn func(*os.File) error) error {
	if err := w.claim(name); err != nil {
		return err
	}
	return createSynced(filepath.Join(w.dir, name), copyFn)
}

// RecordTensorChunk records a tensor item stored in a file of this
// checkpoint.
func (w *WeightsWriter) RecordTensorChunk(fqn string, dtype torchsave.DType, size []int64, chunk dcp.Chunk, info dcp.StorageInfo) error {
	return w.md.AddTensorChunk(fqn, dcp.TensorProperties{DType: string(dtype)}, size, chunk, info)
}

// RecordObject records a bytes item stored in a file of this checkpoint.
func (w *WeightsWriter) RecordObject(fqn string, info dcp.StorageInfo) error {
	return w.md.AddBytes(fqn, info)
}

// ItemFile is a .distcp file the writer fills item by item.
type ItemFile struct {
	w    *WeightsWriter
	name string
	f    *os.File
	bw   *bufio.Writer
	off  int64
	err  error
}

// File creates a new .distcp file to write items into.
func (w *WeightsWriter) File(name string) (*ItemFile, error) {
	if err := w.claim(name); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(w.dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	it := &ItemFile{w: w, name: name, f: f, bw: bufio.NewWriterSize(f, 1<<20)}
	w.open = append(w.open, it)
	return it, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteTensor appends one tensor chunk as a torch.save archive whose
// elements (exactly the chunk's bytes, row-major, little-endian) come from
// data, and records it.
func (it *ItemFile) WriteTensor(fqn string, dtype torchsave.DType, size []int64, chunk dcp.Chunk, data io.Reader) error {
	if it.err != nil {
		return it.err
	}
	cw := &countWriter{w: it.bw}
	_, err := torchsave.WriteTensor(cw, torchsave.TensorSpec{DType: dtype, Shape: chunk.Sizes}, data)
	if err != nil {
		it.err = fmt.Errorf("writing %s chunk %v into %s: %w", fqn, chunk.Offsets, it.name, err)
		return it.err
	}
	info := dcp.StorageInfo{RelativePath: it.name, Offset: it.off, Length: cw.n}
	it.off += cw.n
	return it.w.RecordTensorChunk(fqn, dtype, size, chunk, info)
}

// WriteObject appends a sharded object as torch_dist stores it,
// torch.save([obj]), and records it.
func (it *ItemFile) WriteObject(fqn string, obj any) error {
	if it.err != nil {
		return it.err
	}
	cw := &countWriter{w: it.bw}
	if _, err := torchsave.Save(cw, &pickle.List{Items: []any{obj}}); err != nil {
		it.err = fmt.Errorf("writing object %s into %s: %w", fqn, it.name, err)
		return it.err
	}
	info := dcp.StorageInfo{RelativePath: it.name, Offset: it.off, Length: cw.n}
	it.off += cw.n
	return it.w.RecordObject(fqn, info)
}

// WriteRawObject appends an already serialized torch.save([obj]) payload.
func (it *ItemFile) WriteRawObject(fqn string, payload io.Reader, n int64) error {
	if it.err != nil {
		return it.err
	}
	m, err := io.Copy(it.bw, io.LimitReader(payload, n))
	if err == nil && m != n {
		err = fmt.Errorf("payload ended after %d of %d bytes: %w", m, n, io.ErrUnexpectedEOF)
	}
	if err != nil {
		it.err = fmt.Errorf("writing object %s into %s: %w", fqn, it.name, err)
		return it.err
	}
	info := dcp.StorageInfo{RelativePath: it.name, Offset: it.off, Length: n}
	it.off += n
	return it.w.RecordObject(fqn, info)
}

func (it *ItemFile) close() error {
	if it.f == nil {
		return it.err
	}
	err := it.err
	if err == nil {
		err = it.bw.Flush()
	}
	if err == nil {
		err = it.f.Sync()
	}
	if cerr := it.f.Close(); err == nil {
		err = cerr
	}
	it.f = nil
	if err != nil {
		return fmt.Errorf("writing %s: %w", it.name, err)
	}
	return nil
}

// CommonState returns the common.pt a NeMo 2 checkpoint written by
// Lightning's trainer.save_checkpoint holds for a model that was never
// trained under NeMo 2: plain values only, so it loads under
// torch.load(weights_only=True). Lightning's loop and callback states are
// left out rather than faked: Lightning skips restoring what is absent,
// while an empty "loops" entry would fail a training resume.
func CommonState() *pickle.Dict {
	return pickle.NewDict(
		"epoch", int64(0),
		"global_step", int64(0),
		"pytorch-lightning_version", "2.4.0",
		"state_dict", &pickle.Dict{},
		"optimizer_states", &pickle.List{},
		"lr_schedulers", &pickle.List{},
		"content_metadata", &pickle.Dict{},
	)
}

// Metadata returns the index recorded so far.
func (w *WeightsWriter) Metadata() *dcp.Metadata { return &w.md }

// Finish closes the item files, checks the index (every tensor tiled
// exactly once), writes .metadata and common.pt, syncs everything, and
// writes metadata.json last.
func (w *WeightsWriter) Finish(common any) error {
	if w.done {
		return errors.New("nemo2: weights already finished")
	}
	w.done = true
	var errs []error
	for _, it := range w.open {
		errs = append(errs, it.close())
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := w.md.Validate(); err != nil {
		return fmt.Errorf("nemo2: refusing to write an index that does not tile every tensor: %w", err)
	}
	// Keep a stable, readable order: tensors by key.
	slices.SortStableFunc(w.md.Entries, func(a, b dcp.Entry) int { return strings.Compare(a.FQN, b.FQN) })
	meta, err := dcp.Marshal(&w.md)
	if err != nil {
		return err
	}
	if err := createSynced(filepath.Join(w.dir, ".metadata"), writeData(meta)); err != nil {
		return err
	}
	var cb bytes.Buffer
	if _, err := (torchsave.SaveOptions{Name: "common"}).Save(&cb, common); err != nil {
		return fmt.Errorf("encoding common.pt: %w", err)
	}
	if err := createSynced(filepath.Join(w.dir, distckpt.CommonName), writeData(cb.Bytes())); err != nil {
		return err
	}
	if err := syncDir(w.dir); err != nil {
		return err
	}
	// Last: its presence marks the checkpoint complete.
	if err := createAtomic(filepath.Join(w.dir, distckpt.MetadataName), writeData(distckpt.NeMo2Config.Encode())); err != nil {
		return err
	}
	return syncDir(w.dir)
}

// Abort closes open files without finishing; the caller removes the
// directory.
func (w *WeightsWriter) Abort() {
	for _, it := range w.open {
		if it.f != nil {
			it.f.Close()
			it.f = nil
		}
	}
	w.done = true
}

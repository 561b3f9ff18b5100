// Package distckpt reads Megatron-Core distributed checkpoints (the
// dist_checkpointing format NeMo 1.0 stores in model_weights/ and NeMo 2.0 in
// weights/): metadata.json, common.pt, and the sharded state in either the
// torch_dist backend (a PyTorch Distributed Checkpoint: .metadata and .distcp
// files) or the zarr backend (one zarr v2 array per tensor, one torch.save
// file per object shard).
//
// Both backends are presented the same way: a list of tensors, each with
// its chunks (a region of the global tensor and a way to copy its bytes),
// and a list of objects (sharded objects such as TransformerEngine
// _extra_state, each a torch.save payload). Nothing is read until asked for;
// tensor bytes are moved, never decoded.
package distckpt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/dcp"
	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
	"github.com/nemo-migrate/nemo-migrate/internal/torchsave"
)

// The backends of metadata.json's sharded_backend.
const (
	TorchDist = "torch_dist"
	Zarr      = "zarr"
)

// MetadataName is the file whose presence marks a complete checkpoint.
const MetadataName = "metadata.json"

// CommonName holds the non-sharded state.
const CommonName = "common.pt"

// ErrNotCheckpoint is wrapped by errors for directories without a
// distributed checkpoint.
var ErrNotCheckpoint = errors.New("distckpt: not a distributed checkpoint")

// Config mirrors metadata.json (Megatron-Core's CheckpointingConfig).
type Config struct {
	ShardedBackend        string `json:"sharded_backend"`
	ShardedBackendVersion int    `json:"sharded_backend_version"`
	CommonBackend         string `json:"common_backend"`
	CommonBackendVersion  int    `json:"common_backend_version"`
}

// NeMo2Config is what Megatron-Core writes for a torch_dist checkpoint, and
// what NeMo 2.0 loads: all four keys, since Megatron-Core <= 0.18 refuses
// unknown keys and >= 0.19 ignores extra ones.
var NeMo2Config = Config{ShardedBackend: TorchDist, ShardedBackendVersion: 1, CommonBackend: "torch", CommonBackendVersion: 1}

// Encode returns metadata.json as Megatron-Core writes it: json.dump of the
// dataclass, default separators, no trailing newline.
func (c Config) Encode() []byte {
	return fmt.Appendf(nil, `{"sharded_backend": %s, "sharded_backend_version": %d, "common_backend": %s, "common_backend_version": %d}`,
		jsonString(c.ShardedBackend), c.ShardedBackendVersion, jsonString(c.CommonBackend), c.CommonBackendVersion)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Checkpoint is an opened distributed checkpoint.
type Checkpoint struct {
	FS     fs.FS  // the filesystem holding it
	Dir    string // its directory within FS
	Config Config

	Tensors []*Tensor // sorted by key
	Objects []*Object // sorted by key

	// DCP is the parsed .metadata of a torch_dist checkpoint, nil for zarr.
	DCP *dcp.Metadata

	// Notes lists oddities that were worked around while reading, such as
	// object shard names with a lost shape component.
	Notes []string
}

// Tensor is one sharded tensor: a key, its global shape and its chunks.
type Tensor struct {
	Key    string
	DType  torchsave.DType
	Shape  []int64
	Chunks []*Chunk
}

// NumBytes returns the size of the whole tensor's elements.
func (t *Tensor) NumBytes() int64 {
	return dcp.NumElements(t.Shape) * t.DType.ItemSize()
}

// Chunk is a stored region of a tensor.
type Chunk struct {
	Tensor  *Tensor
	Offsets []int64
	Sizes   []int64

	// Path is the file holding the chunk, relative to the checkpoint's FS.
	Path string
	// For torch_dist: the torch.save item at [ItemOffset, ItemOffset+ItemLength) of Path.
	ItemOffset, ItemLength int64

	fsys fs.FS
	open func() (io.ReadCloser, error)
}

// NumBytes returns the size of the chunk's elements.
func (c *Chunk) NumBytes() int64 {
	return dcp.NumElements(c.Sizes) * c.Tensor.DType.ItemSize()
}

// Open returns the chunk's elements in row-major order, little-endian,
// exactly NumBytes long.
func (c *Chunk) Open() (io.ReadCloser, error) { return c.open() }

// Object is one sharded object, such as a TransformerEngine _extra_state
// shard. Its key is the unique key "<key>/shard_<offsets>_<shape>".
type Object struct {
	Key  string
	Path string // file holding the payload, relative to FS
	// ItemOffset and ItemLength locate the payload in Path (the whole file
	// for zarr checkpoints).
	ItemOffset, ItemLength int64
	// Wrapped is true when the payload is torch.save([obj]) as torch_dist
	// stores it, false for the bare torch.save(obj) of the zarr backend.
	Wrapped bool

	fsys fs.FS
}

// Open returns the raw torch.save payload.
func (o *Object) Open() (*io.SectionReader, io.Closer, error) {
	return openSection(o.fsys, o.Path, o.ItemOffset, o.ItemLength)
}

// Value decodes the payload and returns the object itself (unwrapped from
// the one-element list torch_dist stores). Tensors in it read lazily from
// the payload; the returned Closer releases the file.
func (o *Object) Value() (any, io.Closer, error) {
	sr, c, err := o.Open()
	if err != nil {
		return nil, nil, err
	}
	a, err := torchsave.Open(sr, sr.Size())
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("object %s in %s: %w", o.Key, o.Path, err)
	}
	v := a.Object
	if o.Wrapped {
		items, ok := pickle.AsList(v)
		if !ok || len(items) != 1 {
			c.Close()
			return nil, nil, fmt.Errorf("object %s in %s: payload is not a one-element list", o.Key, o.Path)
		}
		v = items[0]
	}
	return v, c, nil
}

// Open opens the distributed checkpoint in directory dir of fsys. Files
// opened from fsys should implement io.ReaderAt (os.DirFS's and tarfs's do).
func Open(fsys fs.FS, dir string) (*Checkpoint, error) {
	cfgData, err := readSmall(fsys, path.Join(dir, MetadataName), 1<<20)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s has no %s (an interrupted save leaves none)", ErrNotCheckpoint, dirName(dir), MetadataName)
		}
		return nil, err
	}
	c := &Checkpoint{FS: fsys, Dir: dir}
	if err := json.Unmarshal(cfgData, &c.Config); err != nil {
		return nil, fmt.Errorf("distckpt: %s: %w", path.Join(dir, MetadataName), err)
	}
	switch c.Config.ShardedBackend {
	case TorchDist:
		err = c.openTorchDist()
	case Zarr:
		err = c.openZarr()
	default:
		return nil, fmt.Errorf("distckpt: %s: sharded_backend %q is not supported; only torch_dist and zarr checkpoints can be read", path.Join(dir, MetadataName), c.Config.ShardedBackend)
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(c.Tensors, func(a, b *Tensor) int { return strings.Compare(a.Key, b.Key) })
	slices.SortFunc(c.Objects, func(a, b *Object) int { return strings.Compare(a.Key, b.Key) })
	return c, nil
}

func dirName(dir string) string {
	if dir == "." {
		return "the checkpoint directory"
	}
	return dir
}

// HasCommon reports whether the checkpoint has a common.pt.
func (c *Checkpoint) HasCommon() bool {
	_, err := fs.Stat(c.FS, path.Join(c.Dir, CommonName))
	return err == nil
}

// Common decodes common.pt. Tensors in it read lazily; the Closer releases
// the file.
func (c *Checkpoint) Common() (*torchsave.Archive, io.Closer, error) {
	name := path.Join(c.Dir, CommonName)
	st, err := fs.Stat(c.FS, name)
	if err != nil {
		return nil, nil, err
	}
	sr, closer, err := openSection(c.FS, name, 0, st.Size())
	if err != nil {
		return nil, nil, err
	}
	a, err := torchsave.Open(sr, sr.Size())
	if err != nil {
		closer.Close()
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return a, closer, nil
}

// Tensor returns the tensor with the given key.
func (c *Checkpoint) Tensor(key string) (*Tensor, bool) {
	i, ok := slices.BinarySearchFunc(c.Tensors, key, func(t *Tensor, k string) int { return strings.Compare(t.Key, k) })
	if !ok {
		return nil, false
	}
	return c.Tensors[i], true
}

// Object returns the object with the given unique key.
func (c *Checkpoint) Object(key string) (*Object, bool) {
	i, ok := slices.BinarySearchFunc(c.Objects, key, func(o *Object, k string) int { return strings.Compare(o.Key, k) })
	if !ok {
		return nil, false
	}
	return c.Objects[i], true
}

// TotalBytes returns the size of all tensor elements.
func (c *Checkpoint) TotalBytes() int64 {
	var n int64
	for _, t := range c.Tensors {
		n += t.NumBytes()
	}
	return n
}

func readSmall(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("distckpt: reading %s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("distckpt: %s is larger than %d bytes", name, limit)
	}
	return b, nil
}

// openSection opens name and returns a reader of n bytes at off.
func openSection(fsys fs.FS, name string, off, n int64) (*io.SectionReader, io.Closer, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if off < 0 || n < 0 || off > st.Size() || n > st.Size()-off {
		f.Close()
		return nil, nil, fmt.Errorf("distckpt: %s is %d bytes, but an item is recorded at bytes %d..%d: the file is truncated or the index is corrupt", name, st.Size(), off, off+n)
	}
	ra, ok := f.(io.ReaderAt)
	if !ok {
		f.Close()
		return nil, nil, fmt.Errorf("distckpt: %s does not support random access", name)
	}
	return io.NewSectionReader(ra, off, n), f, nil
}

type sectionReadCloser struct {
	io.Reader
	io.Closer
}

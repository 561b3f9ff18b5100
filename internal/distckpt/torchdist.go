package distckpt

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"

	"github.com/nemo-migrate/nemo-migrate/internal/dcp"
	"github.com/nemo-migrate/nemo-migrate/internal/torchsave"
)

func (c *Checkpoint) openTorchDist() error {
	name := path.Join(c.Dir, ".metadata")
	f, err := c.FS.Open(name)
	if err != nil {
		return fmt.Errorf("distckpt: torch_dist checkpoint without its index: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	md, err := dcp.ReadMetadata(f, st.Size())
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	c.DCP = md
	for _, e := range md.Entries {
		if e.Tensor == nil {
			info, ok := md.LookupBytes(e.FQN)
			if !ok {
				return fmt.Errorf("%s: object %s has no storage entry", name, e.FQN)
			}
			p, err := c.itemPath(name, info.RelativePath)
			if err != nil {
				return err
			}
			c.Objects = append(c.Objects, &Object{Key: e.FQN, Path: p, ItemOffset: info.Offset, ItemLength: info.Length, Wrapped: true, fsys: c.FS})
			continue
		}
		dt := torchsave.DType(e.Tensor.Properties.DType)
		if !dt.Valid() {
			return fmt.Errorf("%s: tensor %s has unknown dtype %q", name, e.FQN, dt)
		}
		t := &Tensor{Key: e.FQN, DType: dt, Shape: e.Tensor.Size}
		for i, ch := range e.Tensor.Chunks {
			info, ok := md.Lookup(e.FQN, ch.Offsets)
			if !ok {
				return fmt.Errorf("%s: chunk %d of %s (offsets %v) has no storage entry", name, i, e.FQN, ch.Offsets)
			}
			p, err := c.itemPath(name, info.RelativePath)
			if err != nil {
				return err
			}
			chunk := &Chunk{Tensor: t, Offsets: ch.Offsets, Sizes: ch.Sizes, Path: p, ItemOffset: info.Offset, ItemLength: info.Length, fsys: c.FS}
			chunk.open = func() (io.ReadCloser, error) { return c.openTorchDistChunk(chunk) }
			t.Chunks = append(t.Chunks, chunk)
		}
		c.Tensors = append(c.Tensors, t)
	}
	return c.checkFileSizes(name)
}

// checkFileSizes makes sure every .distcp file the index names exists and
// is long enough for every item recorded in it, so a truncated checkpoint
// is reported when it is opened rather than midway through a conversion.
func (c *Checkpoint) checkFileSizes(metaName string) error {
	need := map[string]int64{}
	for _, s := range c.DCP.Storage {
		end := s.Info.Offset + s.Info.Length
		if end > need[s.Info.RelativePath] {
			need[s.Info.RelativePath] = end
		}
	}
	for rel, end := range need {
		p, err := c.itemPath(metaName, rel)
		if err != nil {
			return err
		}
		st, err := fs.Stat(c.FS, p)
		if err != nil {
			return fmt.Errorf("distckpt: %s, named by %s, is missing: %w", p, metaName, err)
		}
		if st.Size() < end {
			return fmt.Errorf("distckpt: %s is %d bytes, but %s records items up to byte %d: the file is truncated", p, st.Size(), metaName, end)
		}
	}
	return nil
}

func (c *Checkpoint) itemPath(metaName, rel string) (string, error) {
	if !fs.ValidPath(rel) || rel == "." {
		return "", fmt.Errorf("%s: storage path %q is not a plain relative path", metaName, rel)
	}
	return path.Join(c.Dir, rel), nil
}

// OpenItem opens a torch_dist chunk's stored item, a complete torch.save
// archive, and checks that it holds a tensor of the chunk's dtype and sizes.
func (ch *Chunk) OpenItem() (*torchsave.Archive, *torchsave.Tensor, io.Closer, error) {
	c := ch.Tensor
	sr, closer, err := openSection(ch.fsys, ch.Path, ch.ItemOffset, ch.ItemLength)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s chunk at %v: %w", c.Key, ch.Offsets, err)
	}
	a, err := torchsave.Open(sr, sr.Size())
	if err != nil {
		closer.Close()
		return nil, nil, nil, fmt.Errorf("%s chunk at %v (%s bytes %d..%d): %w", c.Key, ch.Offsets, ch.Path, ch.ItemOffset, ch.ItemOffset+ch.ItemLength, err)
	}
	t, err := a.Tensor()
	if err != nil {
		closer.Close()
		return nil, nil, nil, fmt.Errorf("%s chunk at %v in %s: %w", c.Key, ch.Offsets, ch.Path, err)
	}
	if t.DType != c.DType || !slices.Equal(t.Shape, ch.Sizes) {
		closer.Close()
		return nil, nil, nil, fmt.Errorf("%s chunk at %v in %s holds a %s tensor of shape %v, the index says %s %v", c.Key, ch.Offsets, ch.Path, t.DType, t.Shape, c.DType, ch.Sizes)
	}
	return a, t, closer, nil
}

func (c *Checkpoint) openTorchDistChunk(ch *Chunk) (io.ReadCloser, error) {
	_, t, closer, err := ch.OpenItem()
	if err != nil {
		return nil, err
	}
	return sectionReadCloser{Reader: t.Reader(), Closer: closer}, nil
}

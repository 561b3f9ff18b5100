package distckpt

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/notes"
	"github.com/nemo-migrate/nemo-migrate/internal/torchsave"
	"github.com/nemo-migrate/nemo-migrate/internal/zarr"
)

func (c *Checkpoint) openZarr() error {
	arrays, err := zarr.List(c.FS, c.Dir)
	if err != nil {
		return fmt.Errorf("distckpt: listing zarr arrays: %w", err)
	}
	isArray := make(map[string]bool, len(arrays))
	var v2 []string
	defer func() {
		if len(v2) > 0 {
			c.Notes = append(c.Notes, fmt.Sprintf("%d arrays (%s) have .zarray dtype \"|V2\", left by a Megatron-Core save whose bfloat16 rewrite did not happen: read as bfloat16", len(v2), notes.Names(v2)))
		}
	}()
	for _, dir := range arrays {
		isArray[dir] = true
		key := relKey(c.Dir, dir)
		a, err := zarr.Open(c.FS, dir)
		if err != nil {
			return fmt.Errorf("distckpt: tensor %s: %w", key, err)
		}
		name, err := a.DType.Torch()
		if errors.Is(err, zarr.ErrAmbiguousDType) && a.DType == "|V2" {
			// Megatron-Core rewrites <V2 to "bfloat16" after writing; a |V2
			// array is one whose rewrite did not happen.
			name, err = "bfloat16", nil
			v2 = append(v2, key)
		}
		if err != nil {
			return fmt.Errorf("distckpt: tensor %s: %w", key, err)
		}
		t := &Tensor{Key: key, DType: torchsave.DType(name), Shape: a.Shape}
		if !t.DType.Valid() {
			return fmt.Errorf("distckpt: tensor %s: dtype %s has no torch equivalent", key, name)
		}
		for idx := range a.ChunkIndexes() {
			zc, err := a.Chunk(idx)
			if err != nil {
				return fmt.Errorf("distckpt: tensor %s: %w", key, err)
			}
			ch := &Chunk{Tensor: t, Offsets: zc.Offset, Sizes: zc.Shape, Path: zc.Path(), ItemLength: -1, fsys: c.FS}
			ch.open = zc.Open
			t.Chunks = append(t.Chunks, ch)
		}
		c.Tensors = append(c.Tensors, t)
	}
	// Objects are <key>/shard_<offsets>_<shape>.pt files outside the arrays.
	err = fs.WalkDir(c.FS, c.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if isArray[p] || (p != c.Dir && strings.HasSuffix(p, ".sync")) {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".pt") || p == path.Join(c.Dir, CommonName) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		c.Objects = append(c.Objects, &Object{Key: strings.TrimSuffix(relKey(c.Dir, p), ".pt"), Path: p, ItemLength: info.Size(), fsys: c.FS})
		return nil
	})
	if err != nil {
		return fmt.Errorf("distckpt: listing zarr objects: %w", err)
	}
	c.repairShardKeys()
	return nil
}

func relKey(dir, p string) string {
	if dir == "." {
		return p
	}
	return strings.TrimPrefix(p, dir+"/")
}

// repairShardKeys restores the shape component older Megatron-Core lost when
// it named object files with Path(key).with_suffix(".pt"): "shard_3.5_32.64"
// became "shard_3.5_32.pt". The lost extent of the last axis is the number
// of shards along it.
func (c *Checkpoint) repairShardKeys() {
	type parsed struct {
		obj        *Object
		base       string
		off, shape []int64
	}
	var broken []parsed
	maxLast := map[string]int64{}
	for _, o := range c.Objects {
		base, off, shape, ok := ParseShardKey(o.Key)
		if !ok || len(off) != len(shape)+1 {
			continue
		}
		broken = append(broken, parsed{o, base, off, shape})
		last := off[len(off)-1]
		if last+1 > maxLast[base] {
			maxLast[base] = last + 1
		}
	}
	var renamed []string
	for _, b := range broken {
		shape := append(slices.Clone(b.shape), maxLast[b.base])
		renamed = append(renamed, b.obj.Key+".pt")
		b.obj.Key = ShardKey(b.base, b.off, shape)
	}
	if len(renamed) > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("%d object files (%s) lost a shape component to an old Megatron-Core naming bug; read with the shape restored", len(renamed), notes.Names(renamed)))
	}
}

// ShardKey returns a sharded object's unique key:
// "<key>/shard_<offsets joined by .>_<shape joined by .>".
func ShardKey(key string, offsets, shape []int64) string {
	return key + "/shard_" + joinInts(offsets) + "_" + joinInts(shape)
}

// ParseShardKey splits a unique key made by ShardKey.
func ParseShardKey(unique string) (key string, offsets, shape []int64, ok bool) {
	i := strings.LastIndex(unique, "/shard_")
	if i < 0 {
		return "", nil, nil, false
	}
	key, rest := unique[:i], unique[i+len("/shard_"):]
	offS, shapeS, found := strings.Cut(rest, "_")
	if !found {
		return "", nil, nil, false
	}
	var err1, err2 error
	offsets, err1 = splitInts(offS)
	shape, err2 = splitInts(shapeS)
	if err1 != nil || err2 != nil {
		return "", nil, nil, false
	}
	return key, offsets, shape, true
}

func joinInts(v []int64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(s, ".")
}

func splitInts(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ".")
	out := make([]int64, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad shard index %q", p)
		}
		out[i] = n
	}
	return out, nil
}

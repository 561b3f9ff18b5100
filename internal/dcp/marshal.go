package dcp

import (
	"bytes"
	"fmt"

	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// Module paths of the torch >= 2.3 classes Marshal writes.
const (
	metadataModule   = "torch.distributed.checkpoint.metadata"
	filesystemModule = "torch.distributed.checkpoint.filesystem"
)

// Marshal encodes m as a .metadata pickle in the torch >= 2.3 form:
// dataclasses as NEWOBJ + BUILD(dict), TensorProperties as NEWOBJ +
// BUILD(5-tuple) with the memory-format enum by value, torch.Size by
// REDUCE, dtypes as bare globals. storage_meta is left out (its class does
// not exist before torch 2.4 and the reader fills in a default); Version
// and MCoreData are written when set.
func Marshal(m *Metadata) ([]byte, error) {
	if err := m.checkStorage(); err != nil {
		return nil, err
	}
	sdm := &pickle.Dict{}
	for _, e := range m.Entries {
		if e.Tensor == nil {
			sdm.Set(e.FQN, newObj(metadataModule, "BytesStorageMetadata", nil))
			continue
		}
		chunks := make([]any, len(e.Tensor.Chunks))
		for i, c := range e.Tensor.Chunks {
			chunks[i] = newObj(metadataModule, "ChunkStorageMetadata", pickle.NewDict(
				"offsets", torchSize(c.Offsets),
				"sizes", torchSize(c.Sizes),
			))
		}
		sdm.Set(e.FQN, newObj(metadataModule, "TensorStorageMetadata", pickle.NewDict(
			"properties", properties(e.Tensor.Properties),
			"size", torchSize(e.Tensor.Size),
			"chunks", &pickle.List{Items: chunks},
		)))
	}
	storage := &pickle.Dict{}
	for _, s := range m.Storage {
		idx := pickle.NewDict("fqn", s.Index.FQN)
		if s.Index.HasOffset {
			idx.Set("offset", torchSize(s.Index.Offset))
		}
		if s.Index.Pos >= 0 {
			idx.Set("index", s.Index.Pos)
		} else {
			idx.Set("index", nil)
		}
		// Keys are objects, so Set appends rather than deduplicates.
		storage.Items = append(storage.Items, pickle.Item{
			Key: newObj(metadataModule, "MetadataIndex", idx),
			Value: newObj(filesystemModule, "_StorageInfo", pickle.NewDict(
				"relative_path", s.Info.RelativePath,
				"offset", s.Info.Offset,
				"length", s.Info.Length,
			)),
		})
	}
	// planner_data as DefaultSavePlanner records it for a flat state dict
	// (flatten_state_dict maps each key to its path, here the key alone).
	// torch's dcp_to_torch_save (torch 2.6) needs it: its planner tests
	// "k in metadata.planner_data" and fails on None.
	planner := &pickle.Dict{}
	for _, e := range m.Entries {
		planner.Items = append(planner.Items, pickle.Item{Key: e.FQN, Value: pickle.Tuple{e.FQN}})
	}
	state := pickle.NewDict(
		"state_dict_metadata", sdm,
		"planner_data", planner,
		"storage_data", storage,
	)
	if m.Version != "" {
		state.Set("version", m.Version)
	}
	if m.MCoreData != nil {
		state.Set("mcore_data", m.MCoreData)
	}
	var b bytes.Buffer
	enc := pickle.NewEncoder(&b)
	enc.MemoStrings = true
	if err := enc.Encode(newObj(metadataModule, "Metadata", state)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// checkStorage refuses metadata whose storage keys collide, which torch
// would silently collapse into one entry.
func (m *Metadata) checkStorage() error {
	seen := make(map[string]bool, len(m.Storage))
	for _, s := range m.Storage {
		k := lookupKey(s.Index.FQN, s.Index.Offset, s.Index.HasOffset)
		if seen[k] {
			return fmt.Errorf("dcp: two storage entries for %s at offset %v", s.Index.FQN, s.Index.Offset)
		}
		seen[k] = true
	}
	return nil
}

func newObj(module, name string, state *pickle.Dict) *pickle.Object {
	o := &pickle.Object{Callable: pickle.Global{Module: module, Name: name}, Args: pickle.Tuple{}, NewObj: true}
	if state != nil {
		o.Built, o.State = true, state
	}
	return o
}

func torchSize(dims []int64) *pickle.Object {
	t := make(pickle.Tuple, len(dims))
	for i, d := range dims {
		t[i] = d
	}
	return &pickle.Object{Callable: pickle.Global{Module: "torch", Name: "Size"}, Args: pickle.Tuple{t}}
}

func properties(p TensorProperties) *pickle.Object {
	layout := p.Layout
	if layout == "" {
		layout = "torch.strided"
	}
	o := newObj(metadataModule, "TensorProperties", nil)
	o.Built = true
	o.State = pickle.Tuple{
		pickle.Global{Module: "torch", Name: p.DType},
		&pickle.Object{Callable: pickle.Global{Module: "torch.serialization", Name: "_get_layout"}, Args: pickle.Tuple{layout}},
		p.RequiresGrad,
		&pickle.Object{Callable: pickle.Global{Module: metadataModule, Name: "_MEM_FORMAT_ENCODING"}, Args: pickle.Tuple{int64(p.MemoryFormat)}},
		p.PinMemory,
	}
	return o
}

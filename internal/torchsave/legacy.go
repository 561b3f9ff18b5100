package torchsave

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"

	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// Plain pickles: what Python's pickle.dumps makes of a tree holding
// tensors, as TransformerEngine >= 2.0 stores its fp8 extra state (the
// pickle's bytes in a uint8 tensor). A tensor reduces to
// torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
// requires_grad, OrderedDict()), and its storage to
// torch.storage._load_from_bytes(b), where b is the storage alone in
// torch's legacy (pre-zip) torch.save format (TypedStorage.__reduce__).

// legacyMagic and legacyProtocol open a legacy torch.save
// (torch/serialization.py MAGIC_NUMBER, PROTOCOL_VERSION).
var legacyMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

const legacyProtocol = 1001

var (
	globalLoadFromBytes  = pickle.Global{Module: "torch.storage", Name: "_load_from_bytes"}
	globalRebuildV2Plain = pickle.Global{Module: "torch._utils", Name: "_rebuild_tensor_v2"}
)

// PlainPickle returns pickle.dumps(v) for a tree whose tensors are *Tensor
// (read from an archive) values: each tensor's whole storage is embedded,
// in the legacy format, as torch embeds it.
func PlainPickle(v any) ([]byte, error) {
	out, err := MapTensors(v, plainTensor)
	if err != nil {
		return nil, err
	}
	return pickle.Marshal(out)
}

func plainTensor(t *Tensor) (any, error) {
	if t.Parameter || t.State != nil || (t.Class != pickle.Global{} && t.Class != globalTensor) {
		return nil, fmt.Errorf("torchsave: cannot pickle a %s tensor with Python state in the plain form", t.DType)
	}
	if t.Storage.bigEndian {
		return nil, ErrBigEndian
	}
	class := t.DType.StorageClass()
	if class == "" {
		return nil, fmt.Errorf("torchsave: no legacy storage class for %s", t.DType)
	}
	data, err := io.ReadAll(t.Storage.Reader())
	if err != nil {
		return nil, fmt.Errorf("torchsave: reading storage %s: %w", t.Storage.Key, err)
	}
	b, err := legacyStorage(class, t.DType, data)
	if err != nil {
		return nil, err
	}
	storage := &pickle.Object{Callable: globalLoadFromBytes, Args: pickle.Tuple{pickle.Bytes(b)}}
	args := pickle.Tuple{storage, t.Offset, intsTuple(t.Shape), intsTuple(t.strides()), t.RequiresGrad, emptyHooks()}
	if t.Metadata != nil {
		args = append(args, t.Metadata)
	}
	return &pickle.Object{Callable: globalRebuildV2Plain, Args: args}, nil
}

// legacyStorage is torch.save(storage, _use_new_zipfile_serialization=False)
// for a CPU storage holding data: five pickles (magic, protocol, system
// info, the storage's persistent id, the storage keys), then the element
// count as a little-endian int64 and the bytes.
func legacyStorage(class string, dtype DType, data []byte) ([]byte, error) {
	numel := int64(len(data)) / dtype.ItemSize()
	sysInfo := pickle.NewDict(
		"protocol_version", int64(legacyProtocol),
		"little_endian", true,
		"type_sizes", pickle.NewDict("short", int64(2), "int", int64(4), "long", int64(8)),
	)
	var b bytes.Buffer
	for _, v := range []any{
		legacyMagic,
		int64(legacyProtocol),
		sysInfo,
		pickle.PersID{ID: pickle.Tuple{"storage", pickle.Global{Module: "torch", Name: class}, "0", "cpu", numel, nil}},
		&pickle.List{Items: []any{"0"}},
	} {
		p, err := pickle.Marshal(v)
		if err != nil {
			return nil, err
		}
		b.Write(p)
	}
	binary.Write(&b, binary.LittleEndian, numel)
	b.Write(data)
	return b.Bytes(), nil
}

// LoadPlain decodes a plain pickle, as pickle.loads would with torch
// imported, without executing anything: tensors come back as *Tensor
// values reading from data.
func LoadPlain(data []byte) (any, error) {
	v, err := pickle.Unmarshal(data)
	if err != nil {
		return nil, err
	}
	loaded := map[*pickle.Object]*Storage{} // a storage shared through the memo loads once
	a := &Archive{Name: "pickle", storages: map[string]*Storage{}}
	a.storageArg = func(v any) (*Storage, error) {
		o, ok := v.(*pickle.Object)
		if !ok || o.NewObj || !o.Is(globalLoadFromBytes.Module, globalLoadFromBytes.Name) {
			return nil, nil
		}
		if s, ok := loaded[o]; ok {
			return s, nil
		}
		var b pickle.Bytes
		ok = len(o.Args) == 1
		if ok {
			b, ok = o.Args[0].(pickle.Bytes)
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s takes one bytes argument", ErrFormat, globalLoadFromBytes)
		}
		s, err := loadLegacyStorage(b)
		if err != nil {
			return nil, err
		}
		loaded[o] = s
		return s, nil
	}
	return a.rebuild(v)
}

// loadLegacyStorage reads a storage saved alone in the legacy format.
func loadLegacyStorage(b []byte) (*Storage, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: legacy storage: %s", ErrFormat, fmt.Sprintf(format, args...))
	}
	var id pickle.Tuple
	d := pickle.Decoder{PersistentLoad: func(v any) (any, error) {
		t, ok := v.(pickle.Tuple)
		if !ok || len(t) != 6 || id != nil {
			return nil, bad("persistent id %s is not one ('storage', class, key, location, numel, view) tuple", describe(v))
		}
		id = t
		return t, nil
	}}
	pos := 0
	var parts [5]any
	for i := range parts {
		v, n, err := d.DecodePrefix(b[pos:])
		if err != nil {
			return nil, bad("pickle %d: %v", i+1, err)
		}
		parts[i], pos = v, pos+n
	}
	if m, ok := parts[0].(*big.Int); !ok || m.Cmp(legacyMagic) != 0 {
		return nil, bad("no magic number")
	}
	if p, ok := pickle.AsInt(parts[1]); !ok || p != legacyProtocol {
		return nil, bad("protocol %s, want %d", describe(parts[1]), legacyProtocol)
	}
	if info, ok := pickle.AsDict(parts[2]); !ok {
		return nil, bad("system info is %s", describe(parts[2]))
	} else if le, _ := info.Get("little_endian"); le != true {
		return nil, ErrBigEndian
	}
	if id == nil {
		return nil, bad("the object is %s, not a storage", describe(parts[3]))
	}
	class, ok := id[1].(pickle.Global)
	key, ok2 := id[2].(string)
	loc, ok3 := id[3].(string)
	numel, ok4 := pickle.AsInt(id[4])
	if !ok || !ok2 || !ok3 || !ok4 || numel < 0 || id[0] != "storage" || id[5] != nil {
		return nil, bad("persistent id %s", describe(id))
	}
	dtype, known := storageDType(class.Name)
	if !known || class.Module != "torch" {
		return nil, bad("unknown storage class %s", class)
	}
	if keys, ok := pickle.AsList(parts[4]); !ok || len(keys) != 1 || keys[0] != key {
		return nil, bad("storage keys %s, want [%q]", describe(parts[4]), key)
	}
	if len(b)-pos < 8 {
		return nil, bad("no element count")
	}
	n := int64(binary.LittleEndian.Uint64(b[pos:]))
	pos += 8
	size, ok := mul64(n, dtype.ItemSize())
	if !ok || n != numel || size != int64(len(b)-pos) {
		return nil, bad("%d bytes of data for %d elements of %s (the id says %d)", len(b)-pos, n, dtype, numel)
	}
	return &Storage{Key: key, Class: class.Name, DType: dtype, Numel: numel, Location: loc,
		Offset: int64(pos), Size: size, r: bytes.NewReader(b)}, nil
}

package torchsave

import (
	"bytes"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// SaveOptions control the archives Save and WriteTensor write. The zero value
// writes the records torch 2.x writes for torch.save(obj, stream) except
// the optional ones (see the package documentation).
type SaveOptions struct {
	// Name is the archive folder; "" means "archive". torch.save to a path
	// uses the file's stem.
	Name string
	// NoByteOrder leaves out the byteorder record, as torch before 2.1
	// did. WriteTensor's output is then byte-identical to torch 1.13's.
	NoByteOrder bool
}

// TensorSource is a tensor for Save whose storage bytes come from a
// reader. Data must yield exactly StorageNumel (or, when that is 0, just
// enough) elements, little-endian; it is read once, while the archive is
// written.
type TensorSource struct {
	TensorSpec
	Data      io.Reader
	Parameter bool // pickle as torch.nn.Parameter
}

// Save writes obj to w as torch.save(obj, stream) would, and returns the
// number of bytes written. See SaveOptions.Save.
func Save(w io.Writer, obj any) (int64, error) { return SaveOptions{}.Save(w, obj) }

// WriteTensor writes a complete archive holding exactly one contiguous
// tensor, storage key "0" on "cpu", whose t.NumBytes() bytes come from
// data, and returns the number of bytes written. This is what every tensor
// item of a distributed checkpoint .distcp file is. See SaveOptions.WriteTensor.
func WriteTensor(w io.Writer, t TensorSpec, data io.Reader) (n int64, err error) {
	return SaveOptions{}.WriteTensor(w, t, data)
}

// pending is a storage record still to be written.
type pending struct {
	key  string
	size int64
	data func() io.Reader
}

// Save writes obj as torch.save writes it. obj is a tree of values that
// internal/pickle encodes (protocol 2, the weights_only-safe subset) in
// which tensors may appear as *TensorSource values (data from a reader)
// or *Tensor values read from another archive (written out contiguous,
// with storage offset 0). A tensor value (the same pointer) that appears
// more than once has its data written once: each appearance is pickled in
// full and names that one storage, so torch loads them sharing it.
func (o SaveOptions) Save(w io.Writer, obj any) (int64, error) {
	s := saver{keys: map[any]string{}}
	tree, err := s.value(obj, 0)
	if err != nil {
		return 0, err
	}
	pkl, err := pickle.Marshal(tree)
	if err != nil {
		return 0, fmt.Errorf("torchsave: pickling: %w", err)
	}
	return o.write(w, pkl, s.storages)
}

// WriteTensor writes a one-tensor archive; see the package function. Its
// data.pkl is what Python's pickler writes for torch.save(tensor), memo
// opcodes included (checked byte for byte against torch 1.13).
func (o SaveOptions) WriteTensor(w io.Writer, t TensorSpec, data io.Reader) (int64, error) {
	if _, err := t.check(); err != nil {
		return 0, fmt.Errorf("torchsave: %w", err)
	}
	if !t.IsContiguous() || t.Offset != 0 || (t.StorageNumel != 0 && t.StorageNumel != t.Numel()) {
		return 0, fmt.Errorf("torchsave: WriteTensor wants a contiguous tensor filling its storage, got offset %d, shape %v, stride %v, storage %d",
			t.Offset, t.Shape, t.Stride, t.StorageNumel)
	}
	t.StorageNumel = t.Numel()
	pkl := tensorPickle(t, "0")
	return o.write(w, pkl, []pending{{key: "0", size: t.NumBytes(), data: func() io.Reader { return data }}})
}

// write lays out the records in the order torch writes them.
func (o SaveOptions) write(w io.Writer, pkl []byte, storages []pending) (int64, error) {
	name := o.Name
	if name == "" {
		name = "archive"
	}
	if strings.ContainsAny(name, "/\x00") {
		return 0, fmt.Errorf("torchsave: bad archive name %q", name)
	}
	zw := NewWriter(w, name)
	err := zw.WriteRecord("data.pkl", bytes.NewReader(pkl), int64(len(pkl)))
	if err == nil && !o.NoByteOrder {
		err = zw.WriteRecord("byteorder", strings.NewReader("little"), 6)
	}
	for _, p := range storages {
		if err != nil {
			break
		}
		err = zw.WriteRecord("data/"+p.key, p.data(), p.size)
	}
	if err == nil {
		err = zw.WriteRecord("version", strings.NewReader("3\n"), 2)
	}
	if err == nil {
		err = zw.Close()
	}
	return zw.Offset(), err
}

// saver turns a tree holding tensors into a pickle tree, assigning storage
// keys in the order the encoder will write the tensors.
type saver struct {
	keys     map[any]string
	storages []pending
	nodes    int
}

const (
	maxSaveDepth = 1000 // as internal/pickle's encoder; also stops cycles
	// maxSaveNodes bounds the values written. The encoder has no memo, so
	// a tree that shares subtrees (as a decoded pickle may) is written out
	// in full; without a bound a small hostile tree could expand forever.
	maxSaveNodes = 1 << 22
)

func (s *saver) value(v any, depth int) (any, error) {
	if depth > maxSaveDepth {
		return nil, fmt.Errorf("torchsave: object nested deeper than %d (a cycle?)", maxSaveDepth)
	}
	if s.nodes++; s.nodes > maxSaveNodes {
		return nil, fmt.Errorf("torchsave: object has more than %d values once shared parts are written out", maxSaveNodes)
	}
	d := depth + 1
	switch v := v.(type) {
	case *TensorSource:
		return s.source(v, d)
	case *Tensor:
		return s.tensor(v, d)
	case TensorSource, Tensor:
		return nil, fmt.Errorf("torchsave: pass %T by pointer", v)
	case pickle.Tuple:
		items, err := s.slice(v, d)
		return pickle.Tuple(items), err
	case []any:
		return s.slice(v, d)
	case *pickle.List:
		items, err := s.slice(v.Items, d)
		return &pickle.List{Items: items}, err
	case *pickle.Set:
		items, err := s.slice(v.Items, d)
		return &pickle.Set{Items: items, Frozen: v.Frozen}, err
	case *pickle.Dict:
		out := &pickle.Dict{}
		items, err := s.items(v.Items, d)
		for _, it := range items {
			out.Set(it.Key, it.Value)
		}
		return out, err
	case pickle.PersID:
		id, err := s.value(v.ID, d)
		return pickle.PersID{ID: id}, err
	case *pickle.Object:
		// The encoder writes Callable, Args, ListItems, DictItems, State:
		// convert in that order so keys follow the pickle.
		c := *v
		var err error
		if c.Callable, err = s.value(v.Callable, d); err != nil {
			return nil, err
		}
		if c.Args, err = s.slice(v.Args, d); err != nil {
			return nil, err
		}
		if c.ListItems, err = s.slice(v.ListItems, d); err != nil {
			return nil, err
		}
		if c.DictItems, err = s.items(v.DictItems, d); err != nil {
			return nil, err
		}
		if c.State, err = s.value(v.State, d); err != nil {
			return nil, err
		}
		return &c, nil
	}
	return v, nil
}

func (s *saver) slice(items []any, depth int) ([]any, error) {
	if items == nil {
		return nil, nil
	}
	out := make([]any, len(items))
	for i, it := range items {
		v, err := s.value(it, depth)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (s *saver) items(items []pickle.Item, depth int) ([]pickle.Item, error) {
	if items == nil {
		return nil, nil
	}
	out := make([]pickle.Item, len(items))
	for i, it := range items {
		k, err := s.value(it.Key, depth)
		if err != nil {
			return nil, err
		}
		v, err := s.value(it.Value, depth)
		if err != nil {
			return nil, err
		}
		out[i] = pickle.Item{Key: k, Value: v}
	}
	return out, nil
}

// key returns the storage key for a tensor value, registering its data
// the first time.
func (s *saver) key(ptr any, size int64, data func() io.Reader) string {
	if k, ok := s.keys[ptr]; ok {
		return k
	}
	k := strconv.Itoa(len(s.storages))
	s.keys[ptr] = k
	s.storages = append(s.storages, pending{key: k, size: size, data: data})
	return k
}

func (s *saver) source(t *TensorSource, depth int) (any, error) {
	spec := t.TensorSpec
	numel, err := spec.storageNumel()
	if err != nil {
		return nil, fmt.Errorf("torchsave: tensor %s%v: %w", spec.DType, spec.Shape, err)
	}
	if t.Data == nil {
		return nil, fmt.Errorf("torchsave: tensor %s%v has no data reader", spec.DType, spec.Shape)
	}
	spec.StorageNumel = numel
	spec.Stride = spec.strides()
	key := s.key(t, numel*spec.DType.ItemSize(), func() io.Reader { return t.Data })
	return tensorObject(spec, key, t.Parameter, nil, pickle.Global{}, nil), nil
}

func (s *saver) tensor(t *Tensor, depth int) (any, error) {
	spec := TensorSpec{DType: t.DType, Shape: t.Shape, RequiresGrad: t.RequiresGrad}
	if _, err := spec.check(); err != nil {
		return nil, fmt.Errorf("torchsave: tensor %s%v: %w", spec.DType, spec.Shape, err)
	}
	spec.Stride = spec.strides()
	spec.StorageNumel = spec.Numel()
	key := s.key(t, t.NumBytes(), t.Reader)
	meta, err := s.value(t.Metadata, depth)
	if err != nil {
		return nil, err
	}
	state, err := s.value(t.State, depth)
	if err != nil {
		return nil, err
	}
	return tensorObject(spec, key, t.Parameter, meta, t.Class, state), nil
}

var (
	globalRebuildV2        = pickle.Global{Module: "torch._utils", Name: "_rebuild_tensor_v2"}
	globalRebuildV3        = pickle.Global{Module: "torch._utils", Name: "_rebuild_tensor_v3"}
	globalRebuildParam     = pickle.Global{Module: "torch._utils", Name: "_rebuild_parameter"}
	globalRebuildParamWith = pickle.Global{Module: "torch._utils", Name: "_rebuild_parameter_with_state"}
	globalRebuildFromType  = pickle.Global{Module: "torch._tensor", Name: "_rebuild_from_type_v2"}
	globalOrderedDict      = pickle.Global{Module: "collections", Name: "OrderedDict"}
	globalTensor           = pickle.Global{Module: "torch", Name: "Tensor"}
)

// emptyHooks is backward_hooks as torch pickles it: OrderedDict().
func emptyHooks() *pickle.Object {
	return &pickle.Object{Callable: globalOrderedDict, Args: pickle.Tuple{}}
}

func intsTuple(v []int64) pickle.Tuple {
	t := make(pickle.Tuple, len(v))
	for i, x := range v {
		t[i] = x
	}
	return t
}

// storageID is the persistent id of a tensor's storage: the legacy typed
// class counting elements where torch has one, else UntypedStorage
// counting bytes.
func storageID(spec TensorSpec, key string) pickle.PersID {
	class, numel := spec.DType.StorageClass(), spec.StorageNumel
	if class == "" {
		class, numel = untypedStorage, numel*spec.DType.ItemSize()
	}
	return pickle.PersID{ID: pickle.Tuple{"storage", pickle.Global{Module: "torch", Name: class}, key, "cpu", numel}}
}

// tensorObject is the pickle tree of a tensor as torch's reduce writes it:
// _rebuild_tensor_v2 with a legacy storage class, or _rebuild_tensor_v3
// with UntypedStorage and the dtype; wrapped for Parameters and for
// tensors with Python state.
func tensorObject(spec TensorSpec, key string, param bool, meta any, class pickle.Global, state any) *pickle.Object {
	args := pickle.Tuple{storageID(spec, key), spec.Offset, intsTuple(spec.Shape), intsTuple(spec.Stride), spec.RequiresGrad, emptyHooks()}
	fn := globalRebuildV2
	if spec.DType.StorageClass() == "" {
		fn = globalRebuildV3
		args = append(args, pickle.Global{Module: "torch", Name: string(spec.DType)})
	}
	if meta != nil {
		args = append(args, meta)
	}
	switch {
	case param && state != nil:
		inner := &pickle.Object{Callable: fn, Args: withGrad(args, false)}
		return &pickle.Object{Callable: globalRebuildParamWith, Args: pickle.Tuple{inner, spec.RequiresGrad, emptyHooks(), state}}
	case param:
		inner := &pickle.Object{Callable: fn, Args: withGrad(args, false)}
		return &pickle.Object{Callable: globalRebuildParam, Args: pickle.Tuple{inner, spec.RequiresGrad, emptyHooks()}}
	case state != nil || (class != pickle.Global{} && class != globalTensor):
		if class == (pickle.Global{}) {
			class = globalTensor
		}
		return &pickle.Object{Callable: globalRebuildFromType, Args: pickle.Tuple{fn, class, args, state}}
	}
	return &pickle.Object{Callable: fn, Args: args}
}

// withGrad returns args with requires_grad replaced: a Parameter's data is
// a detached tensor, so torch pickles it with requires_grad False.
func withGrad(args pickle.Tuple, rg bool) pickle.Tuple {
	out := append(pickle.Tuple(nil), args...)
	out[4] = rg
	return out
}

// tensorPickle writes data.pkl for a single tensor exactly as Python's
// pickler does for torch.save(tensor): protocol 2 with BINPUT after each
// global, string, non-empty tuple and call result, which internal/pickle's
// encoder leaves out.
func tensorPickle(spec TensorSpec, key string) []byte {
	p := memoPickler{b: []byte{0x80, 2}}
	fn, class, numel := "_rebuild_tensor_v2", spec.DType.StorageClass(), spec.StorageNumel
	if class == "" {
		fn, class, numel = "_rebuild_tensor_v3", untypedStorage, numel*spec.DType.ItemSize()
	}
	p.global("torch._utils", fn)
	p.op('(')
	p.op('(')
	p.str("storage")
	p.global("torch", class)
	p.str(key)
	p.str("cpu")
	p.int(numel)
	p.op('t')
	p.put()
	p.op('Q') // BINPERSID
	p.int(spec.Offset)
	p.tuple(spec.Shape)
	p.tuple(spec.strides())
	if spec.RequiresGrad {
		p.op(0x88)
	} else {
		p.op(0x89)
	}
	p.global("collections", "OrderedDict")
	p.op(')')
	p.op('R')
	p.put()
	if fn == "_rebuild_tensor_v3" {
		p.global("torch", string(spec.DType))
	}
	p.op('t')
	p.put()
	p.op('R')
	p.put()
	p.op('.')
	return p.b
}

type memoPickler struct {
	b    []byte
	memo int
}

func (p *memoPickler) op(c byte) { p.b = append(p.b, c) }

// put memoizes the value on top of the stack (BINPUT, or LONG_BINPUT past
// 255, as pickle does).
func (p *memoPickler) put() {
	if p.memo < 256 {
		p.b = append(p.b, 'q', byte(p.memo))
	} else {
		p.b = append(p.b, 'r', byte(p.memo), byte(p.memo>>8), byte(p.memo>>16), byte(p.memo>>24))
	}
	p.memo++
}

func (p *memoPickler) global(module, name string) {
	p.b = append(p.b, 'c')
	p.b = append(p.b, module...)
	p.b = append(p.b, '\n')
	p.b = append(p.b, name...)
	p.b = append(p.b, '\n')
	p.put()
}

func (p *memoPickler) str(s string) {
	n := len(s)
	p.b = append(p.b, 'X', byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
	p.b = append(p.b, s...)
	p.put()
}

// int writes an int the way pickle's save_long does at protocol 2.
func (p *memoPickler) int(v int64) {
	switch {
	case v >= 0 && v <= 0xff:
		p.b = append(p.b, 'K', byte(v))
	case v >= 0 && v <= 0xffff:
		p.b = append(p.b, 'M', byte(v), byte(v>>8))
	case v >= -1<<31 && v < 1<<31:
		p.b = append(p.b, 'J', byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	default:
		// LONG1 with the minimal little-endian two's complement.
		be := new(big.Int).SetInt64(v).Bytes() // v > 0 here: sizes are non-negative
		n := len(be)
		if be[0]&0x80 != 0 {
			n++
		}
		p.b = append(p.b, 0x8a, byte(n))
		for i := len(be) - 1; i >= 0; i-- {
			p.b = append(p.b, be[i])
		}
		if n > len(be) {
			p.b = append(p.b, 0)
		}
	}
}

func (p *memoPickler) tuple(v []int64) {
	switch len(v) {
	case 0:
		p.op(')')
		return
	case 1, 2, 3:
		for _, x := range v {
			p.int(x)
		}
		p.op([]byte{0x85, 0x86, 0x87}[len(v)-1])
	default:
		p.op('(')
		for _, x := range v {
			p.int(x)
		}
		p.op('t')
	}
	p.put()
}

package torchsave

import "github.com/nemo-migrate/nemo-migrate/internal/pickle"

// BytesIO returns io.BytesIO(b) as Python pickles it at protocol 2:
// _io.BytesIO.__new__ (NEWOBJ with no arguments) followed by BUILD with the
// state (contents, position 0, no __dict__). Transformer Engine keeps its
// _extra_state this way, as a one-element list holding a BytesIO.
//
// torch.load(weights_only=True) rejects such a pickle unless io.BytesIO
// has been allow-listed (Megatron-Core does so); that is torch's rule, not
// a defect of the encoding.
func BytesIO(b []byte) *pickle.Object {
	return &pickle.Object{
		Callable: pickle.Global{Module: "_io", Name: "BytesIO"},
		Args:     pickle.Tuple{},
		NewObj:   true,
		Built:    true,
		State:    pickle.Tuple{pickle.Bytes(b), int64(0), nil},
	}
}

// BytesIOData returns the contents of a decoded io.BytesIO object, whether
// it was pickled by state (NEWOBJ and BUILD, as Python does) or by a call
// with the initial bytes.
func BytesIOData(v any) ([]byte, bool) {
	o, ok := v.(*pickle.Object)
	if !ok || !(o.Is("_io", "BytesIO") || o.Is("io", "BytesIO")) {
		return nil, false
	}
	if o.Built {
		st, ok := o.State.(pickle.Tuple)
		if !ok || len(st) < 1 {
			return nil, false
		}
		b, ok := st[0].(pickle.Bytes)
		return b, ok
	}
	if len(o.Args) == 0 {
		return []byte{}, true
	}
	b, ok := o.Args[0].(pickle.Bytes)
	return b, ok
}

// Package teextra reads the TransformerEngine _extra_state payloads that
// NeMo checkpoints hold, in every form a TE version wrote, and writes them
// in the one form every TE version and Megatron-Core read back.
//
// What TE's get_extra_state returned (transformer_engine/pytorch/module/base.py,
// ops/op.py):
//   - TE 1.x modules: io.BytesIO holding torch.save(None), or torch.save of
//     a dict of fp8 scaling tensors when the module ran in fp8;
//   - TE 2.0-2.3 modules: a uint8 tensor holding pickle.dumps(None), or
//     pickle.dumps of the fp8 dict;
//   - TE >= 2.4 modules: an empty uint8 tensor without fp8 state;
//   - TE 1.13 ops (norms): an empty float32 tensor; 2.0-2.8: pickle.dumps({});
//     >= 2.9: an empty uint8 tensor.
//
// What reads them back: TE <= 2.3 base modules fail on an empty tensor
// (pickle.loads(b"")), TE 2.4 fails on None, TE 2.16.1, 2.17.1 and >= 2.18
// refuse any io.BytesIO ("Refusing to load pickled Transformer Engine extra
// state") and every TE op fails on one. A uint8 tensor holding
// pickle.dumps(None) loads everywhere, Megatron-Core's grouped-MLP decoder
// included, so every state without fp8 scaling is written so. A state with
// fp8 scaling is written as TE >= 2.0 writes it, a uint8 tensor holding the
// pickled dict; TE >= 2.18 loads that only with
// NVTE_ALLOW_UNSAFE_PICKLE_EXTRA_STATE=1, as it does its own checkpoints.
package teextra

import (
	"bytes"
	"fmt"

	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
	"github.com/nemo-migrate/nemo-migrate/internal/torchsave"
)

// NoState is pickle.dumps(None) at Python 3's default protocol.
var NoState = []byte{0x80, 0x04, 'N', '.'}

// MaxState bounds the bytes of one extra state read into memory. TE's
// largest, fp8 amax histories, are a few hundred KiB.
const MaxState = 64 << 20

// Payload is an extra state in the form convert writes.
type Payload struct {
	// Pickle is the pickle the uint8 tensor holds.
	Pickle []byte
	// FP8 reports whether the state carries fp8 scaling state.
	FP8 bool
	// Form names the form it was read from, for notes.
	Form string
}

// Tensor returns the payload as the 1-D uint8 tensor that is stored.
func (p *Payload) Tensor() *torchsave.TensorSource {
	return &torchsave.TensorSource{
		TensorSpec: torchsave.TensorSpec{DType: torchsave.Uint8, Shape: []int64{int64(len(p.Pickle))}},
		Data:       bytes.NewReader(p.Pickle),
	}
}

// Empty is the payload of a module without fp8 state.
func Empty() *Payload { return &Payload{Pickle: NoState, Form: "none"} }

// Normalize returns the payload for an extra state as a checkpoint stored
// it (the object inside torch_dist's one-element list, or a zarr object
// file's value).
func Normalize(v any) (*Payload, error) {
	switch v := v.(type) {
	case nil:
		return &Payload{Pickle: NoState, Form: "None"}, nil
	case *torchsave.Tensor:
		return fromTensor(v)
	}
	data, ok := torchsave.BytesIOData(v)
	if !ok {
		return nil, fmt.Errorf("extra state is %s; TransformerEngine stores None, an io.BytesIO or a uint8 tensor", pickle.TypeName(v))
	}
	p := &Payload{Pickle: NoState, Form: "io.BytesIO"}
	if len(data) == 0 {
		return p, nil
	}
	a, err := torchsave.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("extra state io.BytesIO does not hold a torch.save archive: %w", err)
	}
	if !hasFP8(a.Object, 0) {
		return p, nil
	}
	if p.Pickle, err = torchsave.PlainPickle(a.Object); err != nil {
		return nil, fmt.Errorf("re-encoding an fp8 extra state: %w", err)
	}
	p.FP8 = true
	return p, nil
}

func fromTensor(t *torchsave.Tensor) (*Payload, error) {
	n := t.Numel()
	if n == 0 {
		return &Payload{Pickle: NoState, Form: "empty tensor"}, nil
	}
	if t.DType != torchsave.Uint8 || len(t.Shape) != 1 {
		return nil, fmt.Errorf("extra state is a %s tensor of shape %v; TransformerEngine stores a 1-D uint8 tensor", t.DType, t.Shape)
	}
	if n > MaxState {
		return nil, fmt.Errorf("extra state of %d bytes exceeds the %d-byte limit", n, MaxState)
	}
	var b bytes.Buffer
	if _, err := t.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("reading extra state: %w", err)
	}
	v, err := torchsave.LoadPlain(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("extra state tensor does not hold a pickle: %w", err)
	}
	p := &Payload{Pickle: NoState, Form: "uint8 tensor"}
	if hasFP8(v, 0) {
		p.Pickle, p.FP8 = b.Bytes(), true // already the form TE >= 2.0 writes
	}
	return p, nil
}

// fp8Keys are the dict keys of delayed-scaling state, in TE 1.x and 2.x
// modules and ops; TE's own loader (_extra_state.py) looks for the same.
var fp8Keys = map[string]bool{
	"scale_fwd": true, "scale_inv_fwd": true, "amax_history_fwd": true,
	"scale_bwd": true, "scale_inv_bwd": true, "amax_history_bwd": true,
}

// hasFP8 reports whether a decoded state holds fp8 scaling state anywhere.
// Anything else (None, {}, a dict of plain settings) is what TE itself
// treats as no state.
func hasFP8(v any, depth int) bool {
	if depth > 32 {
		return true // not a shape TE writes; keep it rather than drop it
	}
	switch v := v.(type) {
	case *pickle.Dict:
		for _, it := range v.Items {
			if k, ok := it.Key.(string); ok && fp8Keys[k] {
				return true
			}
			if hasFP8(it.Value, depth+1) {
				return true
			}
		}
	case *pickle.List:
		for _, it := range v.Items {
			if hasFP8(it, depth+1) {
				return true
			}
		}
	}
	return false
}

// Canonical returns a comparable view of an extra state's meaning: nil for
// one without fp8 state, else the fp8 state with every tensor replaced by
// its (dtype, shape, hash) (torchsave.Canonical), so that states compare
// with pickle.Equal whatever form they were stored in.
func Canonical(v any) (any, error) {
	p, err := Normalize(v)
	if err != nil {
		return nil, err
	}
	if !p.FP8 {
		return nil, nil
	}
	state, err := torchsave.LoadPlain(p.Pickle)
	if err != nil {
		return nil, err
	}
	return torchsave.Canonical(state)
}

package torchsave

import (
	"crypto/sha256"
	"fmt"

	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// maxTreeDepth bounds the nesting MapTensors walks.
const maxTreeDepth = 200

// MapTensors returns a copy of the decoded tree v with every *Tensor
// replaced by fn's result. Lists, tuples, dicts and call objects (their
// arguments and state) are copied; other values are shared.
func MapTensors(v any, fn func(*Tensor) (any, error)) (any, error) {
	return mapTensors(v, fn, 0)
}

func mapTensors(v any, fn func(*Tensor) (any, error), depth int) (any, error) {
	if depth > maxTreeDepth {
		return nil, fmt.Errorf("torchsave: object nests deeper than %d", maxTreeDepth)
	}
	each := func(items []any) ([]any, error) {
		out := make([]any, len(items))
		for i, it := range items {
			c, err := mapTensors(it, fn, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	switch v := v.(type) {
	case *Tensor:
		return fn(v)
	case *pickle.List:
		items, err := each(v.Items)
		return &pickle.List{Items: items}, err
	case pickle.Tuple:
		items, err := each(v)
		return pickle.Tuple(items), err
	case *pickle.Dict:
		out := &pickle.Dict{}
		for _, it := range v.Items {
			c, err := mapTensors(it.Value, fn, depth+1)
			if err != nil {
				return nil, err
			}
			out.Items = append(out.Items, pickle.Item{Key: it.Key, Value: c})
		}
		return out, nil
	case *pickle.Object:
		o := *v
		args, err := each(v.Args)
		if err != nil {
			return nil, err
		}
		o.Args = args
		if o.State, err = mapTensors(v.State, fn, depth+1); err != nil {
			return nil, err
		}
		return &o, nil
	}
	return v, nil
}

// Canonical returns v with every tensor replaced by a ("tensor", dtype,
// shape, sha256 of its elements) tuple, so that trees compare by value
// with pickle.Equal whichever archive or form the tensors came from.
func Canonical(v any) (any, error) {
	return MapTensors(v, func(t *Tensor) (any, error) {
		h := sha256.New()
		if _, err := t.WriteTo(h); err != nil {
			return nil, err
		}
		return pickle.Tuple{"tensor", string(t.DType), intsTuple(t.Shape), pickle.Bytes(h.Sum(nil))}, nil
	})
}

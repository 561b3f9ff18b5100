package torchsave

import (
	"fmt"

	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// rebuild walks the decoded tree and replaces each call that rebuilds a
// tensor with a *Tensor. The walk uses an explicit stack of slots, so deep
// nesting cannot exhaust the goroutine stack, and expands each shared
// container once, so cycles made through the memo end.
func (a *Archive) rebuild(root any) (any, error) {
	done := map[*pickle.Object]*Tensor{}
	seen := map[any]bool{}
	stack := []*any{&root}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if o, ok := (*p).(*pickle.Object); ok {
			t, known := done[o]
			if !known {
				var err error
				if t, err = a.tensorFromCall(o, 0); err != nil {
					return nil, err
				}
				if t != nil {
					done[o] = t
					a.tensors = append(a.tensors, t)
				}
			}
			if t != nil {
				*p = t
			}
		}
		key, slots := children(*p)
		if key == nil || seen[key] {
			continue
		}
		seen[key] = true
		// Push in reverse so that the walk, and Tensors, follow the
		// order of the document.
		for i := len(slots) - 1; i >= 0; i-- {
			stack = append(stack, slots[i])
		}
	}
	return root, nil
}

// children returns pointers to the slots of a container that may hold
// tensors, and a key naming the container; the key is nil for values that
// hold nothing.
func children(v any) (key any, slots []*any) {
	elems := func(items []any) {
		for i := range items {
			slots = append(slots, &items[i])
		}
	}
	values := func(items []pickle.Item) {
		for i := range items {
			slots = append(slots, &items[i].Value)
		}
	}
	switch c := v.(type) {
	case *pickle.List:
		elems(c.Items)
		return c, slots
	case pickle.Tuple:
		if len(c) == 0 {
			return nil, nil
		}
		elems(c)
		return &c[0], slots
	case *pickle.Set:
		elems(c.Items)
		return c, slots
	case *pickle.Dict:
		// Keys stay as they are: tensors are not dict keys in practice,
		// and replacing a key would bypass the dict's index.
		values(c.Items)
		return c, slots
	case *pickle.Object:
		slots = append(slots, &c.Callable)
		elems(c.Args)
		if c.Kwargs != nil {
			values(c.Kwargs.Items)
		}
		elems(c.ListItems)
		values(c.DictItems)
		slots = append(slots, &c.State)
		return c, slots
	case *Tensor:
		return c, []*any{&c.Metadata, &c.State}
	}
	return nil, nil
}

// tensorFromCall recognises the calls torch pickles tensors as and
// returns the tensor, or nil for any other call.
func (a *Archive) tensorFromCall(o *pickle.Object, depth int) (*Tensor, error) {
	g, ok := o.Class()
	if !ok || o.NewObj {
		return nil, nil
	}
	switch g {
	case pickle.Global{Module: "torch._utils", Name: "_rebuild_tensor_v2"},
		pickle.Global{Module: "torch._utils", Name: "_rebuild_tensor_v3"}:
		return a.tensorFromArgs(g.Name, o.Args)
	case pickle.Global{Module: "torch._utils", Name: "_rebuild_parameter"},
		pickle.Global{Module: "torch._utils", Name: "_rebuild_parameter_with_state"}:
		want := 3
		if g.Name == "_rebuild_parameter_with_state" {
			want = 4
		}
		if len(o.Args) != want {
			return nil, fmt.Errorf("%s takes %d arguments, got %d", g, want, len(o.Args))
		}
		inner, err := a.nestedTensor(o.Args[0], depth)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g, err)
		}
		rg, ok := o.Args[1].(bool)
		if !ok {
			return nil, fmt.Errorf("%s: requires_grad is %s, want bool", g, describe(o.Args[1]))
		}
		t := *inner
		t.Parameter, t.RequiresGrad = true, rg
		if want == 4 {
			t.State = o.Args[3]
		}
		return &t, nil
	case pickle.Global{Module: "torch._tensor", Name: "_rebuild_from_type_v2"}:
		if len(o.Args) != 4 {
			return nil, fmt.Errorf("%s takes 4 arguments, got %d", g, len(o.Args))
		}
		fn, ok1 := o.Args[0].(pickle.Global)
		cls, ok2 := o.Args[1].(pickle.Global)
		args, ok3 := o.Args[2].(pickle.Tuple)
		if !ok1 || !ok2 || !ok3 || fn.Module != "torch._utils" ||
			(fn.Name != "_rebuild_tensor_v2" && fn.Name != "_rebuild_tensor_v3") {
			return nil, nil // some other subclass rebuild: keep it generic
		}
		t, err := a.tensorFromArgs(fn.Name, args)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g, err)
		}
		t.Class, t.State = cls, o.Args[3]
		return t, nil
	}
	return nil, nil
}

// nestedTensor resolves the tensor argument of a Parameter rebuild.
func (a *Archive) nestedTensor(v any, depth int) (*Tensor, error) {
	switch v := v.(type) {
	case *Tensor:
		return v, nil
	case *pickle.Object:
		if depth < 4 {
			t, err := a.tensorFromCall(v, depth+1)
			if err != nil || t != nil {
				return t, err
			}
		}
	}
	return nil, fmt.Errorf("data is %s, want a tensor", describe(v))
}

// tensorFromArgs builds a tensor from the arguments of
// _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
// or _rebuild_tensor_v3(..., hooks, dtype[, metadata]).
func (a *Archive) tensorFromArgs(fn string, args pickle.Tuple) (*Tensor, error) {
	nargs := 6 // a 7th argument is metadata
	if fn == "_rebuild_tensor_v3" {
		nargs = 7
	}
	if len(args) != nargs && len(args) != nargs+1 {
		return nil, fmt.Errorf("%s takes %d or %d arguments, got %d", fn, nargs, nargs+1, len(args))
	}
	s, ok := args[0].(*Storage)
	if !ok && a.storageArg != nil {
		var err error
		if s, err = a.storageArg(args[0]); err != nil {
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
		ok = s != nil
	}
	if !ok {
		return nil, fmt.Errorf("%s: storage is %s, want a persistent storage id", fn, describe(args[0]))
	}
	t := &Tensor{Storage: s}
	t.DType = s.DType
	if fn == "_rebuild_tensor_v3" {
		g, ok := args[6].(pickle.Global)
		d, known := dtypeByName(g.Name)
		if !ok || g.Module != "torch" || !known {
			return nil, fmt.Errorf("%s: dtype is %s, want a torch dtype", fn, describe(args[6]))
		}
		t.DType = d
	}
	if len(args) > nargs {
		t.Metadata = args[nargs]
	}
	off, ok := pickle.AsInt(args[1])
	if _, isBool := args[1].(bool); !ok || isBool {
		return nil, fmt.Errorf("%s: storage offset is %s, want int", fn, describe(args[1]))
	}
	t.Offset = off
	var err error
	if t.Shape, err = pickle.AsInts(args[2]); err != nil {
		return nil, fmt.Errorf("%s: size: %w", fn, err)
	}
	if t.Stride, err = pickle.AsInts(args[3]); err != nil {
		return nil, fmt.Errorf("%s: stride: %w", fn, err)
	}
	if t.RequiresGrad, ok = args[4].(bool); !ok {
		return nil, fmt.Errorf("%s: requires_grad is %s, want bool", fn, describe(args[4]))
	}
	need, err := t.check()
	if err != nil {
		return nil, fmt.Errorf("%s on storage %s: %w", fn, s.Key, err)
	}
	size := t.DType.ItemSize()
	if need*size > s.Size {
		return nil, fmt.Errorf("%s on storage %s: %w: shape %v, stride %v and storage offset %d need %d bytes of %s, but record %s/data/%s holds %d",
			fn, s.Key, ErrFormat, t.Shape, t.Stride, t.Offset, need*size, t.DType, a.Name, s.Key, s.Size)
	}
	t.StorageNumel = s.Size / size
	return t, nil
}

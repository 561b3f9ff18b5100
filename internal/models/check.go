package models

import (
	"fmt"
	"slices"
	"strings"
)

// Source describes what a checkpoint holds, from whichever reader: every
// tensor and every object key, named as NeMo 2 names them (see NeMo2Key).
type Source struct {
	Tensors []SourceTensor
	// Objects are the objects' unique keys, "<key>/shard_<off>_<shape>".
	Objects []string
}

// SourceTensor is one tensor of a source checkpoint.
type SourceTensor struct {
	Key   string
	DType string
	Shape []int64
}

// NeMo2Key maps a NeMo 1.0 key to its NeMo 2.0 key: the first "model."
// becomes "module." (NeMo 1 prefixes its GPT model "model.", NeMo 2's
// MegatronParallel "module."). A key without "model." (a bare Megatron-LM
// checkpoint) gets "module." in front; a "module." key stays as it is.
func NeMo2Key(key string) string {
	if strings.HasPrefix(key, "module.") {
		return key
	}
	if i := strings.Index(key, "model."); i >= 0 {
		return key[:i] + "module." + key[i+len("model."):]
	}
	return "module." + key
}

// DiffKind classifies a difference between a manifest and a source.
type DiffKind uint8

const (
	Missing    DiffKind = iota + 1 // requested but absent from the source
	Unexpected                     // in the source but not requested
	ShapeDiff                      // global shapes differ
	DTypeDiff                      // dtypes differ
	KindDiff                       // a tensor on one side, an object on the other
)

func (k DiffKind) String() string {
	switch k {
	case Missing:
		return "missing"
	case Unexpected:
		return "unexpected"
	case ShapeDiff:
		return "shape mismatch"
	case DTypeDiff:
		return "dtype mismatch"
	case KindDiff:
		return "kind mismatch"
	}
	return fmt.Sprintf("DiffKind(%d)", uint8(k))
}

// Diff is one difference between what the model requests and what the
// source holds.
type Diff struct {
	Kind   DiffKind
	Key    string
	Object bool // the key is an object's unique key
	// Want and Got are the manifest's and the source's shape or dtype.
	WantShape, GotShape []int64
	WantDType, GotDType string
}

func (d Diff) String() string {
	what := "tensor"
	if d.Object {
		what = "object"
	}
	switch d.Kind {
	case Missing:
		if d.Object {
			return fmt.Sprintf("missing object %s", d.Key)
		}
		return fmt.Sprintf("missing tensor %s %s %s", d.Key, d.WantDType, formatShape(d.WantShape))
	case Unexpected:
		return fmt.Sprintf("unexpected %s %s", what, d.Key)
	case ShapeDiff:
		return fmt.Sprintf("%s: model expects shape %s, checkpoint has %s", d.Key, formatShape(d.WantShape), formatShape(d.GotShape))
	case DTypeDiff:
		return fmt.Sprintf("%s: model expects dtype %s, checkpoint has %s", d.Key, d.WantDType, d.GotDType)
	case KindDiff:
		if d.Object {
			return fmt.Sprintf("%s: model expects an object, checkpoint has a tensor", d.Key)
		}
		return fmt.Sprintf("%s: model expects a tensor, checkpoint has an object", d.Key)
	}
	return d.Kind.String() + " " + d.Key
}

// Check compares a source checkpoint with a manifest and returns every
// difference, in manifest order then source order. A nil result means the
// source provides exactly what the model requests.
func Check(m *Manifest, src *Source) []Diff {
	var diffs []Diff
	srcTensors := make(map[string]SourceTensor, len(src.Tensors))
	for _, t := range src.Tensors {
		srcTensors[t.Key] = t
	}
	srcObjects := make(map[string]bool, len(src.Objects))
	srcObjectBases := map[string]bool{}
	for _, k := range src.Objects {
		srcObjects[k] = true
		srcObjectBases[objectBase(k)] = true
	}
	wantTensors := make(map[string]bool, len(m.Tensors))
	for _, t := range m.Tensors {
		wantTensors[t.Key] = true
		s, ok := srcTensors[t.Key]
		switch {
		case !ok && srcObjectBases[t.Key]:
			diffs = append(diffs, Diff{Kind: KindDiff, Key: t.Key})
		case !ok:
			diffs = append(diffs, Diff{Kind: Missing, Key: t.Key, WantShape: t.Shape, WantDType: t.DType})
		default:
			if !slices.Equal(s.Shape, t.Shape) {
				diffs = append(diffs, Diff{Kind: ShapeDiff, Key: t.Key, WantShape: t.Shape, GotShape: s.Shape})
			}
			if s.DType != t.DType {
				diffs = append(diffs, Diff{Kind: DTypeDiff, Key: t.Key, WantDType: t.DType, GotDType: s.DType})
			}
		}
	}
	wantObjects := make(map[string]bool, len(m.Objects))
	wantObjectBases := map[string]bool{}
	for _, o := range m.Objects {
		wantObjects[o.Key] = true
		wantObjectBases[objectBase(o.Key)] = true
		if !srcObjects[o.Key] {
			if _, isTensor := srcTensors[objectBase(o.Key)]; isTensor {
				diffs = append(diffs, Diff{Kind: KindDiff, Key: o.Key, Object: true})
				continue
			}
			diffs = append(diffs, Diff{Kind: Missing, Key: o.Key, Object: true})
		}
	}
	for _, t := range src.Tensors {
		if !wantTensors[t.Key] && !wantObjectBases[t.Key] {
			diffs = append(diffs, Diff{Kind: Unexpected, Key: t.Key, GotShape: t.Shape, GotDType: t.DType})
		}
	}
	for _, k := range src.Objects {
		if !wantObjects[k] && !wantTensors[objectBase(k)] {
			diffs = append(diffs, Diff{Kind: Unexpected, Key: k, Object: true})
		}
	}
	return diffs
}

// objectBase returns the key of an object's unique key (before "/shard_").
func objectBase(unique string) string {
	if i := strings.LastIndex(unique, "/shard_"); i >= 0 {
		return unique[:i]
	}
	return unique
}

// MismatchError reports every difference between a source checkpoint and
// the model chosen for it.
type MismatchError struct {
	Model string // the model id or config class
	Diffs []Diff
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the checkpoint does not match %s: %d difference(s)", e.Model, len(e.Diffs))
	const show = 20
	for i, d := range e.Diffs {
		if i == show {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Diffs)-show)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(d.String())
	}
	b.WriteString("\nIf the checkpoint is a differently sized model, use --model_id auto to take the architecture from its model_config.yaml.")
	return b.String()
}

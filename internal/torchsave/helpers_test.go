package torchsave

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// treeJSON describes a tree read by Open in the form testdata/torchdesc.py
// gives a torch.load result, reading every tensor's bytes.
func treeJSON(t testing.TB, v any) any {
	t.Helper()
	pairs := func(items []pickle.Item) []any {
		out := []any{}
		for _, it := range items {
			out = append(out, []any{treeJSON(t, it.Key), treeJSON(t, it.Value)})
		}
		return out
	}
	list := func(items []any) []any {
		out := []any{}
		for _, it := range items {
			out = append(out, treeJSON(t, it))
		}
		return out
	}
	switch v := v.(type) {
	case *Tensor:
		var b bytes.Buffer
		n, err := v.WriteTo(&b)
		if err != nil || n != v.NumBytes() {
			t.Fatalf("reading tensor %s%v: %d of %d bytes: %v", v.DType, v.Shape, n, v.NumBytes(), err)
		}
		return map[string]any{"tensor": map[string]any{
			"dtype": string(v.DType), "shape": v.Shape, "stride": v.Stride, "offset": v.Offset,
			"requires_grad": v.RequiresGrad, "param": v.Parameter, "hex": hex.EncodeToString(b.Bytes()),
		}}
	case *pickle.Dict:
		return map[string]any{"dict": pairs(v.Items)}
	case *pickle.Object:
		if v.Is("collections", "OrderedDict") {
			d, ok := pickle.AsDict(v)
			if !ok {
				t.Fatalf("OrderedDict that AsDict rejects")
			}
			return map[string]any{"odict": pairs(d.Items)}
		}
		if b, ok := BytesIOData(v); ok {
			return map[string]any{"bytesio": hex.EncodeToString(b)}
		}
		return map[string]any{"unknown": pickle.TypeName(v)}
	case *pickle.List:
		return map[string]any{"list": list(v.Items)}
	case pickle.Tuple:
		return map[string]any{"tuple": list(v)}
	case bool:
		return map[string]any{"bool": v}
	case int64:
		return map[string]any{"int": fmt.Sprint(v)}
	case *big.Int:
		return map[string]any{"int": v.String()}
	case float64:
		return map[string]any{"float": fmt.Sprintf("%016x", math.Float64bits(v))}
	case string:
		return map[string]any{"str": v}
	case pickle.Bytes:
		return map[string]any{"bytes": hex.EncodeToString(v)}
	case nil:
		return map[string]any{"none": true}
	}
	return map[string]any{"unknown": pickle.TypeName(v)}
}

// normJSON round-trips a value through JSON so that Go and Python
// descriptions compare with reflect.DeepEqual.
func normJSON(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameJSON(t testing.TB, what string, got, want any) {
	t.Helper()
	g, w := normJSON(t, got), normJSON(t, want)
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.MarshalIndent(g, "", " ")
		wb, _ := json.MarshalIndent(w, "", " ")
		t.Errorf("%s: Go reads\n%s\ntorch loads\n%s", what, gb, wb)
	}
}

// runTorch runs a Python script with torch 1.13 after putting testdata
// (torchdesc.py) on sys.path; the script's argv[1] is that directory and
// later arguments follow.
func runTorch(t testing.TB, script string, args ...string) []byte {
	t.Helper()
	td, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	pre := "import sys; sys.path.insert(0, sys.argv[1])\n"
	return oracle.Run(t, []string{"torch"}, pre+script, append([]string{td}, args...)...)
}

func openBytes(t testing.TB, b []byte) *Archive {
	t.Helper()
	a, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return a
}

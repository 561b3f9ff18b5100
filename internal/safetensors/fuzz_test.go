package safetensors

import (
	"bytes"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/membudget"
)

// FuzzRead feeds arbitrary files to the header reader: it must never panic
// or allocate beyond the header limit, and what it accepts must tile the
// file exactly.
func FuzzRead(f *testing.F) {
	l, _ := Layout([]Spec{{"a", "BF16", []int64{2, 2}}, {"b", "F32", []int64{1}}}, map[string]string{"format": "pt"})
	f.Add(append(append([]byte(nil), l.Header()...), make([]byte, 12)...))
	f.Add(header(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 2))
	f.Add(header(`{}`, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer membudget.Check(t, len(data))()
		file, err := Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if file.Size() != int64(len(data)) {
			t.Fatalf("accepted a file of %d bytes whose tensors end at %d", len(data), file.Size())
		}
		var at int64
		for _, tn := range file.Tensors {
			if tn.Begin != at {
				t.Fatalf("tensor %s at %d, expected %d", tn.Name, tn.Begin, at)
			}
			at = tn.End
		}
	})
}

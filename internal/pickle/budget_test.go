package pickle

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"nemo-migrate/internal/membudget"
)

// hostile pickles, each small on disk and huge once decoded.
func hostile(n int) map[string][]byte {
	var nested bytes.Buffer // [[[[...]]]]
	nested.WriteString("\x80\x02")
	nested.WriteString(strings.Repeat("]", n))
	nested.WriteString(strings.Repeat("a", n-1))
	nested.WriteString(".")

	var refs bytes.Buffer // one memo entry referenced n times
	refs.WriteString("\x80\x02]q\x00(")
	refs.WriteString(strings.Repeat("h\x00", n))
	refs.WriteString("e.")

	var stack bytes.Buffer // n values pushed and dropped at once
	stack.WriteString("\x80\x02(")
	stack.WriteString(strings.Repeat("N", n))
	stack.WriteString("1N.")

	var memo bytes.Buffer // n memo entries of one empty dict each
	memo.WriteString("\x80\x02(")
	memo.WriteString(strings.Repeat("}\x94", n))
	memo.WriteString("l.")

	var objs bytes.Buffer // n objects built from one global
	objs.WriteString("\x80\x02(cm\nc\nq\x00")
	objs.WriteString(strings.Repeat("h\x00)\x81", n))
	objs.WriteString("l.")
	return map[string][]byte{
		"nested lists": nested.Bytes(), "memo references": refs.Bytes(),
		"stack": stack.Bytes(), "memo entries": memo.Bytes(), "objects": objs.Bytes(),
	}
}

// TestBudget: each hostile pickle is refused at the budget, and what the
// decoder allocated before refusing stays within a small multiple of it.
func TestBudget(t *testing.T) {
	const limit = 8 << 20
	for name, data := range hostile(1 << 20) {
		t.Run(name, func(t *testing.T) {
			before := membudget.Allocated()
			_, err := (&Decoder{MaxBytes: limit}).Decode(data)
			used := membudget.Allocated() - before
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("%d-byte pickle: err = %v, want ErrTooLarge", len(data), err)
			}
			t.Logf("%d bytes: allocated %.1f MiB before refusing (limit %d MiB): %v", len(data), float64(used)/(1<<20), limit>>20, err)
			if used > 2*limit {
				t.Errorf("allocated %d bytes before refusing, more than twice the %d-byte budget", used, limit)
			}
		})
	}
}

// TestBudgetFits: the same shapes at a size the budget allows decode, so
// the budget is not a blanket refusal.
func TestBudgetFits(t *testing.T) {
	for name, data := range hostile(1000) {
		if _, err := Unmarshal(data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

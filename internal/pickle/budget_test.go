package pickle

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/membudget"
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

// TestMemoKeepsWhatIsRead: values memoized but never read are let go, read
// ones are handed out again, and MEMOIZE numbering counts both.
func TestMemoKeepsWhatIsRead(t *testing.T) {
	// [a, b, a] with "a" and "b" memoized by MEMOIZE (0, 1) and "a" read
	// back; then "c" put at index 7 and read.
	data := []byte("\x80\x04(\x8c\x01a\x94\x8c\x01b\x94h\x00\x8c\x01cq\x07h\x07l.")
	d := &decodeState{Decoder: &Decoder{}, data: data, limit: 1 << 20}
	reads, ok := scanReads(data)
	if !ok {
		t.Fatal("scanReads could not step over the pickle")
	}
	d.memo.reads, d.memo.scanned = reads, true
	v, err := d.run()
	if err != nil {
		t.Fatal(err)
	}
	want := &List{Items: []any{"a", "b", "a", "c", "c"}}
	if !Equal(v, want) {
		t.Fatalf("decoded %#v, want %#v", v, want)
	}
	if len(d.memo.sparse) != 2 || d.memo.n != 3 {
		t.Errorf("memo keeps %d values of %d put, want 2 of 3", len(d.memo.sparse), d.memo.n)
	}
	if _, kept := d.memo.sparse[1]; kept {
		t.Error("the never-read \"b\" is kept")
	}
}

// TestScanReadsGivesUp: a pickle the scan cannot step over, or that puts
// past the bitmap's reach, decodes with the whole memo kept.
func TestScanReadsGivesUp(t *testing.T) {
	for name, data := range map[string][]byte{
		"unknown opcode":   []byte("\x80\x02\xffN."),
		"truncated":        []byte("\x80\x02X\x05\x00\x00\x00ab"),
		"far PUT":          []byte("\x80\x02Nr\x00\x00\x00\x10j\x00\x00\x00\x10\x86."),
		"far GET":          []byte("\x80\x02g99999999\n."),
		"no STOP":          []byte("\x80\x02N"),
		"bad GET argument": []byte("\x80\x02gx\n."),
	} {
		if _, ok := scanReads(data); ok {
			t.Errorf("%s: scanReads claims to know the reads", name)
		}
	}
	v, err := Unmarshal([]byte("\x80\x02Nr\x00\x00\x00\x10j\x00\x00\x00\x10\x86."))
	if err != nil || !Equal(v, Tuple{nil, nil}) {
		t.Errorf("far PUT then GET: %#v, %v", v, err)
	}
}

// TestBuildHook: the hook's value stands for the object on the stack and
// in the memo, and replaced objects are credited back to the budget.
func TestBuildHook(t *testing.T) {
	// [o, o] where o = m.c() built with {"x": 1}, memoized and read again.
	data := []byte("\x80\x02(cm\nc\n)\x81q\x00}X\x01\x00\x00\x00xK\x01sbh\x00l.")
	type compact struct{ x int64 }
	d := Decoder{Build: func(o *Object) (any, bool) {
		x, _ := o.Attr("x")
		n, _ := x.(int64)
		return compact{n}, true
	}}
	v, err := d.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := v.(*List)
	if l == nil || len(l.Items) != 2 || l.Items[0] != (compact{1}) || l.Items[1] != (compact{1}) {
		t.Fatalf("decoded %#v, want the hook's value twice", v)
	}

	// n objects that a hook replaces by a small value fit a budget that
	// the objects themselves do not.
	const n = 1 << 16
	var objs bytes.Buffer
	objs.WriteString("\x80\x02(cm\nc\nq\x00")
	objs.WriteString(strings.Repeat("h\x00)\x81}b0", n)) // built, then dropped
	objs.WriteString("l.")
	const limit = 4 << 20 // the objects alone are charged 8 MiB and more
	if _, err := (&Decoder{MaxBytes: limit}).Decode(objs.Bytes()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("without a hook: err = %v, want ErrTooLarge", err)
	}
	hook := func(*Object) (any, bool) { return nil, true }
	if _, err := (&Decoder{MaxBytes: limit, Build: hook}).Decode(objs.Bytes()); err != nil {
		t.Fatalf("with a hook that replaces each object: %v", err)
	}
}

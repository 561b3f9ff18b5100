package membudget

import "testing"

// fakeT records a failure instead of stopping the test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Fatalf(string, ...any) { f.failed = true }

var sink []byte

func TestCheck(t *testing.T) {
	small := &fakeT{TB: t}
	done := Check(small, 10)
	sink = make([]byte, 1<<20)
	done()
	if small.failed {
		t.Error("1 MiB for a 10-byte input was refused; the limit is 64 MiB")
	}
	big := &fakeT{TB: t}
	done = Check(big, 10)
	sink = make([]byte, Limit(10)+1)
	done()
	if !big.failed {
		t.Error("allocating past Limit(10) was not caught")
	}
	sink = nil
}

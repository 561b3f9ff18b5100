// Package membudget bounds what one call allocates. Fuzz targets use it so
// that a parser whose memory grows much faster than its input (a pickle of
// nested lists, a YAML alias bomb) fails there as a crashing input would,
// instead of only making a real run slow or killed.
package membudget

import (
	"runtime/metrics"
	"testing"
)

// Allocated returns the bytes the Go heap has allocated since the process
// started (freed or not).
func Allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Limit is what handling an input of n bytes may allocate: 64 MiB, plus
// 128 bytes per input byte for parsers that build a tree of what they read.
func Limit(n int) uint64 { return 64<<20 + 128*uint64(n) }

// Check starts counting and returns the function that fails t if more
// than Limit(n) was allocated since; use it as
//
//	defer membudget.Check(t, len(data))()
func Check(t testing.TB, n int) func() {
	before := Allocated()
	return func() {
		t.Helper()
		if got := Allocated() - before; got > Limit(n) {
			t.Fatalf("a %d-byte input allocated %d MiB, more than the %d MiB allowed", n, got>>20, Limit(n)>>20)
		}
	}
}

package configmig

import (
	"flag"
	"os"
	"testing"
)

// TestMain shortens the fuzzer's minimization of new inputs (60 s by
// default) unless -fuzzminimizetime is given: the seed configs are a few
// kilobytes, and minimizing one of their mutants would otherwise take most
// of a 30 s fuzz run.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.fuzzminimizetime" })
	if !set {
		flag.Set("test.fuzzminimizetime", "2s")
	}
	os.Exit(m.Run())
}

package main

import (
	"fmt"
	"runtime/debug"
)

// versionString describes the build: the module version (a tag when
// installed with go install ...@vX, "(devel)" from a checkout), the VCS
// revision and time go build stamped, and the Go version.
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "nemo-migrate (no build information)"
	}
	s := "nemo-migrate " + bi.Main.Version
	var rev, at, dirty string
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.time":
			at = kv.Value
		case "vcs.modified":
			if kv.Value == "true" {
				dirty = ", modified"
			}
		}
	}
	if rev != "" {
		s += fmt.Sprintf(" (%s %s%s)", rev[:min(12, len(rev))], at, dirty)
	}
	return s + " " + bi.GoVersion
}

func runVersion(e *env, args []string) error {
	fs := newFlagSet(e, "version", "", "Version prints the build's module version, VCS revision and Go version.")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	fmt.Fprintln(e.stdout, versionString())
	return nil
}

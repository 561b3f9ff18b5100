//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package fingerprint

import "io/fs"

type sysState struct{}

func stateOf(info fs.FileInfo) state { return state{size: info.Size(), mtime: info.ModTime()} }

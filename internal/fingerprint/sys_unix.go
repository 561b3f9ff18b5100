//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fingerprint

import (
	"io/fs"
	"syscall"
)

// sysState holds what a writer cannot set back: the change time moves on
// every write or attribute change, even when the modification time is
// restored (touch -r), and the inode tells a replaced file.
type sysState struct {
	dev, ino          uint64
	ctimeSec, ctimeNs int64
}

func stateOf(info fs.FileInfo) state {
	s := state{size: info.Size(), mtime: info.ModTime()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		sec, nsec := ctime(st)
		s.sys = sysState{dev: uint64(st.Dev), ino: uint64(st.Ino), ctimeSec: sec, ctimeNs: nsec}
	}
	return s
}

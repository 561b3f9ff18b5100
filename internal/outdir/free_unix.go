//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package outdir

import "golang.org/x/sys/unix"

// FreeSpace returns the bytes an unprivileged writer may still use on the
// filesystem holding dir, or -1 when it cannot be told.
func FreeSpace(dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

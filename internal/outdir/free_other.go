//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package outdir

// FreeSpace returns -1: free space is not known on this system.
func FreeSpace(string) int64 { return -1 }

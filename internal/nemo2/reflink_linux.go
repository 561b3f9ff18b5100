package nemo2

import (
	"os"
	"syscall"
)

// ficlone is the FICLONE ioctl, _IOW(0x94, 9, int).
const ficlone = 0x40049409

// reflink makes dst share src's blocks (copy on write), where the
// filesystem supports it.
func reflink(dst, src *os.File) error {
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, dst.Fd(), ficlone, src.Fd())
	if errno != 0 {
		return errno
	}
	return nil
}

package nemo2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// copyStep is how much is copied between checks of the context, so that
// Ctrl-C stops a multi-gigabyte copy promptly.
const copyStep = 256 << 20

// copyRange copies n bytes of src at off to the start of dst. A whole
// file is first offered to the kernel as a reflink (instant on XFS and
// btrfs); otherwise (*os.File).ReadFrom turns each step into
// copy_file_range, which stays in the kernel, and falls back to a buffered
// copy by itself where that is not possible. src must be the caller's own
// descriptor: its offset is moved.
func copyRange(ctx context.Context, dst, src *os.File, off, n int64, done func(int64)) error {
	if off == 0 {
		if st, err := src.Stat(); err == nil && st.Size() == n && reflink(dst, src) == nil {
			report(done, n)
			return nil
		}
	}
	if _, err := src.Seek(off, io.SeekStart); err != nil {
		return err
	}
	return copyReader(ctx, dst, src, n, done)
}

// copyReader copies exactly n bytes from src to dst in steps.
func copyReader(ctx context.Context, dst *os.File, src io.Reader, n int64, done func(int64)) error {
	var copied int64
	for copied < n {
		if err := ctx.Err(); err != nil {
			return err
		}
		step := min(n-copied, copyStep)
		m, err := dst.ReadFrom(io.LimitReader(src, step))
		copied += m
		report(done, m)
		if err != nil {
			return err
		}
		if m != step {
			return fmt.Errorf("source ended after %d of %d bytes: %w", copied, n, io.ErrUnexpectedEOF)
		}
	}
	return nil
}

func report(done func(int64), n int64) {
	if done != nil && n > 0 {
		done(n)
	}
}

var errNoReflink = errors.New("reflink not supported")

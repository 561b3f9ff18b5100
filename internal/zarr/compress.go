package zarr

import (
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// newDecompressor returns a reader of the decompressed stream of a chunk
// compressed by numcodecs with the codec id. The caller reads at most
// want+1 bytes from it, which caps the output. For zstd the window, which
// the decoder allocates up front, is also capped: at the chunk size, but at
// least 8 MiB (the window of common streaming encoders) and at most 512 MiB
// (numcodecs writes single-segment frames, whose window is the whole chunk,
// so larger zstd chunks are refused rather than buffered whole).
func newDecompressor(id string, r io.Reader, want int64) (io.ReadCloser, error) {
	switch id {
	case "zlib":
		return zlib.NewReader(r)
	case "gzip":
		return gzip.NewReader(r)
	case "zstd":
		limit := uint64(min(max(want, zstdStreamWindow), zstd.MaxWindowSize))
		d, err := zstd.NewReader(r,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxMemory(limit),
			zstd.WithDecoderMaxWindow(limit))
		if err != nil {
			return nil, err
		}
		return zstdReader{d, limit}, nil
	}
	return nil, fmt.Errorf("compressor %q is not supported", id)
}

const zstdStreamWindow = 8 << 20

// zstdReader adapts *zstd.Decoder, whose Close returns nothing, and says
// what the window limit was when a frame exceeds it.
type zstdReader struct {
	d     *zstd.Decoder
	limit uint64
}

func (z zstdReader) Read(p []byte) (int, error) {
	n, err := z.d.Read(p)
	if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		err = fmt.Errorf("%w (limit %d bytes)", err, z.limit)
	}
	return n, err
}

func (z zstdReader) Close() error { z.d.Close(); return nil }

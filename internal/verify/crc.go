package verify

import "hash/crc32"

type crcWriter struct{ crc uint32 }

func (w *crcWriter) Write(p []byte) (int, error) {
	w.crc = crc32.Update(w.crc, crc32.IEEETable, p)
	return len(p), nil
}

func (w *crcWriter) sum() uint32 { return w.crc }

package torchsave

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
)

// Zip layout constants, as miniz writes them for PyTorchStreamWriter.
const (
	alignment = 64 // record data starts at a multiple of this from the archive start

	localHeaderLen = 30
	zip64EOCDLen   = 56

	sigLocal      = 0x04034b50
	sigDescriptor = 0x08074b50
	sigCentral    = 0x02014b50
	sigZip64EOCD  = 0x06064b50
	sigZip64Loc   = 0x07064b50
	sigEOCD       = 0x06054b50

	flagDescriptor = 0x0008 // sizes and CRC follow the data
	flagUTF8       = 0x0800

	// miniz switches a record to zip64 fields when its size or header
	// offset reaches 0xFFFFFFFF, not 1<<32.
	zip64Limit = 0xFFFFFFFF
)

// Writer writes a zip archive laid out byte for byte as torch's
// PyTorchStreamWriter (miniz) lays it out: each record is stored
// uncompressed under the archive folder, its data 64-byte aligned by a
// "FB" extra field, its CRC and sizes in a data descriptor after the data
// and in the central directory; the archive ends with a ZIP64 end record,
// its locator and the classic end record. Data is streamed from readers and
// never buffered.
//
// Writer only lays out records; Save and WriteTensor write what torch.save
// puts in them.
type Writer struct {
	w       io.Writer
	off     int64 // bytes written so far: offsets are relative to the archive start
	prefix  string
	entries []entry
	names   map[string]bool
	buf     []byte
	err     error // sticky: a failed write leaves the archive unusable
	closed  bool
}

type entry struct {
	name      string
	offset    int64 // of the local header
	size      int64
	crc       uint32
	hasDescr  bool
	zip64Size bool
	zip64Off  bool
}

// NewWriter returns a Writer that writes records under the folder name
// (torch.save uses "archive" for streams and the file stem for paths).
func NewWriter(w io.Writer, name string) *Writer {
	return &Writer{w: w, prefix: name + "/", names: map[string]bool{}}
}

// Offset returns the number of bytes written so far.
func (w *Writer) Offset() int64 { return w.off }

func (w *Writer) write(p []byte) error {
	if w.err != nil {
		return w.err
	}
	n, err := w.w.Write(p)
	w.off += int64(n)
	if err == nil && n != len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = err
	}
	return err
}

// padding returns the length of the 'Z' run in the "FB" extra field that
// puts a record's data on a 64-byte boundary, by torch's formula.
func padding(cursor int64, nameLen int, size int64) int {
	start := cursor + localHeaderLen + int64(nameLen) + 4
	if size >= zip64Limit || cursor >= zip64Limit {
		start += 4
		if size >= zip64Limit {
			start += 16
		}
		if cursor >= zip64Limit {
			start += 8
		}
	}
	return int((alignment - start%alignment) % alignment)
}

// WriteRecord writes the record name (relative to the archive folder)
// holding exactly size bytes copied from r, computing the CRC-32 as it
// copies.
func (w *Writer) WriteRecord(name string, r io.Reader, size int64) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("torchsave: write to closed archive")
	}
	full := w.prefix + name
	if name == "" || strings.HasPrefix(name, "/") || len(full) > 0xFFFF || size < 0 {
		return fmt.Errorf("torchsave: bad record %q of %d bytes", full, size)
	}
	if w.names[full] {
		return fmt.Errorf("torchsave: duplicate record %s", full)
	}
	w.names[full] = true
	e := entry{name: full, offset: w.off, size: size, hasDescr: size > 0}
	e.zip64Size = size >= zip64Limit
	e.zip64Off = e.offset >= zip64Limit
	pad := padding(e.offset, len(full), size)

	flags := uint16(flagUTF8)
	if e.hasDescr {
		flags |= flagDescriptor
	}
	h := make([]byte, 0, localHeaderLen+len(full)+32+pad)
	h = binary.LittleEndian.AppendUint32(h, sigLocal)
	h = binary.LittleEndian.AppendUint16(h, 0) // version needed: miniz writes 0 for stored
	h = binary.LittleEndian.AppendUint16(h, flags)
	h = append(h, make([]byte, 2+2+2+4+4+4)...) // method, time, date, crc, sizes: all 0
	extra := zip64ExtraLen(e) + 4 + pad
	h = binary.LittleEndian.AppendUint16(h, uint16(len(full)))
	h = binary.LittleEndian.AppendUint16(h, uint16(extra))
	h = append(h, full...)
	// miniz writes the local zip64 field before any data is compressed,
	// so it holds a compressed size of 0.
	h = appendZip64Extra(h, e, 0)
	h = append(h, 'F', 'B')
	h = binary.LittleEndian.AppendUint16(h, uint16(pad))
	for range pad {
		h = append(h, 'Z')
	}
	if err := w.write(h); err != nil {
		return err
	}
	if w.off%alignment != 0 {
		w.err = fmt.Errorf("torchsave: internal error: record %s data at offset %d is not %d-byte aligned", full, w.off, alignment)
		return w.err
	}

	crc, err := w.copy(r, size)
	if err != nil {
		return fmt.Errorf("torchsave: record %s: %w", full, err)
	}
	e.crc = crc
	if e.hasDescr {
		d := binary.LittleEndian.AppendUint32(nil, sigDescriptor)
		d = binary.LittleEndian.AppendUint32(d, crc)
		if e.zip64Size || e.zip64Off {
			d = binary.LittleEndian.AppendUint64(d, uint64(size))
			d = binary.LittleEndian.AppendUint64(d, uint64(size))
		} else {
			d = binary.LittleEndian.AppendUint32(d, uint32(size))
			d = binary.LittleEndian.AppendUint32(d, uint32(size))
		}
		if err := w.write(d); err != nil {
			return err
		}
	}
	w.entries = append(w.entries, e)
	return nil
}

// copyBufSize is the chunk size for copying record data.
const copyBufSize = 512 << 10

// copy copies exactly size bytes from r, returning their CRC-32.
func (w *Writer) copy(r io.Reader, size int64) (uint32, error) {
	if want := min(size, copyBufSize); int64(len(w.buf)) < want {
		w.buf = make([]byte, want)
	}
	var crc uint32
	for done := int64(0); done < size; {
		n := int(min(int64(len(w.buf)), size-done))
		m, err := io.ReadFull(r, w.buf[:n])
		crc = crc32.Update(crc, crc32.IEEETable, w.buf[:m])
		if werr := w.write(w.buf[:m]); werr != nil {
			return 0, werr
		}
		done += int64(m)
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = fmt.Errorf("data ended after %d of %d bytes: %w", done, size, io.ErrUnexpectedEOF)
			}
			// The archive now holds a partial record; nothing can follow.
			w.err = err
			return 0, err
		}
	}
	return crc, nil
}

// zip64ExtraLen returns the length of the zip64 extended information
// field of a record, 0 when it needs none.
func zip64ExtraLen(e entry) int {
	n := 0
	if e.zip64Size {
		n += 16
	}
	if e.zip64Off {
		n += 8
	}
	if n > 0 {
		n += 4
	}
	return n
}

// appendZip64Extra appends the zip64 field (uncompressed and compressed
// size when the size needs it, then the header offset when it needs it).
func appendZip64Extra(b []byte, e entry, compressed int64) []byte {
	n := zip64ExtraLen(e)
	if n == 0 {
		return b
	}
	b = binary.LittleEndian.AppendUint16(b, 0x0001)
	b = binary.LittleEndian.AppendUint16(b, uint16(n-4))
	if e.zip64Size {
		b = binary.LittleEndian.AppendUint64(b, uint64(e.size))
		b = binary.LittleEndian.AppendUint64(b, uint64(compressed))
	}
	if e.zip64Off {
		b = binary.LittleEndian.AppendUint64(b, uint64(e.offset))
	}
	return b
}

func clamp32(v int64) uint32 { return uint32(min(v, zip64Limit)) }

// Close writes the central directory and end records. It does not close
// the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return nil
	}
	w.closed = true
	cdOff := w.off
	var cd []byte
	for _, e := range w.entries {
		flags := uint16(flagUTF8)
		if e.hasDescr {
			flags |= flagDescriptor
		}
		cd = binary.LittleEndian.AppendUint32(cd, sigCentral)
		cd = binary.LittleEndian.AppendUint16(cd, 0) // made by
		cd = binary.LittleEndian.AppendUint16(cd, 0) // needed
		cd = binary.LittleEndian.AppendUint16(cd, flags)
		cd = binary.LittleEndian.AppendUint16(cd, 0) // method: stored
		cd = binary.LittleEndian.AppendUint32(cd, 0) // time, date
		cd = binary.LittleEndian.AppendUint32(cd, e.crc)
		cd = binary.LittleEndian.AppendUint32(cd, clamp32(e.size))
		cd = binary.LittleEndian.AppendUint32(cd, clamp32(e.size))
		cd = binary.LittleEndian.AppendUint16(cd, uint16(len(e.name)))
		cd = binary.LittleEndian.AppendUint16(cd, uint16(zip64ExtraLen(e)))
		cd = append(cd, make([]byte, 2+2+2+4)...) // comment len, disk, internal and external attributes
		cd = binary.LittleEndian.AppendUint32(cd, clamp32(e.offset))
		cd = append(cd, e.name...)
		cd = appendZip64Extra(cd, e, e.size)
	}
	n := uint64(len(w.entries))
	end := binary.LittleEndian.AppendUint32(nil, sigZip64EOCD)
	end = binary.LittleEndian.AppendUint64(end, zip64EOCDLen-12)
	end = binary.LittleEndian.AppendUint16(end, 0x031e) // made by: miniz's "Unix, 3.0"
	end = binary.LittleEndian.AppendUint16(end, 0x002d) // needed: 4.5, zip64
	end = binary.LittleEndian.AppendUint32(end, 0)      // this disk
	end = binary.LittleEndian.AppendUint32(end, 0)      // directory disk
	end = binary.LittleEndian.AppendUint64(end, n)
	end = binary.LittleEndian.AppendUint64(end, n)
	end = binary.LittleEndian.AppendUint64(end, uint64(len(cd)))
	end = binary.LittleEndian.AppendUint64(end, uint64(cdOff))

	end = binary.LittleEndian.AppendUint32(end, sigZip64Loc)
	end = binary.LittleEndian.AppendUint32(end, 0)
	end = binary.LittleEndian.AppendUint64(end, uint64(cdOff)+uint64(len(cd)))
	end = binary.LittleEndian.AppendUint32(end, 1) // disks

	end = binary.LittleEndian.AppendUint32(end, sigEOCD)
	end = binary.LittleEndian.AppendUint32(end, 0) // disk numbers
	end = binary.LittleEndian.AppendUint16(end, uint16(min(n, 0xFFFF)))
	end = binary.LittleEndian.AppendUint16(end, uint16(min(n, 0xFFFF)))
	end = binary.LittleEndian.AppendUint32(end, clamp32(int64(len(cd))))
	end = binary.LittleEndian.AppendUint32(end, clamp32(cdOff))
	end = binary.LittleEndian.AppendUint16(end, 0) // comment length
	if err := w.write(cd); err != nil {
		return err
	}
	return w.write(end)
}

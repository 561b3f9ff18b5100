package torchsave

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/pickle"
)

// DefaultMaxPickleSize caps the data.pkl record Open reads into memory.
const DefaultMaxPickleSize = 256 << 20

// ErrFormat is wrapped by errors for archives that are not well-formed
// torch.save output.
var ErrFormat = errors.New("invalid torch.save archive")

// Archive is an opened torch.save archive. Its object tree is decoded; the
// tensor data stays in the underlying reader. Once opened, an Archive and
// its tensors only read, so they may be used from several goroutines when
// the reader allows concurrent ReadAt calls (as *os.File does).
type Archive struct {
	// Name is the archive's top-level folder: "archive" for torch.save to
	// a stream, the file stem for torch.save to a path.
	Name string
	// Version is the number in the version record (3 for torch.save).
	Version int
	// BigEndian is set when the byteorder record says "big".
	BigEndian bool
	// Object is the unpickled data.pkl, with every tensor replaced by a
	// *Tensor. Other values are as internal/pickle decodes them.
	Object any

	r        io.ReaderAt
	size     int64
	records  map[string]*zip.File // by name relative to the folder
	order    []string
	storages map[string]*Storage
	skeys    []string // storage keys in first-seen order
	tensors  []*Tensor
	maxPkl   int64

	// storageArg, if set, resolves a tensor call's storage argument that
	// is no persistent storage (LoadPlain's _load_from_bytes calls); it
	// returns nil for a value it does not know.
	storageArg func(v any) (*Storage, error)
}

// OpenOptions tune Open.
type OpenOptions struct {
	// MaxPickleSize caps data.pkl (DefaultMaxPickleSize when 0).
	MaxPickleSize int64
}

// Open reads the directory and object tree of the torch.save archive held
// in r, which is size bytes long.
func Open(r io.ReaderAt, size int64) (*Archive, error) {
	return OpenOptions{}.Open(r, size)
}

// Open is the package's Open with these options.
func (o OpenOptions) Open(r io.ReaderAt, size int64) (*Archive, error) {
	a := &Archive{r: r, size: size, maxPkl: o.MaxPickleSize, storages: map[string]*Storage{}}
	if a.maxPkl <= 0 {
		a.maxPkl = DefaultMaxPickleSize
	}
	for _, step := range []func() error{a.readDirectory, a.readVersion, a.readByteOrder, a.readObject} {
		if err := step(); err != nil {
			return nil, fmt.Errorf("torchsave: %w", err)
		}
	}
	return a, nil
}

func (a *Archive) readDirectory() error {
	zr, err := zip.NewReader(a.r, a.size)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if len(zr.File) == 0 {
		return fmt.Errorf("%w: empty zip", ErrFormat)
	}
	// torch takes the folder from the first entry, as PyTorchStreamReader does.
	first := zr.File[0].Name
	i := strings.IndexByte(first, '/')
	if i <= 0 {
		return fmt.Errorf("%w: first record %q is not inside a folder", ErrFormat, first)
	}
	a.Name = first[:i]
	prefix := first[:i+1]
	a.records = make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		name, ok := strings.CutPrefix(f.Name, prefix)
		if !ok {
			continue // torch never looks outside the folder
		}
		if _, dup := a.records[name]; dup {
			return fmt.Errorf("%w: duplicate record %s", ErrFormat, f.Name)
		}
		a.records[name] = f
		a.order = append(a.order, name)
	}
	return nil
}

// Records returns the record names, relative to the archive folder, in
// directory order.
func (a *Archive) Records() []string { return append([]string(nil), a.order...) }

// ReadRecord returns a small record's contents, failing when it is
// missing or larger than limit bytes.
func (a *Archive) ReadRecord(name string, limit int64) ([]byte, error) {
	b, err := a.readRecord(name, limit)
	if err != nil {
		return nil, fmt.Errorf("torchsave: %w", err)
	}
	return b, nil
}

func (a *Archive) readRecord(name string, limit int64) ([]byte, error) {
	f, ok := a.records[name]
	if !ok {
		return nil, fmt.Errorf("%w: no record %s/%s", ErrFormat, a.Name, name)
	}
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("record %s is %d bytes, more than the %d allowed", f.Name, f.UncompressedSize64, limit)
	}
	if f.Method == zip.Store {
		// Read stored records directly: archive/zip insists on a matching
		// CRC whenever a data descriptor follows, but torch writes 0 for
		// every CRC when told not to compute them (compute_crc32=False).
		off, n, err := a.recordRange(name)
		if err != nil {
			return nil, err
		}
		b := make([]byte, n)
		if _, err := a.r.ReadAt(b, off); err != nil {
			return nil, fmt.Errorf("record %s: %w", f.Name, err)
		}
		if sum := crc32.ChecksumIEEE(b); f.CRC32 != 0 && sum != f.CRC32 {
			return nil, fmt.Errorf("%w: record %s: CRC-32 %08x, directory says %08x", ErrFormat, f.Name, sum, f.CRC32)
		}
		return b, nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", f.Name, err)
	}
	if int64(len(b)) > limit || uint64(len(b)) != f.UncompressedSize64 {
		return nil, fmt.Errorf("%w: record %s holds %d bytes, directory says %d", ErrFormat, f.Name, len(b), f.UncompressedSize64)
	}
	return b, nil
}

// RecordRange returns where a stored (uncompressed) record's bytes lie in
// the archive reader.
func (a *Archive) RecordRange(name string) (off, n int64, err error) {
	if off, n, err = a.recordRange(name); err != nil {
		err = fmt.Errorf("torchsave: %w", err)
	}
	return off, n, err
}

func (a *Archive) recordRange(name string) (off, n int64, err error) {
	f, ok := a.records[name]
	if !ok {
		return 0, 0, fmt.Errorf("%w: no record %s/%s", ErrFormat, a.Name, name)
	}
	if f.Method != zip.Store {
		return 0, 0, fmt.Errorf("%w: record %s is compressed (method %d); torch.save stores records uncompressed", ErrFormat, f.Name, f.Method)
	}
	if f.CompressedSize64 != f.UncompressedSize64 || f.UncompressedSize64 > uint64(a.size) {
		return 0, 0, fmt.Errorf("%w: record %s: bad sizes %d/%d", ErrFormat, f.Name, f.CompressedSize64, f.UncompressedSize64)
	}
	off, err = f.DataOffset()
	if err != nil {
		return 0, 0, fmt.Errorf("%w: record %s: %w", ErrFormat, f.Name, err)
	}
	n = int64(f.UncompressedSize64)
	if off < 0 || off > a.size-n {
		return 0, 0, fmt.Errorf("%w: record %s: %d bytes at offset %d run past the end of the %d-byte archive", ErrFormat, f.Name, n, off, a.size)
	}
	return off, n, nil
}

func (a *Archive) readVersion() error {
	name := "version"
	if _, ok := a.records[name]; !ok {
		name = ".data/version" // where TorchScript archives keep it
	}
	if _, ok := a.records[name]; !ok {
		return fmt.Errorf("%w: no version record in %s/", ErrFormat, a.Name)
	}
	b, err := a.readRecord(name, 64)
	if err != nil {
		return err
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 31)
	if err != nil || v == 0 {
		return fmt.Errorf("%w: record %s/%s holds %q, not a version number", ErrFormat, a.Name, name, b)
	}
	a.Version = int(v)
	return nil
}

func (a *Archive) readByteOrder() error {
	if _, ok := a.records["byteorder"]; !ok {
		return nil // torch before 2.1 wrote none, and only little-endian
	}
	b, err := a.readRecord("byteorder", 16)
	if err != nil {
		return err
	}
	switch string(b) {
	case "little":
	case "big":
		a.BigEndian = true
	default:
		return fmt.Errorf("%w: record %s/byteorder holds %q, want \"little\" or \"big\"", ErrFormat, a.Name, b)
	}
	return nil
}

func (a *Archive) readObject() error {
	const name = "data.pkl"
	b, err := a.readRecord(name, a.maxPkl)
	if err != nil {
		return err
	}
	dec := pickle.Decoder{PersistentLoad: a.persistentLoad}
	v, err := dec.Decode(b)
	if err != nil {
		return fmt.Errorf("%s/%s: %w", a.Name, name, err)
	}
	v, err = a.rebuild(v)
	if err != nil {
		return fmt.Errorf("%s/%s: %w", a.Name, name, err)
	}
	a.Object = v
	return nil
}

// persistentLoad resolves ('storage', <class>, key, location, numel) to a
// *Storage, checking its record.
func (a *Archive) persistentLoad(id any) (any, error) {
	t, ok := id.(pickle.Tuple)
	if !ok || len(t) != 5 {
		return nil, fmt.Errorf("persistent id %s is not a ('storage', class, key, location, numel) tuple", describe(id))
	}
	if kind, _ := t[0].(string); kind != "storage" {
		return nil, fmt.Errorf("persistent id of kind %s, want 'storage'", describe(t[0]))
	}
	class, ok := t[1].(pickle.Global)
	if !ok || (class.Module != "torch" && class.Module != "torch.cuda") {
		return nil, fmt.Errorf("persistent id names storage class %s, want torch.<X>Storage", describe(t[1]))
	}
	dtype, ok := storageDType(class.Name)
	if !ok {
		return nil, fmt.Errorf("unknown storage class %s", class)
	}
	key, ok1 := t[2].(string)
	loc, ok2 := t[3].(string)
	numel, ok3 := pickle.AsInt(t[4])
	if _, isBool := t[4].(bool); !ok1 || !ok2 || !ok3 || isBool || numel < 0 {
		return nil, fmt.Errorf("persistent id %s: want (str key, str location, int numel >= 0)", describe(id))
	}
	if s, ok := a.storages[key]; ok {
		return s, nil // torch too reuses the first storage loaded for a key
	}
	nbytes, ok := mul64(numel, dtype.ItemSize())
	if !ok {
		return nil, fmt.Errorf("storage %s: %d elements of %s overflow", key, numel, dtype)
	}
	rec := "data/" + key
	off, n, err := a.recordRange(rec)
	if err != nil {
		return nil, fmt.Errorf("storage %s: %w", key, err)
	}
	if n != nbytes {
		return nil, fmt.Errorf("%w: record %s/%s holds %d bytes, but its persistent id says %d elements of %s (%d bytes)",
			ErrFormat, a.Name, rec, n, numel, dtype, nbytes)
	}
	f := a.records[rec]
	s := &Storage{
		Key: key, Class: class.Name, DType: dtype, Numel: numel, Location: loc,
		Offset: off, Size: n, CRC32: f.CRC32, r: a.r, bigEndian: a.BigEndian,
	}
	a.storages[key] = s
	a.skeys = append(a.skeys, key)
	return s, nil
}

// Storages returns the storages in the order data.pkl first names them.
func (a *Archive) Storages() []*Storage {
	out := make([]*Storage, len(a.skeys))
	for i, k := range a.skeys {
		out[i] = a.storages[k]
	}
	return out
}

// Tensors returns every distinct tensor of the object tree in the order
// the tree holds them (depth first, dict items in order).
func (a *Archive) Tensors() []*Tensor { return append([]*Tensor(nil), a.tensors...) }

// Tensor returns the object when it is a single tensor, as in every tensor
// item of a distributed checkpoint.
func (a *Archive) Tensor() (*Tensor, error) {
	t, ok := a.Object.(*Tensor)
	if !ok {
		return nil, fmt.Errorf("torchsave: archive %s holds %s, not a tensor", a.Name, describe(a.Object))
	}
	return t, nil
}

// Verify checks the CRC-32 of every storage record against the central
// directory, reading each through a small buffer. Records written without
// a CRC (torch's compute_crc32=False writes 0) are skipped.
func (a *Archive) Verify() error {
	for _, s := range a.Storages() {
		if s.CRC32 == 0 && s.Size > 0 {
			continue
		}
		h := crc32.NewIEEE()
		if _, err := io.Copy(h, s.Reader()); err != nil {
			return fmt.Errorf("torchsave: record %s/data/%s: %w", a.Name, s.Key, err)
		}
		if h.Sum32() != s.CRC32 {
			return fmt.Errorf("torchsave: %w: record %s/data/%s: CRC-32 %08x, directory says %08x", ErrFormat, a.Name, s.Key, h.Sum32(), s.CRC32)
		}
	}
	return nil
}

// describe names a value's type for error messages, with short strings
// shown.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) <= 40 {
			return strconv.Quote(v)
		}
	case int64, bool:
		return fmt.Sprint(v)
	}
	if t, ok := v.(pickle.Tuple); ok {
		var b bytes.Buffer
		b.WriteByte('(')
		for i, e := range t {
			if i > 0 {
				b.WriteString(", ")
			}
			if i == 8 {
				b.WriteString("...")
				break
			}
			b.WriteString(describe(e))
		}
		b.WriteByte(')')
		return b.String()
	}
	return pickle.TypeName(v)
}

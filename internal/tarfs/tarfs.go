// Package tarfs serves the regular files of an uncompressed tar archive as
// an fs.FS, reading members in place by byte offset: nothing is extracted.
//
// A .nemo file is a plain tar, often hundreds of gigabytes, whose members are
// read at random (a .metadata index, then byte ranges of .distcp files). The
// index is built by one pass over the headers, seeking over member data.
// Only regular files and directories are served; links, devices, sparse
// files, absolute or escaping names and duplicate names are refused when
// the index is built, so nothing in the archive can point outside it.
package tarfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"
)

// MaxMembers bounds the index, so a hostile archive of tiny members cannot
// demand unbounded memory. A zarr checkpoint of a 340B model has about
// 10^5 files.
const MaxMembers = 10_000_000

// ErrUnsafe is wrapped by errors for members that could escape the archive
// or are not plain files: links, devices, absolute or ".." names.
var ErrUnsafe = errors.New("tarfs: unsafe member")

// Member is one indexed regular file.
type Member struct {
	Name    string // cleaned, slash-separated, no leading "./"
	Offset  int64  // offset of the data in the archive
	Size    int64
	Mode    fs.FileMode
	ModTime time.Time
}

// FS is an fs.FS over an indexed tar archive. It is safe for concurrent use
// as long as the underlying io.ReaderAt is.
type FS struct {
	r       io.ReaderAt
	file    *os.File // r, when it is a file; used for copy_file_range
	members map[string]*Member
	dirs    map[string][]string // directory -> sorted child names
}

// Open indexes the tar archive in the named file. Its errors name the file.
func Open(name string) (*FS, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	fsys, err := OpenFile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return fsys, nil
}

// OpenFile indexes the tar archive in f, which Close then closes (or
// OpenFile does, on error). Its errors leave naming the file to the
// caller, for archives known to the user by another name (a spooled
// decompression of theirs).
func OpenFile(f *os.File) (*FS, error) {
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	fsys, err := New(f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	fsys.file = f
	return fsys, nil
}

// Close closes the archive file opened by Open.
func (t *FS) Close() error {
	if t.file != nil {
		return t.file.Close()
	}
	return nil
}

// New indexes a tar archive of the given size read through r.
func New(r io.ReaderAt, size int64) (*FS, error) {
	t := &FS{r: r, members: make(map[string]*Member), dirs: map[string][]string{".": nil}}
	sr := io.NewSectionReader(r, 0, size)
	tr := tar.NewReader(sr)
	var end int64 // where the last entry's data, padded, ends
	for {
		h, err := tr.Next()
		if err == io.EOF {
			// archive/tar also ends quietly where the file ends at a
			// header, or inside the padding after a member's data: an
			// archive cut there would lose its later members unnoticed.
			// Python's tarfile, GNU tar and Go's writer all end with
			// zero blocks.
			if !zeroBlockAt(r, end, size) {
				return nil, fmt.Errorf("tarfs: archive truncated after %d members (no end-of-archive block at byte %d): %w", len(t.members), end, io.ErrUnexpectedEOF)
			}
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("tarfs: archive truncated after %d members: %w", len(t.members), io.ErrUnexpectedEOF)
			}
			return nil, fmt.Errorf("tarfs: reading header after %d members: %w", len(t.members), err)
		}
		name, err := CheckHeader(h)
		if err != nil {
			return nil, err
		}
		if pos, err := sr.Seek(0, io.SeekCurrent); err == nil && h.Size >= 0 {
			end = pos + (h.Size+blockSize-1)/blockSize*blockSize
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if name != "." {
				if err := t.addDir(name); err != nil {
					return nil, err
				}
			}
			continue
		case tar.TypeXGlobalHeader:
			continue
		}
		if _, dup := t.members[name]; dup {
			return nil, fmt.Errorf("tarfs: %s appears twice in the archive; refusing to guess which copy is meant", name)
		}
		if _, isDir := t.dirs[name]; isDir {
			return nil, fmt.Errorf("tarfs: %s is both a file and a directory", name)
		}
		if len(t.members) >= MaxMembers {
			return nil, fmt.Errorf("tarfs: more than %d members", MaxMembers)
		}
		off, err := sr.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		if h.Size < 0 || h.Size > size-off {
			return nil, fmt.Errorf("tarfs: %s claims %d bytes but the archive ends %d bytes later: truncated: %w", name, h.Size, size-off, io.ErrUnexpectedEOF)
		}
		t.members[name] = &Member{Name: name, Offset: off, Size: h.Size, Mode: h.FileInfo().Mode().Perm(), ModTime: h.ModTime}
		if err := t.addDir(path.Dir(name)); err != nil {
			return nil, err
		}
		t.addChild(path.Dir(name), path.Base(name))
	}
	for d := range t.dirs {
		slices.Sort(t.dirs[d])
		t.dirs[d] = slices.Compact(t.dirs[d])
	}
	return t, nil
}

const blockSize = 512

// zeroBlockAt reports whether a whole zero block lies at off.
func zeroBlockAt(r io.ReaderAt, off, size int64) bool {
	if off < 0 || size-off < blockSize {
		return false
	}
	var b [blockSize]byte
	if _, err := r.ReadAt(b[:], off); err != nil {
		return false
	}
	return b == [blockSize]byte{}
}

// CheckHeader refuses a member that New would refuse for what its header
// says alone (a link, a device, a name outside the archive) and returns
// its name as an fs.FS path. Readers of a tar stream use it to stop at the
// first such member instead of reading the whole stream first.
func CheckHeader(h *tar.Header) (string, error) {
	name, err := cleanName(h.Name)
	if err != nil {
		return "", err
	}
	switch h.Typeflag {
	case tar.TypeDir, tar.TypeXGlobalHeader:
	case tar.TypeReg, '\x00': // '\x00' is the pre-POSIX regular file
		if name == "." {
			return "", fmt.Errorf("%w: regular file named %q", ErrUnsafe, h.Name)
		}
	case tar.TypeSymlink, tar.TypeLink:
		return "", fmt.Errorf("%w: %s is a link to %q; links are refused so nothing can point outside the archive", ErrUnsafe, h.Name, h.Linkname)
	case tar.TypeGNUSparse:
		return "", fmt.Errorf("%w: %s is a sparse file", ErrUnsafe, h.Name)
	default:
		return "", fmt.Errorf("%w: %s has tar type %q, not a regular file or directory", ErrUnsafe, h.Name, h.Typeflag)
	}
	return name, nil
}

// cleanName turns a member name into an fs.FS path, refusing names that
// could escape the archive root.
func cleanName(name string) (string, error) {
	n := strings.TrimSuffix(name, "/")
	if strings.HasPrefix(n, "/") || strings.Contains(n, "\\") {
		return "", fmt.Errorf("%w: absolute or backslashed name %q", ErrUnsafe, name)
	}
	n = path.Clean("./" + n)
	if n == ".." || strings.HasPrefix(n, "../") {
		return "", fmt.Errorf("%w: name %q points outside the archive", ErrUnsafe, name)
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: name %q points outside the archive", ErrUnsafe, name)
		}
	}
	if n != "." && !fs.ValidPath(n) {
		return "", fmt.Errorf("%w: name %q is not a valid path", ErrUnsafe, name)
	}
	return n, nil
}

func (t *FS) addDir(dir string) error {
	for dir != "." {
		if _, isFile := t.members[dir]; isFile {
			return fmt.Errorf("tarfs: %s is both a file and a directory", dir)
		}
		if _, ok := t.dirs[dir]; ok {
			return nil
		}
		t.dirs[dir] = nil
		parent := path.Dir(dir)
		t.addChild(parent, path.Base(dir))
		dir = parent
	}
	return nil
}

func (t *FS) addChild(dir, name string) {
	t.dirs[dir] = append(t.dirs[dir], name)
}

// Member returns the index entry of a regular file.
func (t *FS) Member(name string) (*Member, bool) {
	m, ok := t.members[name]
	return m, ok
}

// Members returns every regular file, sorted by name.
func (t *FS) Members() []*Member {
	out := make([]*Member, 0, len(t.members))
	for _, m := range t.members {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Open implements fs.FS.
func (t *FS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if m, ok := t.members[name]; ok {
		return &File{m: m, sr: io.NewSectionReader(t.r, m.Offset, m.Size), fsys: t}, nil
	}
	if children, ok := t.dirs[name]; ok {
		return &dir{name: name, fsys: t, children: children}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// Stat implements fs.StatFS.
func (t *FS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	if m, ok := t.members[name]; ok {
		return fileInfo{m}, nil
	}
	if _, ok := t.dirs[name]; ok {
		return dirInfo(name), nil
	}
	return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
}

// ReadDir implements fs.ReadDirFS.
func (t *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	children, ok := t.dirs[name]
	if !ok {
		if _, isFile := t.members[name]; isFile {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
		}
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	out := make([]fs.DirEntry, 0, len(children))
	for _, c := range children {
		full := path.Join(name, c)
		if m, ok := t.members[full]; ok {
			out = append(out, fs.FileInfoToDirEntry(fileInfo{m}))
		} else {
			out = append(out, fs.FileInfoToDirEntry(dirInfo(full)))
		}
	}
	return out, nil
}

// File is an open member. Besides fs.File it implements io.ReaderAt and
// io.Seeker, and Section for zero-copy transfers.
type File struct {
	m    *Member
	sr   *io.SectionReader
	fsys *FS
}

func (f *File) Stat() (fs.FileInfo, error)              { return fileInfo{f.m}, nil }
func (f *File) Read(p []byte) (int, error)              { return f.sr.Read(p) }
func (f *File) ReadAt(p []byte, off int64) (int, error) { return f.sr.ReadAt(p, off) }
func (f *File) Seek(off int64, whence int) (int64, error) {
	return f.sr.Seek(off, whence)
}
func (f *File) Close() error { return nil }

// Section opens a file handle of its own on the archive and returns it
// with the byte range of the member, so callers can seek it and copy with
// copy_file_range without disturbing other readers. The caller closes the
// file. It fails when the archive was not opened from a file.
func (f *File) Section() (file *os.File, off, n int64, err error) {
	if f.fsys.file == nil {
		return nil, 0, 0, errors.New("tarfs: archive not opened from a file")
	}
	file, err = os.Open(f.fsys.file.Name())
	if err != nil {
		return nil, 0, 0, err
	}
	return file, f.m.Offset, f.m.Size, nil
}

type fileInfo struct{ m *Member }

func (i fileInfo) Name() string       { return path.Base(i.m.Name) }
func (i fileInfo) Size() int64        { return i.m.Size }
func (i fileInfo) Mode() fs.FileMode  { return i.m.Mode }
func (i fileInfo) ModTime() time.Time { return i.m.ModTime }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return nil }

type dirInfo string

func (d dirInfo) Name() string       { return path.Base(string(d)) }
func (d dirInfo) Size() int64        { return 0 }
func (d dirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o755 }
func (d dirInfo) ModTime() time.Time { return time.Time{} }
func (d dirInfo) IsDir() bool        { return true }
func (d dirInfo) Sys() any           { return nil }

type dir struct {
	name     string
	fsys     *FS
	children []string
	pos      int
}

func (d *dir) Stat() (fs.FileInfo, error) { return dirInfo(d.name), nil }
func (d *dir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errors.New("is a directory")}
}
func (d *dir) Close() error { return nil }

// ReadDir implements fs.ReadDirFile.
func (d *dir) ReadDir(n int) ([]fs.DirEntry, error) {
	all, err := d.fsys.ReadDir(d.name)
	if err != nil {
		return nil, err
	}
	rest := all[d.pos:]
	if n <= 0 {
		d.pos = len(all)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.pos += n
	return rest[:n], nil
}

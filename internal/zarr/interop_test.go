package zarr

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// interopScript writes arrays with real zarr (as Megatron-Core does, plus
// the compressors and options this package reads) into argv[1]. For each
// array NAME it also writes NAME.full, the C-order bytes of the whole array
// as zarr reads it back, and NAME.expect/<i.j.k>, the bytes of each chunk's
// region cut out by numpy. manifest.json lists the arrays.
const interopScript = `
import itertools, json, os, sys
import numcodecs, numpy as np, torch, zarr

out = sys.argv[1]
rng = np.random.default_rng(1)
manifest = []

def values(shape, dtype):
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return rng.integers(info.min, info.max, shape, dtype=dt, endpoint=True)
    if dt.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
    return (rng.standard_normal(shape) * 1000).astype(dt)

def expect(name, full, chunks, torch_name, **extra):
    open(os.path.join(out, name + ".full"), "wb").write(np.ascontiguousarray(full).tobytes())
    ed = os.path.join(out, name + ".expect")
    os.makedirs(ed)
    grid = [-(-s // c) for s, c in zip(full.shape, chunks)]
    missing = 0
    sep = json.load(open(os.path.join(out, name, ".zarray"))).get("dimension_separator", ".")
    for idx in itertools.product(*[range(g) for g in grid]):
        region = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(idx, chunks, full.shape))
        key = ".".join(map(str, idx)) if idx else "0"
        open(os.path.join(ed, key), "wb").write(np.ascontiguousarray(full[region]).tobytes())
        if not os.path.exists(os.path.join(out, name, key.replace(".", sep))):
            missing += 1
    manifest.append(dict(name=name, torch=torch_name, missing=missing, **extra))

def torch_name(dtype):
    try:
        return str(torch.from_numpy(np.zeros(1, dtype)).dtype)[len("torch."):]
    except TypeError:  # torch 1.13 has no uint16/32/64
        return np.dtype(dtype).name

def make(name, shape, chunks, dtype, compressor=None, fill_value=None, data=None, region=..., **kw):
    a = zarr.create(shape, chunks=chunks, dtype=dtype, compressor=compressor,
                    fill_value=fill_value, store=os.path.join(out, name), **kw)
    if data is None:
        data = values(shape, dtype)
    if shape and 0 in shape:
        pass
    elif region is ...:
        a[...] = data
    else:
        a[region] = data[region]
    return a

# Megatron-Core's form: compressor None, fill_value None, every chunk written.
for name, shape, chunks, dtype in [
    ("f32", (7, 5), (3, 2), "<f4"),
    ("f16", (8,), (3,), "<f2"),
    ("f64", (4, 4), (4, 4), "<f8"),
    ("i64", (5, 3, 2), (2, 3, 1), "<i8"),
    ("i32", (3, 7), (2, 4), "<i4"),
    ("i16", (9,), (9,), "<i2"),
    ("i8", (10,), (4,), "|i1"),
    ("u8", (6, 6), (4, 5), "|u1"),
    ("bool", (5, 4), (2, 3), "|b1"),
    ("c64", (3, 3), (2, 2), "<c8"),
    ("c128", (3,), (2,), "<c16"),
    ("scalar", (), (), "<f4"),
    ("scalar_bool", (), (), "|b1"),
    ("vec", (1000,), (128,), "<f4"),
    ("cube", (5, 6, 7), (2, 4, 3), "<f4"),
    ("bigger_than_array", (3,), (10,), "<i4"),
    ("empty", (0, 3), (2, 2), "<f4"),
    ("big", (600, 1000), (512, 768), "<f4"),
    ("nested/inner", (4, 3), (3, 3), "<i8"),
]:
    a = make(name, shape, chunks, dtype)
    expect(name, a[...], chunks, torch_name(dtype))

# bfloat16 as Megatron-Core writes it: raw 2-byte values, then "dtype"
# patched to "bfloat16" (zarr cannot reopen it; tensorstore can).
for name, shape, chunks, dtype in [
    ("bf16_u2", (7, 5), (3, 2), "<u2"),
    ("bf16_v2", (4, 6, 8), (1, 3, 8), "|V2"),  # layer-stacked: one chunk per layer
]:
    t = torch.randn(*shape).to(torch.bfloat16)
    raw = t.view(torch.int16).numpy()
    a = make(name, shape, chunks, dtype, data=raw.view(dtype))
    full = a[...].view("<i2")
    assert np.array_equal(full, raw)
    p = os.path.join(out, name, ".zarray")
    meta = json.load(open(p))
    meta["dtype"] = "bfloat16"
    json.dump(meta, open(p, "w"), indent=4, sort_keys=True)
    expect(name, full, chunks, "bfloat16")

# Unpatched void: readable, but the torch dtype is ambiguous.
a = make("void2", (5,), (2,), "|V2", data=np.arange(5, dtype="<u2").view("|V2"))
expect("void2", a[...], (2,), "")

# Compressed, with edge chunks in every dimension.
for name, comp in [("zlib", numcodecs.Zlib(level=1)), ("gzip", numcodecs.GZip(level=1)),
                   ("zstd", numcodecs.Zstd(level=1))]:
    a = make(name, (5, 6, 7), (2, 4, 3), "<f4", compressor=comp)
    expect(name, a[...], (2, 4, 3), "float32")
a = make("zstd_big", (600, 1000), (512, 768), "<i8", compressor=numcodecs.Zstd(level=3),
         data=np.arange(600 * 1000, dtype="<i8").reshape(600, 1000))
expect("zstd_big", a[...], (512, 768), "int64")

a = make("slash", (5, 6, 7), (2, 4, 3), "<i4", dimension_separator="/")
expect("slash", a[...], (2, 4, 3), "int32")

# fill_value set and only part of the array written: the other chunks are
# never stored, and zarr reads them as fill_value.
for name, dtype, fill, comp in [
    ("fill_f16", "<f2", 0.1, None),
    ("fill_f32", "<f4", float("-inf"), None),
    ("fill_f64", "<f8", float("nan"), None),
    ("fill_i16", "<i2", -7, None),
    ("fill_u64", "<u8", 2**64 - 1, None),
    ("fill_bool", "|b1", True, None),
    ("fill_c64", "<c8", 1 + 2j, None),
    ("fill_v2", "|V2", b"\x01\x02", None),
    ("fill_zlib", "<i4", 3, numcodecs.Zlib(level=1)),
]:
    data = values((5, 7), dtype) if dtype != "|V2" else np.arange(35, dtype="<u2").reshape(5, 7).view("|V2")
    a = make(name, (5, 7), (2, 3), dtype, compressor=comp, fill_value=fill, data=data, region=(slice(0, 1), slice(0, 2)))
    expect(name, a[...], (2, 3), torch_name(dtype) if dtype != "|V2" else "")

# zarr's default compressor, which Megatron-Core never uses.
make("blosc", (5, 3), (2, 2), "<u2", compressor=numcodecs.Blosc())
manifest.append(dict(name="blosc", error="blosc"))

# A lock directory Megatron-Core's writer leaves next to flattened tensors.
make("f32.sync", (2,), (2,), "<f4")

json.dump(manifest, open(os.path.join(out, "manifest.json"), "w"))
`

type interopArray struct {
	Name    string
	Torch   string
	Missing int
	Error   string
}

func TestInteropZarr(t *testing.T) {
	dir := t.TempDir()
	oracle.Run(t, []string{"zarr", "numcodecs", "numpy", "torch"}, interopScript, dir)
	var manifest []interopArray
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		t.Fatal(err)
	}
	fsys := os.DirFS(dir)

	var want []string
	missing := 0
	for _, m := range manifest {
		want = append(want, m.Name)
		missing += m.Missing
		t.Run(strings.ReplaceAll(m.Name, "/", "_"), func(t *testing.T) {
			if m.Error != "" {
				_, err := Open(fsys, m.Name)
				if err == nil {
					t.Fatal("Open succeeded")
				}
				for _, s := range []string{m.Name, `"` + m.Error + `"`, "Megatron-Core writes compressor null"} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %s", err, s)
					}
				}
				if !errors.Is(err, ErrUnsupported) {
					t.Errorf("error %q is not ErrUnsupported", err)
				}
				return
			}
			checkArray(t, fsys, dir, m)
		})
	}
	if missing == 0 {
		t.Error("no array has a missing chunk: the fill_value path went untested")
	}

	got, err := List(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List:\n got %q\nwant %q", got, want)
	}
}

// checkArray reads every chunk of one array through every access path and
// compares it with the bytes numpy cut out, then compares the reassembled
// array with numpy's bytes of the whole array.
func checkArray(t *testing.T, fsys fs.FS, dir string, m interopArray) {
	fullWant, err := os.ReadFile(filepath.Join(dir, m.Name+".full"))
	if err != nil {
		t.Fatal(err)
	}
	expects, err := os.ReadDir(filepath.Join(dir, m.Name+".expect"))
	if err != nil {
		t.Fatal(err)
	}
	paths := []struct {
		name string
		fsys fs.FS
	}{{"ReaderAt", fsys}, {"sequential", seqFS{fsys}}}
	for _, p := range paths {
		a, err := Open(p.fsys, m.Name)
		if err != nil {
			t.Fatal(err)
		}
		torch, err := a.DType.Torch()
		if m.Torch == "" {
			if !errors.Is(err, ErrAmbiguousDType) {
				t.Errorf("Torch() = %q, %v; want ErrAmbiguousDType", torch, err)
			}
		} else if err != nil || torch != m.Torch {
			t.Errorf("Torch() = %q, %v; want %q", torch, err, m.Torch)
		}
		if a.NumChunks() != len(expects) {
			t.Fatalf("NumChunks() = %d, want %d", a.NumChunks(), len(expects))
		}
		full := make([]byte, len(fullWant))
		n := 0
		for idx := range a.ChunkIndexes() {
			n++
			c, err := a.Chunk(idx)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, m.Name+".expect", dotKey(idx)))
			if err != nil {
				t.Fatal(err)
			}
			if c.Size() != int64(len(want)) {
				t.Fatalf("%s chunk %v: Size() = %d, want %d", p.name, idx, c.Size(), len(want))
			}
			for _, how := range readWays {
				got, err := how.read(c)
				if err != nil {
					t.Fatalf("%s chunk %v via %s: %v", p.name, idx, how.name, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s chunk %v (key %q, edge %v) via %s: bytes differ from numpy's\n got %x\nwant %x",
						p.name, idx, c.Key, c.Edge, how.name, head(got), head(want))
				}
			}
			place(full, a.Shape, c.Offset, c.Shape, a.ItemSize(), want)
		}
		if n != len(expects) {
			t.Fatalf("ChunkIndexes yielded %d chunks, want %d", n, len(expects))
		}
		if !bytes.Equal(full, fullWant) {
			t.Fatalf("%s: reassembled array differs from numpy's bytes", p.name)
		}
	}
}

func head(b []byte) []byte { return b[:min(len(b), 64)] }

func dotKey(idx []int) string {
	if len(idx) == 0 {
		return "0"
	}
	s := make([]string, len(idx))
	for i, v := range idx {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ".")
}

// readWays are the ways a caller can get a chunk's bytes.
var readWays = []struct {
	name string
	read func(*Chunk) ([]byte, error)
}{
	{"Open+ReadAll", func(c *Chunk) ([]byte, error) {
		r, err := c.Open()
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return io.ReadAll(struct{ io.Reader }{r})
	}},
	{"Open+small reads", func(c *Chunk) ([]byte, error) {
		r, err := c.Open()
		if err != nil {
			return nil, err
		}
		defer r.Close()
		// Odd sizes, so reads end inside elements and rows.
		n := 7
		if c.Size() > 64<<10 {
			n = 4099
		}
		return io.ReadAll(smallReader{r, n})
	}},
	{"WriteTo(ReaderFrom)", func(c *Chunk) ([]byte, error) {
		var b bytes.Buffer
		n, err := c.WriteTo(&b)
		if err == nil && n != int64(b.Len()) {
			err = errors.New("WriteTo count differs from bytes written")
		}
		return b.Bytes(), err
	}},
	{"WriteTo(Writer)", func(c *Chunk) ([]byte, error) {
		var b bytes.Buffer
		n, err := c.WriteTo(struct{ io.Writer }{&b})
		if err == nil && n != int64(b.Len()) {
			err = errors.New("WriteTo count differs from bytes written")
		}
		return b.Bytes(), err
	}},
	{"io.Copy", func(c *Chunk) ([]byte, error) {
		r, err := c.Open()
		if err != nil {
			return nil, err
		}
		defer r.Close()
		var b bytes.Buffer
		_, err = io.Copy(&b, r)
		return b.Bytes(), err
	}},
}

type smallReader struct {
	r io.Reader
	n int
}

func (s smallReader) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), s.n)]) }

// place copies a C-order region of an array into the array's bytes.
func place(full []byte, shape, off, region []int64, item int, data []byte) {
	rank := len(shape)
	if rank == 0 {
		copy(full, data)
		return
	}
	row := int(region[rank-1]) * item
	idx := make([]int64, rank-1)
	for src := 0; src < len(data); src += row {
		pos := int64(0)
		for d := 0; d < rank; d++ {
			i := off[d]
			if d < rank-1 {
				i += idx[d]
			}
			pos = pos*shape[d] + i
		}
		copy(full[pos*int64(item):], data[src:src+row])
		for d := rank - 2; d >= 0; d-- {
			if idx[d]++; idx[d] < region[d] {
				break
			}
			idx[d] = 0
		}
	}
}

// seqFS hides io.ReaderAt (and every other optional method) of the files
// it opens, as a tar stream or a network store would.
type seqFS struct{ fsys fs.FS }

func (s seqFS) Open(name string) (fs.File, error) {
	f, err := s.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	return seqFile{f}, nil
}

type seqFile struct{ f fs.File }

func (s seqFile) Stat() (fs.FileInfo, error) { return s.f.Stat() }
func (s seqFile) Read(p []byte) (int, error) { return s.f.Read(p) }
func (s seqFile) Close() error               { return s.f.Close() }

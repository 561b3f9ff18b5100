package tarfs

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/nemo-migrate/nemo-migrate/internal/membudget"
	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// TestPythonTar indexes tars that Python's tarfile wrote the way NeMo writes
// .nemo files and checks every member's bytes against Python's own reading.
func TestPythonTar(t *testing.T) {
	dir := t.TempDir()
	out := oracle.Run(t, nil, `
import hashlib, json, os, sys, tarfile, tempfile
d = sys.argv[1]
src = tempfile.mkdtemp()
os.makedirs(os.path.join(src, "model_weights", "decoder.layers.mlp.linear_fc1.weight"))
open(os.path.join(src, "model_config.yaml"), "w").write("mcore_gpt: true\n")
open(os.path.join(src, "model_weights", "metadata.json"), "w").write("{}")
for i in range(3):
    open(os.path.join(src, "model_weights", "decoder.layers.mlp.linear_fc1.weight", "%d.0.0" % i), "wb").write(os.urandom(1000 + 777 * i))
open(os.path.join(src, "x" * 200 + "_tokenizer.model"), "wb").write(os.urandom(5000))
open(os.path.join(src, "empty"), "wb").close()
res = {}
for fmt, name in ((tarfile.PAX_FORMAT, "pax"), (tarfile.GNU_FORMAT, "gnu"), (tarfile.USTAR_FORMAT, "ustar")):
    path = os.path.join(d, name + ".tar")
    try:
        with tarfile.open(path, "w:", format=fmt) as t:
            t.add(src, arcname=".")
    except ValueError:
        continue  # ustar cannot hold the 200-character name
    files = {}
    with tarfile.open(path, "r:") as t:
        for m in t.getmembers():
            if m.isreg():
                files[os.path.normpath(m.name)] = hashlib.sha256(t.extractfile(m).read()).hexdigest()
    res[name] = files
print(json.dumps(res))
`, dir)
	var want map[string]map[string]string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) < 2 {
		t.Fatalf("python wrote %d tars", len(want))
	}
	for format, files := range want {
		fsys, err := Open(filepath.Join(dir, format+".tar"))
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if len(fsys.Members()) != len(files) {
			t.Errorf("%s: %d members, python sees %d", format, len(fsys.Members()), len(files))
		}
		var names []string
		for name, sum := range files {
			names = append(names, name)
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				t.Errorf("%s: %s: %v", format, name, err)
				continue
			}
			if got := sha256hex(data); got != sum {
				t.Errorf("%s: %s: content differs from python's", format, name)
			}
			// Member offsets address the archive directly.
			m, _ := fsys.Member(name)
			raw := make([]byte, m.Size)
			af, _ := os.Open(filepath.Join(dir, format+".tar"))
			af.ReadAt(raw, m.Offset)
			af.Close()
			if !bytes.Equal(raw, data) {
				t.Errorf("%s: %s: bytes at the recorded offset differ", format, name)
			}
		}
		if err := fstest.TestFS(fsys, names...); err != nil {
			t.Errorf("%s: fstest: %v", format, err)
		}
		f, _ := fsys.Open("model_config.yaml")
		if sec, ok := f.(*File); !ok {
			t.Error("member is not a *File")
		} else if file, off, n, err := sec.Section(); err != nil || off%512 != 0 || n != int64(len("mcore_gpt: true\n")) {
			t.Errorf("Section = %v, %d, %d, %v", file, off, n, err)
		} else {
			buf := make([]byte, n)
			file.ReadAt(buf, off)
			file.Close()
			if string(buf) != "mcore_gpt: true\n" {
				t.Errorf("Section's range holds %q", buf)
			}
		}
		fsys.Close()
	}
}

func TestHostileArchives(t *testing.T) {
	dir := t.TempDir()
	oracle.Run(t, nil, `
import io, sys, tarfile, os
d = sys.argv[1]
def one(name, member, data=b"x"):
    with tarfile.open(os.path.join(d, name + ".tar"), "w:") as t:
        t.addfile(member, io.BytesIO(data) if member.isreg() else None)
def reg(name):
    m = tarfile.TarInfo(name); m.size = 1; return m
one("dotdot", reg("../escape"))
one("deepdotdot", reg("a/../../escape"))
one("absolute", reg("/etc/x"))
m = tarfile.TarInfo("link"); m.type = tarfile.SYMTYPE; m.linkname = "/etc/passwd"; one("symlink", m)
m = tarfile.TarInfo("hard"); m.type = tarfile.LNKTYPE; m.linkname = "model_config.yaml"; one("hardlink", m)
m = tarfile.TarInfo("dev"); m.type = tarfile.CHRTYPE; one("chardev", m)
m = tarfile.TarInfo("fifo"); m.type = tarfile.FIFOTYPE; one("fifo", m)
with tarfile.open(os.path.join(d, "dup.tar"), "w:") as t:
    for _ in range(2):
        t.addfile(reg("./a"), io.BytesIO(b"x"))
with tarfile.open(os.path.join(d, "filedir.tar"), "w:") as t:
    t.addfile(reg("a"), io.BytesIO(b"x"))
    t.addfile(reg("a/b"), io.BytesIO(b"x"))
with tarfile.open(os.path.join(d, "big.tar"), "w:") as t:
    m = reg("big"); m.size = 100000
    t.addfile(m, io.BytesIO(b"y" * 100000))
`, dir)
	tests := map[string]string{
		"dotdot": "outside the archive", "deepdotdot": "outside the archive", "absolute": "absolute",
		"symlink": "is a link", "hardlink": "is a link", "chardev": "not a regular file", "fifo": "not a regular file",
		"dup": "appears twice", "filedir": "both a file and a directory",
	}
	for name, want := range tests {
		_, err := Open(filepath.Join(dir, name+".tar"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want error containing %q", name, err, want)
		}
		if strings.Contains(want, "link") || strings.Contains(want, "outside") || strings.Contains(want, "absolute") {
			if !errors.Is(err, ErrUnsafe) {
				t.Errorf("%s: %v does not wrap ErrUnsafe", name, err)
			}
		}
	}
	// Truncation anywhere must be an error, never a panic or a silent
	// short member.
	data, err := os.ReadFile(filepath.Join(dir, "big.tar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{0, 100, 511, 512, 1000, 50000, 100511} {
		fsys, err := New(bytes.NewReader(data[:cut]), int64(cut))
		if cut == 0 {
			// An empty file is an empty archive to archive/tar.
			if err == nil && len(fsys.Members()) != 0 {
				t.Errorf("empty archive has members")
			}
			continue
		}
		if err == nil {
			t.Errorf("truncated at %d: no error", cut)
		}
	}
}

func TestNotATar(t *testing.T) {
	_, err := New(strings.NewReader(strings.Repeat("hello world ", 100)), 1200)
	if err == nil {
		t.Error("text accepted as a tar")
	}
}

func TestReadDirAndStat(t *testing.T) {
	fsys, err := Open("testdata/nemo_pax.tar")
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	entries, err := fs.ReadDir(fsys, "model_weights")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "layer.weight,metadata.json" {
		t.Errorf("ReadDir = %v", names)
	}
	st, err := fs.Stat(fsys, "model_weights/layer.weight/0.0")
	if err != nil || st.Size() != 768 {
		t.Errorf("Stat = %v, %v", st, err)
	}
	if _, err := fsys.Open("../x"); err == nil {
		t.Error("Open(../x) succeeded")
	}
	if _, err := fsys.Open("missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(missing) = %v", err)
	}
	f, _ := fsys.Open("model_weights/layer.weight/0.0")
	buf := make([]byte, 4)
	if _, err := f.(io.ReaderAt).ReadAt(buf, 10); err != nil || !bytes.Equal(buf, []byte{10, 11, 12, 13}) {
		t.Errorf("ReadAt = %v, %v", buf, err)
	}
}

// FuzzNew indexes arbitrary bytes as a tar, seeded with real tars. It must
// never panic, and every indexed member must lie inside the input.
func FuzzNew(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.tar")
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer membudget.Check(t, len(data))()
		fsys, err := New(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, m := range fsys.Members() {
			if m.Offset < 0 || m.Size < 0 || m.Offset+m.Size > int64(len(data)) {
				t.Fatalf("member %s at %d+%d lies outside %d bytes", m.Name, m.Offset, m.Size, len(data))
			}
			if !fs.ValidPath(m.Name) || strings.Contains(m.Name, "..") && strings.Contains("/"+m.Name+"/", "/../") {
				t.Fatalf("unsafe name %q indexed", m.Name)
			}
			if _, err := fs.ReadFile(fsys, m.Name); err != nil {
				t.Fatalf("reading %s: %v", m.Name, err)
			}
		}
	})
}

func sha256hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestTruncatedAnywhere: an archive cut at any byte before its
// end-of-archive block is refused as truncated, also where archive/tar
// itself ends quietly (at a header, or in a member's padding).
func TestTruncatedAnywhere(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, size := range []int{700, 0, 1024, 5} {
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("m%d", i), Size: int64(size), Mode: 0o644, Typeflag: tar.TypeReg})
		tw.Write(bytes.Repeat([]byte{'x'}, size))
	}
	tw.Close()
	data := buf.Bytes()
	end := len(data) - 2*512 // the end-of-archive blocks
	if _, err := New(bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("whole archive: %v", err)
	}
	for cut := 0; cut <= end; cut += 100 {
		_, err := New(bytes.NewReader(data[:cut]), int64(cut))
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d of %d: err = %v, want truncated", cut, len(data), err)
		}
	}
	for _, cut := range []int{end, end - 512} {
		if _, err := New(bytes.NewReader(data[:cut]), int64(cut)); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at block boundary %d: err = %v, want truncated", cut, err)
		}
	}
}

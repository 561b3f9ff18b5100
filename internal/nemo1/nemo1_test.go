package nemo1

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// makeInputs has Python write a NeMo-shaped checkpoint directory and pack it
// the way NeMo does (tarfile "w:", arcname "."), plus a gzip copy.
func makeInputs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	oracle.Run(t, nil, `
import gzip, os, shutil, sys, tarfile
d = sys.argv[1]
src = os.path.join(d, "extracted")
os.makedirs(os.path.join(src, "model_weights"))
open(os.path.join(src, "model_config.yaml"), "w").write("mcore_gpt: true\ntokenizer:\n  model: nemo:0123456789abcdef0123456789abcdef_tokenizer.model\n")
open(os.path.join(src, "0123456789abcdef0123456789abcdef_tokenizer.model"), "wb").write(b"spm")
open(os.path.join(src, "model_weights", "metadata.json"), "w").write('{"sharded_backend": "torch_dist"}')
with tarfile.open(os.path.join(d, "model.nemo"), "w:") as t:
    t.add(src, arcname=".")
with open(os.path.join(d, "model.nemo"), "rb") as f, gzip.open(os.path.join(d, "model.nemo.gz"), "wb") as g:
    shutil.copyfileobj(f, g)
legacy = os.path.join(d, "legacy")
os.makedirs(legacy)
open(os.path.join(legacy, "model_config.yaml"), "w").write("mcore_gpt: false\n")
open(os.path.join(legacy, "model_weights.ckpt"), "wb").write(b"x")
with tarfile.open(os.path.join(d, "legacy.nemo"), "w:") as t:
    t.add(legacy, arcname=".")
`, dir)
	return dir
}

func TestOpenForms(t *testing.T) {
	dir := makeInputs(t)
	spool := t.TempDir()
	for _, tt := range []struct {
		path        string
		kind        Kind
		weights     string
		config      string
		hasArtifact bool
	}{
		{"model.nemo", Archive, "model_weights", "model_config.yaml", true},
		{"model.nemo.gz", GzipArchive, "model_weights", "model_config.yaml", true},
		{"extracted", Directory, "model_weights", "model_config.yaml", true},
		{"extracted/model_weights", WeightsDirectory, ".", "", false},
	} {
		c, err := Open(filepath.Join(dir, tt.path), Options{SpoolDir: spool})
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		if c.Kind != tt.kind || c.WeightsDir != tt.weights || c.ConfigPath != tt.config {
			t.Errorf("%s: kind %v weights %q config %q", tt.path, c.Kind, c.WeightsDir, c.ConfigPath)
		}
		b, err := fs.ReadFile(c.FS, filepath.ToSlash(filepath.Join(c.WeightsDir, "metadata.json")))
		if err != nil || !strings.Contains(string(b), "torch_dist") {
			t.Errorf("%s: metadata.json: %q, %v", tt.path, b, err)
		}
		if tt.config != "" {
			cfg, err := c.ReadConfig()
			if err != nil || !strings.HasPrefix(string(cfg), "mcore_gpt: true") {
				t.Errorf("%s: config %q, %v", tt.path, cfg, err)
			}
		} else if _, err := c.ReadConfig(); err == nil {
			t.Errorf("%s: ReadConfig without a config succeeded", tt.path)
		}
		if tt.hasArtifact {
			p, err := c.Artifact("nemo:0123456789abcdef0123456789abcdef_tokenizer.model")
			if err != nil {
				t.Errorf("%s: %v", tt.path, err)
			} else if b, _ := fs.ReadFile(c.FS, p); string(b) != "spm" {
				t.Errorf("%s: artifact content %q", tt.path, b)
			}
			if _, err := c.Artifact("nemo:missing_tokenizer.model"); err == nil {
				t.Errorf("%s: missing artifact found", tt.path)
			}
		}
		if err := c.Close(); err != nil {
			t.Errorf("%s: Close: %v", tt.path, err)
		}
	}
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Errorf("spool files left behind: %v", left)
	}
}

func TestOpenRejects(t *testing.T) {
	dir := makeInputs(t)
	os.WriteFile(filepath.Join(dir, "text.nemo"), []byte(strings.Repeat("not a tar ", 200)), 0o644)
	os.WriteFile(filepath.Join(dir, "short.nemo"), []byte("hello\n"), 0o644)
	tarData, _ := os.ReadFile(filepath.Join(dir, "model.nemo"))
	os.WriteFile(filepath.Join(dir, "trunc.nemo"), tarData[:700], 0o644)
	os.MkdirAll(filepath.Join(dir, "emptydir"), 0o755)
	os.MkdirAll(filepath.Join(dir, "nemo2", "weights"), 0o755)
	os.MkdirAll(filepath.Join(dir, "nemo2", "context"), 0o755)
	data, _ := os.ReadFile(filepath.Join(dir, "model.nemo.gz"))
	os.WriteFile(filepath.Join(dir, "trunc.nemo.gz"), data[:len(data)/2], 0o644)
	for _, tt := range []struct {
		path string
		is   error
		want string
	}{
		{"legacy.nemo", ErrLegacy, "model_weights.ckpt"},
		{"legacy", ErrLegacy, "distributed checkpoint"},
		{"text.nemo", ErrNotCheckpoint, "neither a tar nor a gzip"},
		{"short.nemo", ErrNotCheckpoint, "neither a tar nor a gzip"},
		{"trunc.nemo", nil, "truncated"},
		{"emptydir", ErrNotCheckpoint, "neither model_weights/"},
		{"nemo2", ErrNotCheckpoint, "already a NeMo 2.0 checkpoint"},
		{"trunc.nemo.gz", nil, "truncated"},
		{"missing.nemo", fs.ErrNotExist, ""},
	} {
		_, err := Open(filepath.Join(dir, tt.path), Options{SpoolDir: t.TempDir()})
		if err == nil {
			t.Errorf("%s: no error", tt.path)
			continue
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%s: %v is not %v", tt.path, err, tt.is)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v does not mention %q", tt.path, err, tt.want)
		}
	}
}

// gzipFile writes a gzip of tar members built by add.
func gzipFile(t *testing.T, path string, add func(tw *tar.Writer)) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	add(tw)
	tw.Close()
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGzipStopsEarly: a gzip .nemo is judged while it is decompressed.
// A member the archive may not hold stops the pass before the gigabytes
// behind it are spooled, and a stream of zeros ends as an empty archive
// instead of being spooled whole.
func TestGzipStopsEarly(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, 32<<20)
	cases := []struct {
		name string
		add  func(tw *tar.Writer)
		want string
	}{
		{"link first", func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "./model_config.yaml", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})
			tw.WriteHeader(&tar.Header{Name: "./model_weights/big", Size: int64(len(big)), Mode: 0o644})
			tw.Write(big)
		}, "link"},
		{"zeros", func(tw *tar.Writer) {
			// Not a tar writer's output: raw zeros, as a hostile file has.
		}, "model_weights"},
	}
	for _, c := range cases {
		name := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".nemo")
		if c.name == "zeros" {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(big)
			zw.Close()
			os.WriteFile(name, buf.Bytes(), 0o644)
		} else {
			gzipFile(t, name, c.add)
		}
		st, _ := os.Stat(name)
		spool := t.TempDir()
		var read int64
		_, err := Open(name, Options{SpoolDir: spool, Progress: func(done, total int64) { read = done }})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", c.name, err, c.want)
		}
		if read > st.Size()/2 {
			t.Errorf("%s: read %d of %d compressed bytes before refusing", c.name, read, st.Size())
		}
		if entries, _ := os.ReadDir(spool); len(entries) != 0 {
			t.Errorf("%s: spool left %v", c.name, entries)
		}
	}
}

// TestErrorsNameThePathOnce: an error says which file once, in words.
func TestErrorsNameThePathOnce(t *testing.T) {
	dir := t.TempDir()
	trav := filepath.Join(dir, "traversal.nemo")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "../evil", Size: 1, Mode: 0o644})
	tw.Write([]byte("x"))
	tw.Close()
	os.WriteFile(trav, buf.Bytes(), 0o644)
	junk := filepath.Join(dir, "junk.nemo")
	os.WriteFile(junk, bytes.Repeat([]byte{0xa5}, 2000), 0o644)
	for name, want := range map[string]string{trav: "outside the archive", junk: "neither a tar nor a gzip file"} {
		_, err := Open(name, Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", name, err, want)
			continue
		}
		if n := strings.Count(err.Error(), name); n != 1 {
			t.Errorf("%s named %d times: %v", name, n, err)
		}
		if strings.Contains(err.Error(), "archive/tar") {
			t.Errorf("%s: the reader's internals leak: %v", name, err)
		}
	}
}

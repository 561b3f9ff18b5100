package nemo1

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nemo-migrate/internal/oracle"
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

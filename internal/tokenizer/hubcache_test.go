package tokenizer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

const testCommit = "0123456789abcdef0123456789abcdef01234567"

// writeCache lays files out in a huggingface_hub cache as hf_hub_download
// leaves them: the contents in blobs/<etag>, snapshots/<commit>/<name> a
// relative symbolic link to it, refs/<revision> the commit (no line end),
// and an empty .no_exist/<commit>/<name> for each file known to be absent.
func writeCache(t *testing.T, cache, repo, revision, commit string, files map[string][]byte, absent ...string) string {
	t.Helper()
	repoDir := filepath.Join(cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
	snap := filepath.Join(repoDir, "snapshots", commit)
	for _, d := range []string{filepath.Join(repoDir, "blobs"), snap, filepath.Join(repoDir, "refs"), filepath.Join(repoDir, ".no_exist", commit)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range files {
		sum := sha256.Sum256(data)
		etag := hex.EncodeToString(sum[:])
		if err := os.WriteFile(filepath.Join(repoDir, "blobs", etag), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..", "..", "blobs", etag), filepath.Join(snap, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range absent {
		os.WriteFile(filepath.Join(repoDir, ".no_exist", commit, name), nil, 0o644)
	}
	if revision != "" {
		ref := filepath.Join(repoDir, "refs", filepath.FromSlash(revision))
		os.MkdirAll(filepath.Dir(ref), 0o755)
		if err := os.WriteFile(ref, []byte(commit), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return snap
}

// refusingHub fails the test on any request.
func refusingHub(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the Hub was asked for %s", r.URL)
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestFetchTokenizerFromCache: a cached snapshot serves without any
// request, online or offline, and reads like a downloaded directory.
func TestFetchTokenizerFromCache(t *testing.T) {
	files, n := llama3Fixture()
	cache := t.TempDir()
	snap := writeCache(t, cache, "meta-llama/Meta-Llama-3-8B", "main", testCommit, files, "tokenizer.model", "added_tokens.json")
	srv := refusingHub(t)
	for _, offline := range []bool{false, true} {
		got, err := FetchTokenizer(context.Background(), HubConfig{Endpoint: srv.URL, CacheDir: cache, Offline: offline},
			"meta-llama/Meta-Llama-3-8B", "", filepath.Join(t.TempDir(), "dl"))
		if err != nil {
			t.Fatal(err)
		}
		if !got.Cached || got.Commit != testCommit || got.Dir != snap || got.Download != nil {
			t.Errorf("offline=%v: %+v", offline, got)
		}
		info, err := Load(got.Dir, HuggingFace, false)
		if err != nil {
			t.Fatal(err)
		}
		if info.VocabSize != n+4 || len(info.Files) != 3 {
			t.Errorf("cached tokenizer: vocab %d, files %v", info.VocabSize, info.Files)
		}
		// The files copied into context/ are the blobs' contents.
		ctx := t.TempDir()
		if err := info.WriteFiles(ctx); err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			if got, _ := os.ReadFile(filepath.Join(ctx, HFContextDir, name)); string(got) != string(data) {
				t.Errorf("%s differs from the cached blob", name)
			}
		}
	}
	// A revision given as the commit itself needs no ref.
	if got, err := FetchTokenizer(context.Background(), HubConfig{Endpoint: srv.URL, CacheDir: cache, Offline: true},
		"meta-llama/Meta-Llama-3-8B", testCommit, t.TempDir()); err != nil || got.Dir != snap {
		t.Errorf("by commit: %+v, %v", got, err)
	}
}

// TestFetchTokenizerCacheMisses: a snapshot that is absent or incomplete
// is downloaded when online, and offline is an error saying why the cache
// did not serve and what to run; no request is made offline.
func TestFetchTokenizerCacheMisses(t *testing.T) {
	files, _ := llama3Fixture()
	repo := "meta-llama/Meta-Llama-3-8B"
	without := func(name string) map[string][]byte {
		m := map[string][]byte{}
		for k, v := range files {
			if k != name {
				m[k] = v
			}
		}
		return m
	}
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, files["tokenizer.json"], 0o644)
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, cache string)
		rev   string
		why   string
	}{
		{"never fetched", func(t *testing.T, cache string) {}, "", "was never fetched"},
		{"other revision", func(t *testing.T, cache string) { writeCache(t, cache, repo, "main", testCommit, files) }, "v2", "no snapshot"},
		{"no ref", func(t *testing.T, cache string) { writeCache(t, cache, repo, "", testCommit, files) }, "", "no snapshot"},
		{"bad ref", func(t *testing.T, cache string) {
			writeCache(t, cache, repo, "main", testCommit, files)
			os.WriteFile(filepath.Join(cache, "models--meta-llama--Meta-Llama-3-8B", "refs", "main"), []byte("../../../etc"), 0o644)
		}, "", "not a commit hash"},
		{"no tokenizer_config.json", func(t *testing.T, cache string) {
			writeCache(t, cache, repo, "main", testCommit, without("tokenizer_config.json"))
		}, "", "no tokenizer_config.json"},
		{"no vocabulary", func(t *testing.T, cache string) {
			writeCache(t, cache, repo, "main", testCommit, without("tokenizer.json"))
		}, "", "none of tokenizer.json"},
		{"link out of the cache", func(t *testing.T, cache string) {
			snap := writeCache(t, cache, repo, "main", testCommit, without("tokenizer.json"))
			os.Symlink(outside, filepath.Join(snap, "tokenizer.json"))
		}, "", "outside"},
		{"corrupt blob", func(t *testing.T, cache string) {
			m := without("tokenizer.json")
			m["tokenizer.json"] = []byte("{")
			writeCache(t, cache, repo, "main", testCommit, m)
		}, "", "tokenizer.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cache := t.TempDir()
			c.setup(t, cache)
			hub, srv := newHub(t, files)
			if c.rev != "" {
				hub.rev = c.rev
			}
			_, err := FetchTokenizer(context.Background(), HubConfig{Endpoint: srv.URL, CacheDir: cache, Offline: true, OfflineReason: "HF_HUB_OFFLINE=1"},
				repo, c.rev, t.TempDir())
			if !errors.Is(err, ErrHubOffline) {
				t.Fatalf("offline: %v", err)
			}
			for _, w := range []string{c.why, "HF_HUB_OFFLINE=1", "hf download " + repo, cache, "--tokenizer_path"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("offline error does not mention %q:\n%v", w, err)
				}
			}
			if hub.requests() != 0 {
				t.Errorf("offline made %d requests", hub.requests())
			}
			dl := filepath.Join(t.TempDir(), "dl")
			got, err := FetchTokenizer(context.Background(), HubConfig{Endpoint: srv.URL, CacheDir: cache}, repo, c.rev, dl)
			if err != nil {
				t.Fatal(err)
			}
			if got.Cached || got.Dir != dl || got.Download == nil || hub.requests() == 0 {
				t.Errorf("online: %+v after %d requests", got, hub.requests())
			}
		})
	}
	// Offline with no cache at all.
	_, err := FetchTokenizer(context.Background(), HubConfig{Offline: true, OfflineReason: "--offline"}, repo, "", t.TempDir())
	if !errors.Is(err, ErrHubOffline) || !strings.Contains(err.Error(), "--offline") || !strings.Contains(err.Error(), "no Hugging Face cache") {
		t.Errorf("offline without a cache: %v", err)
	}
	// Download itself honours Offline.
	srv := refusingHub(t)
	if _, err := Download(context.Background(), HubConfig{Endpoint: srv.URL, Offline: true}, repo, "", t.TempDir()); !errors.Is(err, ErrHubOffline) {
		t.Errorf("Download offline: %v", err)
	}
	for _, rev := range []string{"../x", "a/../b", "/abs", "a//b", `a\b`} {
		if _, err := FetchTokenizer(context.Background(), HubConfig{CacheDir: t.TempDir(), Offline: true}, repo, rev, t.TempDir()); err == nil ||
			!strings.Contains(err.Error(), "revision") {
			t.Errorf("revision %q: %v", rev, err)
		}
	}
}

// hfHubDownloadScript fills a cache with huggingface_hub's own
// hf_hub_download, as 'hf download REPO FILE...' does, from the endpoint
// given; files the repository lacks are skipped (huggingface_hub records
// them under .no_exist/).
const hfHubDownloadScript = `
import os, sys
endpoint, cache, home, repo = sys.argv[1:5]
os.environ.update({"HF_ENDPOINT": endpoint, "HF_HUB_CACHE": cache, "HF_HOME": home, "HF_HUB_DISABLE_TELEMETRY": "1",
                   "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_UPDATE_CHECK": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"})
for k in ("HF_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.pop(k, None)
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import EntryNotFoundError
got = []
for name in sys.argv[5:]:
    try:
        hf_hub_download(repo, name)
        got.append(name)
    except EntryNotFoundError:
        pass
print(" ".join(got))
`

// TestCacheWrittenByHuggingFaceHub has the real huggingface_hub download a
// tokenizer from the loopback Hub into a cache, then reads that cache
// offline: the layout is huggingface_hub's, not our imitation of it.
func TestCacheWrittenByHuggingFaceHub(t *testing.T) {
	stacks := oracle.StacksWith(t, "huggingface_hub")
	if len(stacks) == 0 {
		return
	}
	files, _ := llama3Fixture()
	hub, srv := newHub(t, files)
	hub.commit = testCommit
	tmp := t.TempDir()
	cache := filepath.Join(tmp, "hub")
	out := oracle.RunWith(t, stacks[0].Python, []string{"huggingface_hub"}, hfHubDownloadScript,
		append([]string{srv.URL, cache, filepath.Join(tmp, "home"), hub.repo}, hubFiles...)...)
	if got := strings.Fields(string(out)); !slices.Equal(got, []string{"tokenizer_config.json", "tokenizer.json", "special_tokens_map.json"}) {
		t.Fatalf("huggingface_hub fetched %q", out)
	}
	before := hub.requests()
	for _, offline := range []bool{true, false} {
		got, err := FetchTokenizer(context.Background(), HubConfig{Endpoint: srv.URL, CacheDir: cache, Offline: offline}, hub.repo, "", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if !got.Cached || got.Commit != testCommit {
			t.Errorf("offline=%v: %+v", offline, got)
		}
		info, err := Load(got.Dir, HuggingFace, false)
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.TempDir()
		if err := info.WriteFiles(ctx); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"tokenizer_config.json", "tokenizer.json", "special_tokens_map.json"} {
			if got, _ := os.ReadFile(filepath.Join(ctx, HFContextDir, name)); string(got) != string(files[name]) {
				t.Errorf("%s from the cache differs", name)
			}
		}
	}
	if hub.requests() != before {
		t.Errorf("%d requests with the tokenizer cached", hub.requests()-before)
	}
	// huggingface_hub recorded the absent files as absent.
	if _, err := os.Stat(filepath.Join(cache, "models--meta-llama--Meta-Llama-3-8B", ".no_exist", testCommit, "tokenizer.model")); err != nil {
		t.Errorf("no .no_exist record: %v", err)
	}
}

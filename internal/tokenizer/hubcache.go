package tokenizer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The huggingface_hub cache, as huggingface_hub's file_download.py lays it
// out and reads it (try_to_load_from_cache) and as transformers uses it:
//
//	<cache>/models--<org>--<name>/
//	    refs/<revision>            the commit the revision (e.g. "main") was at
//	    snapshots/<commit>/<file>  a symbolic link to ../../blobs/<etag>
//	                               (a plain file where links are not supported)
//	    blobs/<etag>               the contents
//	    .no_exist/<commit>/<file>  an empty file: <file> is not in the repository
//
// nemo-migrate reads the cache and never writes it: writing it as
// huggingface_hub does needs its HEAD protocol (commit and etag headers),
// its file locks and its .incomplete files, and a cache other tools trust
// is not worth a half-right copy of them for files of a few MiB.

// ErrNotCached reports that a cache holds no usable copy of a repository's
// tokenizer.
var ErrNotCached = errors.New("not in the Hugging Face cache")

// HubTokenizer is where [FetchTokenizer] found a repository's tokenizer.
type HubTokenizer struct {
	// Dir is a directory [ReadHFDir] reads: a cache snapshot or the
	// download directory.
	Dir string
	// Cached says Dir is a snapshot of HubConfig.CacheDir, at Commit.
	Cached bool
	Commit string
	// Download is what was downloaded, when not Cached.
	Download *HubDownload
}

// FetchTokenizer finds the tokenizer of a Hub repository at revision
// (empty means "main"): the snapshot of cfg.CacheDir the revision points
// to, when it holds a complete tokenizer (see [CachedSnapshot]), without
// any request; else, unless cfg.Offline, the files downloaded into dir as
// [Download] does. Offline without a usable snapshot is an error, wrapping
// ErrHubOffline, that says why the cache did not serve and what to do.
func FetchTokenizer(ctx context.Context, cfg HubConfig, repo, revision, dir string) (*HubTokenizer, error) {
	if err := checkRepoID(repo); err != nil {
		return nil, err
	}
	revision, err := checkRevision(revision)
	if err != nil {
		return nil, err
	}
	var why error
	if cfg.CacheDir != "" {
		snap, commit, err := CachedSnapshot(cfg.CacheDir, repo, revision)
		if err == nil {
			return &HubTokenizer{Dir: snap, Cached: true, Commit: commit}, nil
		}
		why = err
	}
	if cfg.Offline {
		return nil, offlineError(cfg, repo, revision, errorText(why))
	}
	dl, err := Download(ctx, cfg, repo, revision, dir)
	if err != nil {
		return nil, err
	}
	return &HubTokenizer{Dir: dir, Download: dl}, nil
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func offlineError(cfg HubConfig, repo, revision, cacheWhy string) error {
	reason := cfg.OfflineReason
	if reason == "" {
		reason = "offline mode"
	}
	where := "no Hugging Face cache is configured (HF_HOME, HF_HUB_CACHE)"
	if cfg.CacheDir != "" {
		where = "the local cache " + cfg.CacheDir + " has no usable copy"
		if cacheWhy != "" {
			where += " (" + cacheWhy + ")"
		}
	}
	rev := ""
	if revision != "main" {
		rev = " --revision " + revision
	}
	return fmt.Errorf("the tokenizer of the Hugging Face repository %s is needed, %s forbids downloading it, and %s. "+
		"Fetch it once where the Hub is reachable, with the same HF_HOME or HF_HUB_CACHE: 'hf download %s%s' "+
		"(or 'huggingface-cli download %s%s'); or pass a local tokenizer directory with --tokenizer_path: %w",
		repo, reason, where, repo, rev, repo, rev, ErrHubOffline)
}

// CachedSnapshot returns the snapshot directory of a huggingface_hub cache
// that holds repo's tokenizer at revision, and its commit. As
// huggingface_hub resolves it: refs/<revision> gives the commit, or the
// revision is the commit itself. The snapshot must hold a complete
// tokenizer, which [ReadHFDir] accepts: tokenizer_config.json (or its
// absence recorded under .no_exist/), a vocabulary (tokenizer.json,
// tokenizer.model or vocab.json) and, when tokenizer_config.json names no
// tokenizer_class, config.json. Otherwise the error wraps ErrNotCached and
// says what is missing.
func CachedSnapshot(cacheDir, repo, revision string) (dir, commit string, err error) {
	if err := checkRepoID(repo); err != nil {
		return "", "", err
	}
	if revision, err = checkRevision(revision); err != nil {
		return "", "", err
	}
	notCached := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrNotCached)
	}
	repoDir := filepath.Join(cacheDir, "models--"+strings.ReplaceAll(repo, "/", "--"))
	if st, err := os.Stat(repoDir); err != nil || !st.IsDir() {
		return "", "", notCached("%s was never fetched into it", repo)
	}
	commit = revision
	ref := filepath.Join(repoDir, "refs", filepath.FromSlash(revision))
	data, err := readRegular(ref, 1<<10)
	switch {
	case err == nil:
		commit = strings.TrimSpace(string(data))
		if !isCommitHash(commit) {
			return "", "", notCached("%s holds %q, not a commit hash", ref, clip(commit))
		}
	case !errors.Is(err, fs.ErrNotExist):
		return "", "", notCached("%v", err)
	case strings.Contains(revision, "/"):
		return "", "", notCached("%s has no refs/%s", repoDir, revision)
	}
	dir = filepath.Join(repoDir, "snapshots", commit)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", "", notCached("no snapshot of %s at revision %s (%s)", repo, revision, dir)
	}
	has := func(name string) bool {
		st, err := os.Stat(filepath.Join(dir, name))
		return err == nil && st.Mode().IsRegular()
	}
	known := func(name string) bool {
		st, err := os.Stat(filepath.Join(repoDir, ".no_exist", commit, name))
		return has(name) || err == nil && st.Mode().IsRegular()
	}
	if !known("tokenizer_config.json") {
		return "", "", notCached("snapshot %s has no tokenizer_config.json", dir)
	}
	if !has("tokenizer.json") && !has("tokenizer.model") && !has("vocab.json") {
		return "", "", notCached("snapshot %s has none of tokenizer.json, tokenizer.model, vocab.json", dir)
	}
	t, err := ReadHFDir(dir)
	if err != nil {
		return "", "", notCached("%v", err)
	}
	if t.TokenizerClass == "" && !known(hfConfigFile) {
		return "", "", notCached("snapshot %s has no config.json, which names the tokenizer class when tokenizer_config.json does not", dir)
	}
	return dir, commit, nil
}

func isCommitHash(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

package tokenizer

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestHubFromEnv(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		want HubConfig
	}{
		{"defaults", map[string]string{"HOME": "/h"},
			HubConfig{TokenFile: "/h/.cache/huggingface/token", CacheDir: "/h/.cache/huggingface/hub"}},
		{"no home", map[string]string{}, HubConfig{}},
		{"xdg", map[string]string{"HOME": "/h", "XDG_CACHE_HOME": "/x"},
			HubConfig{TokenFile: "/x/huggingface/token", CacheDir: "/x/huggingface/hub"}},
		{"HF_HOME with ~ and $VAR", map[string]string{"HOME": "/h", "HF_HOME": "~/hf/$SUB/${SUB}-$UNSET", "SUB": "s"},
			HubConfig{TokenFile: "/h/hf/s/s-$UNSET/token", CacheDir: "/h/hf/s/s-$UNSET/hub"}},
		{"token path and caches", map[string]string{"HOME": "/h", "HF_TOKEN_PATH": "/t/tok", "HF_HUB_CACHE": "/c", "HUGGINGFACE_HUB_CACHE": "/d", "HF_ENDPOINT": "http://mirror"},
			HubConfig{Endpoint: "http://mirror", TokenFile: "/t/tok", CacheDir: "/c"}},
		{"legacy cache variable", map[string]string{"HOME": "/h", "HUGGINGFACE_HUB_CACHE": "/d"},
			HubConfig{TokenFile: "/h/.cache/huggingface/token", CacheDir: "/d"}},
		{"HF_TOKEN", map[string]string{"HOME": "/h", "HF_TOKEN": " hf_abc\r\n", "HUGGING_FACE_HUB_TOKEN": "hf_old"},
			HubConfig{Token: "hf_abc", TokenSource: "HF_TOKEN", CacheDir: "/h/.cache/huggingface/hub"}},
		{"legacy token variable", map[string]string{"HUGGING_FACE_HUB_TOKEN": "hf_old"},
			HubConfig{Token: "hf_old", TokenSource: "HUGGING_FACE_HUB_TOKEN"}},
		{"blank HF_TOKEN falls back to the file", map[string]string{"HOME": "/h", "HF_TOKEN": " \n"},
			HubConfig{TokenFile: "/h/.cache/huggingface/token", CacheDir: "/h/.cache/huggingface/hub"}},
		{"implicit token disabled", map[string]string{"HOME": "/h", "HF_TOKEN": "hf_abc", "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1"},
			HubConfig{CacheDir: "/h/.cache/huggingface/hub"}},
		{"offline", map[string]string{"HF_HUB_OFFLINE": "1"}, HubConfig{Offline: true, OfflineReason: "HF_HUB_OFFLINE=1"}},
		{"offline yes", map[string]string{"HF_HUB_OFFLINE": "yes"}, HubConfig{Offline: true, OfflineReason: "HF_HUB_OFFLINE=yes"}},
		{"transformers offline", map[string]string{"TRANSFORMERS_OFFLINE": "True"}, HubConfig{Offline: true, OfflineReason: "TRANSFORMERS_OFFLINE=True"}},
		// huggingface_hub reads TRANSFORMERS_OFFLINE only when
		// HF_HUB_OFFLINE is unset.
		{"HF_HUB_OFFLINE=0 wins", map[string]string{"HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "1"}, HubConfig{}},
		{"not a true value", map[string]string{"HF_HUB_OFFLINE": "2"}, HubConfig{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := HubFromEnv(mapEnv(c.env))
			if got.Endpoint != c.want.Endpoint || got.Token != c.want.Token || got.TokenSource != c.want.TokenSource ||
				got.TokenFile != c.want.TokenFile || got.CacheDir != c.want.CacheDir ||
				got.Offline != c.want.Offline || got.OfflineReason != c.want.OfflineReason {
				t.Errorf("got  %+v\nwant %+v", *got, c.want)
			}
		})
	}
}

// huggingfaceHubEnvScript sets the environment given as JSON, then imports
// huggingface_hub and prints what it makes of it.
const huggingfaceHubEnvScript = `
import json, os, sys
for k in list(os.environ):
    if k.startswith(("HF_", "HUGGING", "TRANSFORMERS_", "XDG_")):
        del os.environ[k]
os.environ.update(json.loads(sys.argv[1]))
from huggingface_hub import constants, get_token
print(json.dumps({"cache": constants.HF_HUB_CACHE, "token_path": constants.HF_TOKEN_PATH,
                  "offline": constants.HF_HUB_OFFLINE, "token": get_token(), "endpoint": constants.ENDPOINT}))
`

// TestHubFromEnvMatchesHuggingFaceHub gives huggingface_hub itself the
// same environments and compares the cache directory, token file, offline
// mode and the token it would send (from the variables or the file).
func TestHubFromEnvMatchesHuggingFaceHub(t *testing.T) {
	stacks := oracle.StacksWith(t, "huggingface_hub")
	if len(stacks) == 0 {
		return
	}
	tmp := t.TempDir()
	os.MkdirAll(filepath.Join(tmp, "home", ".cache", "huggingface"), 0o755)
	os.WriteFile(filepath.Join(tmp, "home", ".cache", "huggingface", "token"), []byte("hf_login_token\n"), 0o600)
	os.WriteFile(filepath.Join(tmp, "other-token"), []byte("  hf_other\r\n"), 0o600)
	home := filepath.Join(tmp, "home")
	for _, env := range []map[string]string{
		{"HOME": home},
		{"HOME": home, "XDG_CACHE_HOME": tmp + "/xdg"},
		{"HOME": home, "HF_HOME": "~/.cache/huggingface", "HF_HUB_OFFLINE": "true"},
		{"HOME": home, "HF_HOME": "$HOME/elsewhere", "HF_TOKEN_PATH": tmp + "/other-token", "TRANSFORMERS_OFFLINE": "1"},
		{"HOME": home, "HF_TOKEN": " hf_env ", "HF_HUB_CACHE": "~/c", "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "1"},
		{"HOME": home, "HUGGING_FACE_HUB_TOKEN": "hf_legacy", "HUGGINGFACE_HUB_CACHE": tmp + "/legacy", "HF_ENDPOINT": "http://127.0.0.1:9"},
		{"HOME": home, "HF_TOKEN": "hf_env", "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1"},
	} {
		arg, _ := json.Marshal(env)
		var py struct {
			Cache     string  `json:"cache"`
			TokenPath string  `json:"token_path"`
			Endpoint  string  `json:"endpoint"`
			Offline   bool    `json:"offline"`
			Token     *string `json:"token"`
		}
		if err := json.Unmarshal(oracle.RunWith(t, stacks[0].Python, []string{"huggingface_hub"}, huggingfaceHubEnvScript, string(arg)), &py); err != nil {
			t.Fatal(err)
		}
		c := HubFromEnv(mapEnv(env))
		token, _, err := c.token()
		if err != nil {
			t.Fatal(err)
		}
		pyToken := ""
		if py.Token != nil {
			pyToken = *py.Token
		}
		if env["HF_HUB_DISABLE_IMPLICIT_TOKEN"] != "" {
			pyToken = "" // get_token still reads it; build_hf_headers does not send it
		}
		if c.CacheDir != py.Cache || c.Offline != py.Offline || token != pyToken {
			t.Errorf("%v:\n ours cache %q offline %v token %q\n  hub cache %q offline %v token %q", env, c.CacheDir, c.Offline, token, py.Cache, py.Offline, pyToken)
		}
		if c.TokenFile != "" && c.TokenFile != py.TokenPath {
			t.Errorf("%v: token file %q, huggingface_hub's %q", env, c.TokenFile, py.TokenPath)
		}
		if c.Endpoint != "" && c.Endpoint != py.Endpoint {
			t.Errorf("%v: endpoint %q, huggingface_hub's %q", env, c.Endpoint, py.Endpoint)
		}
	}
}

// TestDownloadSendsLoginToken: the token 'hf auth login' stores is sent as
// a Bearer token on every request, and named in the error when refused.
func TestDownloadSendsLoginToken(t *testing.T) {
	files, _ := llama3Fixture()
	hub, srv := newHub(t, files)
	home := t.TempDir()
	tokenFile := filepath.Join(home, ".cache", "huggingface", "token")
	os.MkdirAll(filepath.Dir(tokenFile), 0o755)
	os.WriteFile(tokenFile, []byte("hf_from_login\n"), 0o600)
	cfg := HubFromEnv(mapEnv(map[string]string{"HOME": home, "HF_ENDPOINT": srv.URL}))
	if _, err := Download(context.Background(), *cfg, hub.repo, "", t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if len(hub.auth) != len(hubFiles) {
		t.Fatalf("%d requests", len(hub.auth))
	}
	for i, a := range hub.auth {
		if a != "Bearer hf_from_login" {
			t.Errorf("request %s sent Authorization %q", hub.uris[i], a)
		}
	}
	// An invalid token: the error names the file it came from.
	hub.override["tokenizer_config.json"] = gated(401, "")
	_, err := Download(context.Background(), *cfg, hub.repo, "", t.TempDir())
	if !errors.Is(err, ErrHubAuth) || !strings.Contains(err.Error(), tokenFile) || !strings.Contains(err.Error(), "invalid or expired") {
		t.Errorf("refused token: %v", err)
	}
	// No file: no token, and the error says how to log in.
	os.Remove(tokenFile)
	hub.auth = nil
	_, err = Download(context.Background(), *cfg, hub.repo, "", t.TempDir())
	if len(hub.auth) != 1 || hub.auth[0] != "" {
		t.Errorf("without a token file, Authorization %q", hub.auth)
	}
	if err == nil || !strings.Contains(err.Error(), "hf auth login") || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Errorf("no token: %v", err)
	}
}

func TestBadTokenFiles(t *testing.T) {
	_, srv := newHub(t, nil)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o600)
		return p
	}
	for _, c := range []struct {
		name, path, want string
	}{
		{"control character", write("ctl", []byte("hf_a\x00b\n")), "HTTP header"},
		{"not utf-8", write("latin1", []byte("hf_\xe9\n")), "not UTF-8"},
		{"non-ascii", write("utf8", []byte("hf_é\n")), "HTTP header"},
		{"too large", write("big", make([]byte, maxTokenFile+1)), "too large"},
		{"directory", dir, "directory"},
		{"named pipe", fifo, "named pipe"},
	} {
		t.Run(c.name, func(t *testing.T) {
			hub := srv.Config.Handler.(*fakeHub)
			before := hub.requests()
			_, err := Download(context.Background(), HubConfig{Endpoint: srv.URL, TokenFile: c.path}, "meta-llama/Meta-Llama-3-8B", "", t.TempDir())
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
				t.Errorf("err = %v, want it to mention %q and the file", err, c.want)
			}
			if hub.requests() != before {
				t.Error("a request was made with a bad token file")
			}
		})
	}
	_, err := Download(context.Background(), HubConfig{Endpoint: srv.URL, Token: "hf_\x7f"}, "meta-llama/Meta-Llama-3-8B", "", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Errorf("bad HF_TOKEN: %v", err)
	}
}

package tokenizer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHub serves files the way the Hub's resolve endpoint does, on a
// loopback httptest server, and records the requests it gets.
type fakeHub struct {
	repo, rev string
	files     map[string][]byte
	// commit is sent as X-Repo-Commit, as the Hub does on every answer
	// about a file (huggingface_hub names cache snapshots after it).
	commit string
	// override answers some files differently.
	override map[string]http.HandlerFunc

	mu   sync.Mutex
	auth []string // Authorization header of each request, in order
	uris []string
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.auth = append(h.auth, r.Header.Get("Authorization"))
	h.uris = append(h.uris, r.RequestURI)
	h.mu.Unlock()
	if h.commit != "" {
		w.Header().Set("X-Repo-Commit", h.commit)
	}
	prefix := "/" + h.repo + "/resolve/" + h.rev + "/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		w.Header().Set("X-Error-Message", "Repository not found")
		http.Error(w, "Repository not found", http.StatusNotFound)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, prefix)
	if f, ok := h.override[name]; ok {
		f(w, r)
		return
	}
	data, ok := h.files[name]
	if !ok {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		w.Header().Set("X-Error-Message", "Entry not found")
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	sum := sha256.Sum256(data)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.Write(data)
}

func (h *fakeHub) requests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.uris)
}

func newHub(t *testing.T, files map[string][]byte) (*fakeHub, *httptest.Server) {
	h := &fakeHub{repo: "meta-llama/Meta-Llama-3-8B", rev: "main", files: files, override: map[string]http.HandlerFunc{}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func gated(code int, errCode string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Error-Code", errCode)
		w.Header().Set("X-Error-Message", "Access to model meta-llama/Meta-Llama-3-8B is restricted.")
		http.Error(w, "restricted", code)
	}
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestDownloadSuccess(t *testing.T) {
	files, n := llama3Fixture()
	for _, token := range []string{"", "hf_secret"} {
		t.Run("token="+token, func(t *testing.T) {
			hub, srv := newHub(t, files)
			dst := filepath.Join(t.TempDir(), "nemo_tokenizer")
			res, err := Download(context.Background(), HubConfig{Endpoint: srv.URL + "/", Token: token},
				"meta-llama/Meta-Llama-3-8B", "", dst)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"tokenizer_config.json", "tokenizer.json", "special_tokens_map.json"}
			if !slices.Equal(res.Files, want) || res.Revision != "main" {
				t.Errorf("files %v revision %q", res.Files, res.Revision)
			}
			if !slices.Equal(res.Missing, []string{"tokenizer.model", "vocab.json", "merges.txt", "added_tokens.json", "chat_template.jinja"}) {
				t.Errorf("missing %v", res.Missing)
			}
			for _, name := range want {
				got, _ := os.ReadFile(filepath.Join(dst, name))
				if string(got) != string(files[name]) {
					t.Errorf("%s differs", name)
				}
			}
			if got := entries(t, dst); len(got) != len(want) {
				t.Errorf("dst holds %v", got)
			}
			wantAuth := ""
			if token != "" {
				wantAuth = "Bearer " + token
			}
			if len(hub.auth) != len(hubFiles) {
				t.Errorf("%d requests, want %d", len(hub.auth), len(hubFiles))
			}
			for i, a := range hub.auth {
				if a != wantAuth {
					t.Errorf("request %s sent Authorization %q, want %q", hub.uris[i], a, wantAuth)
				}
			}
			tk, err := ReadHFDir(dst)
			if err != nil {
				t.Fatal(err)
			}
			if tk.VocabSize != n+4 || tk.BOS.ID != n {
				t.Errorf("downloaded tokenizer: vocab %d bos %d", tk.VocabSize, tk.BOS.ID)
			}
		})
	}
}

func TestDownloadURLs(t *testing.T) {
	files, _ := llama3Fixture()
	hub, _ := newHub(t, files)
	hub.rev = "refs/pr/1"
	mirror := httptest.NewServer(http.StripPrefix("/mirror", hub))
	defer mirror.Close()
	if _, err := Download(context.Background(), HubConfig{Endpoint: mirror.URL + "/mirror"}, "meta-llama/Meta-Llama-3-8B", "refs/pr/1", t.TempDir()); err != nil {
		t.Fatal(err)
	}
	// The Hub takes a revision with slashes as one escaped segment.
	if got := hub.uris[0]; got != "/mirror/meta-llama/Meta-Llama-3-8B/resolve/refs%2Fpr%2F1/tokenizer_config.json" {
		t.Errorf("request URI %q", got)
	}
}

func TestDownloadRedirects(t *testing.T) {
	files, _ := llama3Fixture()
	// The CDN: another host (a different port counts), which must not see
	// the token.
	var cdnAuth []string
	var mu sync.Mutex
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cdnAuth = append(cdnAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Write(files["tokenizer.json"])
	}))
	defer cdn.Close()
	hub, srv := newHub(t, files)
	hub.override["tokenizer.json"] = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, cdn.URL+"/repos/ab/cd/blob?X-Amz-Signature=x", http.StatusFound)
	}
	// A renamed repository: a relative redirect on the same host, which
	// keeps the token.
	hub.override["special_tokens_map.json"] = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/meta-llama/Meta-Llama-3-8B/resolve/main/moved/special_tokens_map.json", http.StatusTemporaryRedirect)
	}
	hub.files["moved/special_tokens_map.json"] = files["special_tokens_map.json"]
	dst := t.TempDir()
	res, err := Download(context.Background(), HubConfig{Endpoint: srv.URL, Token: "hf_secret"}, "meta-llama/Meta-Llama-3-8B", "main", dst)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Files, "tokenizer.json") || !slices.Contains(res.Files, "special_tokens_map.json") {
		t.Fatalf("files %v", res.Files)
	}
	got, _ := os.ReadFile(filepath.Join(dst, "tokenizer.json"))
	if string(got) != string(files["tokenizer.json"]) {
		t.Error("redirected tokenizer.json differs")
	}
	if len(cdnAuth) != 1 || cdnAuth[0] != "" {
		t.Errorf("the CDN got Authorization %q", cdnAuth)
	}
	for i, u := range hub.uris {
		if hub.auth[i] != "Bearer hf_secret" {
			t.Errorf("hub request %s lost the token", u)
		}
	}

	// A redirect loop ends.
	hub.override["tokenizer_config.json"] = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	}
	if _, err := Download(context.Background(), HubConfig{Endpoint: srv.URL}, "meta-llama/Meta-Llama-3-8B", "main", t.TempDir()); err == nil ||
		!strings.Contains(err.Error(), "redirects") {
		t.Errorf("redirect loop: %v", err)
	}
}

func TestDownloadRefusesHTTPSDowngrade(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the plain-http server was reached")
	}))
	defer plain.Close()
	tlsHub := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/x", http.StatusFound)
	}))
	defer tlsHub.Close()
	_, err := Download(context.Background(), HubConfig{Endpoint: tlsHub.URL, Client: tlsHub.Client(), Token: "t"},
		"org/name", "main", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "refusing redirect") {
		t.Fatalf("err = %v", err)
	}
}

func TestDownloadErrors(t *testing.T) {
	files, _ := llama3Fixture()
	cases := []struct {
		name     string
		token    string
		setup    func(h *fakeHub)
		is       error
		mentions []string
	}{
		{
			name: "401-gated-no-token", setup: func(h *fakeHub) { h.override["tokenizer_config.json"] = gated(401, "GatedRepo") },
			is:       ErrHubAuth,
			mentions: []string{"401", "gated", "HF_TOKEN", "license", "/meta-llama/Meta-Llama-3-8B", "--tokenizer_path"},
		},
		{
			name: "401-bad-token", token: "hf_expired",
			setup:    func(h *fakeHub) { h.override["tokenizer_config.json"] = gated(401, "") },
			is:       ErrHubAuth,
			mentions: []string{"401", "invalid or expired", "--tokenizer_path"},
		},
		{
			name: "403-license-not-accepted", token: "hf_ok",
			setup:    func(h *fakeHub) { h.override["tokenizer.json"] = gated(403, "GatedRepo") },
			is:       ErrHubAuth,
			mentions: []string{"403", "GatedRepo", "Accept the model's license", "HF_TOKEN", "--tokenizer_path"},
		},
		{
			name: "500", setup: func(h *fakeHub) {
				h.override["tokenizer.json"] = func(w http.ResponseWriter, r *http.Request) {
					http.Error(w, "Internal Error - We're working hard to fix this as soon as possible!", 500)
				}
			},
			mentions: []string{"500", "try again later", "Internal Error"},
		},
		{
			name: "repo-not-found", setup: func(h *fakeHub) { h.repo = "other/repo" },
			is: ErrHubNotFound, mentions: []string{"not found", "RepoNotFound", "check the model id"},
		},
		{
			name: "revision-not-found", setup: func(h *fakeHub) {
				h.override["tokenizer_config.json"] = func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("X-Error-Code", "RevisionNotFound")
					http.Error(w, "Invalid rev id: main", 404)
				}
			},
			is: ErrHubNotFound, mentions: []string{`no revision "main"`},
		},
		{
			name: "no-vocabulary", setup: func(h *fakeHub) {
				delete(h.files, "tokenizer.json")
			},
			is: ErrHubNotFound, mentions: []string{"none of tokenizer.json, tokenizer.model, vocab.json"},
		},
		{
			name: "oversized-content-length", setup: func(h *fakeHub) {
				h.override["tokenizer.json"] = func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", fmt.Sprint(2*MaxFileSize))
					w.WriteHeader(200)
				}
			},
			mentions: []string{"too large", "tokenizer.json"},
		},
		{
			name: "oversized-chunked", setup: func(h *fakeHub) {
				h.override["tokenizer.json"] = func(w http.ResponseWriter, r *http.Request) {
					chunk := make([]byte, 1<<20)
					for i := 0; i <= MaxFileSize>>20; i++ {
						if _, err := w.Write(chunk); err != nil {
							return
						}
						w.(http.Flusher).Flush()
					}
				}
			},
			mentions: []string{"too large"},
		},
		{
			name: "truncated-body", setup: func(h *fakeHub) {
				h.override["tokenizer.json"] = func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "1000")
					w.WriteHeader(200)
					w.Write([]byte("{\"model\""))
					w.(http.Flusher).Flush()
					conn, _, err := w.(http.Hijacker).Hijack()
					if err == nil {
						conn.Close()
					}
				}
			},
			is: ErrHubUnreachable, mentions: []string{"connection lost"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := map[string][]byte{}
			for k, v := range files {
				fs[k] = v
			}
			hub, srv := newHub(t, fs)
			c.setup(hub)
			dst := filepath.Join(t.TempDir(), "dl")
			_, err := Download(context.Background(), HubConfig{Endpoint: srv.URL, Token: c.token}, "meta-llama/Meta-Llama-3-8B", "main", dst)
			if err == nil {
				t.Fatal("no error")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v is not %v", err, c.is)
			}
			for _, m := range c.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error does not mention %q:\n%v", m, err)
				}
			}
			// Nothing is left that looks like a tokenizer.
			if got := entries(t, dst); len(got) != 0 {
				t.Errorf("files left behind: %v", got)
			}
		})
	}
}

func TestDownloadConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = Download(context.Background(), HubConfig{Endpoint: "http://" + addr}, "meta-llama/Meta-Llama-3-8B", "main", t.TempDir())
	if !errors.Is(err, ErrHubUnreachable) {
		t.Fatalf("err = %v, want ErrHubUnreachable", err)
	}
	for _, m := range []string{"offline", "--tokenizer_path", "HF_ENDPOINT", addr} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error does not mention %q:\n%v", m, err)
		}
	}
}

func TestDownloadCancelAndTimeout(t *testing.T) {
	files, _ := llama3Fixture()
	hub, srv := newHub(t, files)
	hang := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		w.Write([]byte("{"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	hub.override["tokenizer.json"] = hang

	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	dst := t.TempDir()
	_, err := Download(ctx, HubConfig{Endpoint: srv.URL}, "meta-llama/Meta-Llama-3-8B", "main", dst)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	if got := entries(t, dst); len(got) != 0 {
		t.Errorf("files left behind: %v", got)
	}

	_, err = Download(context.Background(), HubConfig{Endpoint: srv.URL, FileTimeout: 100 * time.Millisecond},
		"meta-llama/Meta-Llama-3-8B", "main", t.TempDir())
	if !errors.Is(err, ErrHubUnreachable) || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("timeout: err = %v", err)
	}
}

func TestDownloadConfigJSONWhenNoTokenizerClass(t *testing.T) {
	files, _ := bertFixture()
	hub, srv := newHub(t, files)
	hub.repo = "google-bert/bert-base-uncased"
	dst := t.TempDir()
	res, err := Download(context.Background(), HubConfig{Endpoint: srv.URL}, hub.repo, "main", dst)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files[len(res.Files)-1] != "config.json" {
		t.Errorf("files %v: config.json not fetched", res.Files)
	}
	// llama3 names its tokenizer class: no config.json request.
	files, _ = llama3Fixture()
	files["config.json"] = []byte(`{}`)
	hub, srv = newHub(t, files)
	res, err = Download(context.Background(), HubConfig{Endpoint: srv.URL}, hub.repo, "main", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(res.Files, "config.json") || slices.ContainsFunc(hub.uris, func(u string) bool {
		return strings.HasSuffix(u, "config.json") && !strings.HasSuffix(u, "tokenizer_config.json")
	}) {
		t.Errorf("config.json fetched without need: %v", hub.uris)
	}
}

func TestDownloadBadArguments(t *testing.T) {
	_, srv := newHub(t, nil)
	for _, repo := range []string{"", "a/b/c", "../etc", "org/na me", "org/-x", "org/x.", "org/a--b", "org/a..b", "org/x.git", "/x", "x/", strings.Repeat("a", 97)} {
		if _, err := Download(context.Background(), HubConfig{Endpoint: srv.URL}, repo, "main", t.TempDir()); err == nil ||
			!strings.Contains(err.Error(), "repository id") {
			t.Errorf("repo %q: err = %v", repo, err)
		}
	}
	for _, ep := range []string{"ftp://x", "huggingface.co", "http://", "http://user:pw@host", "http://h/?q=1"} {
		if _, err := Download(context.Background(), HubConfig{Endpoint: ep}, "org/name", "main", t.TempDir()); err == nil ||
			!strings.Contains(err.Error(), "endpoint") {
			t.Errorf("endpoint %q: err = %v", ep, err)
		}
	}
	if _, err := Download(context.Background(), HubConfig{Endpoint: srv.URL}, "org/name", "ma\nin", t.TempDir()); err == nil ||
		!strings.Contains(err.Error(), "revision") {
		t.Errorf("revision with a newline: %v", err)
	}
	for _, ok := range []string{"gpt2", "meta-llama/Meta-Llama-3-8B", "org_x/model.v1-2"} {
		if err := checkRepoID(ok); err != nil {
			t.Errorf("repo %q refused: %v", ok, err)
		}
	}
}

// TestDownloadThroughProxy checks that HubConfig.Proxy is used: the
// endpoint's host does not resolve, and only the loopback proxy answers.
func TestDownloadThroughProxy(t *testing.T) {
	files, _ := llama3Fixture()
	hub, _ := newHub(t, files)
	var hosts []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hosts = append(hosts, r.Host)
		hub.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	proxyURL, _ := url.Parse(proxy.URL)
	res, err := Download(context.Background(), HubConfig{Endpoint: "http://hub.invalid", Proxy: http.ProxyURL(proxyURL)},
		"meta-llama/Meta-Llama-3-8B", "main", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 3 || len(hosts) != len(hubFiles) || hosts[0] != "hub.invalid" {
		t.Errorf("files %v, proxy saw hosts %v", res.Files, hosts)
	}
}

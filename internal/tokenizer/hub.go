package tokenizer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultHubEndpoint is the public Hugging Face Hub, used when
// HubConfig.Endpoint is empty (the CLI passes $HF_ENDPOINT).
const DefaultHubEndpoint = "https://huggingface.co"

// hubFiles are the tokenizer files Download asks for, in order.
// tokenizer_config.json comes first because it decides whether config.json
// is needed too.
var hubFiles = []string{
	"tokenizer_config.json",
	"tokenizer.json",
	"special_tokens_map.json",
	"tokenizer.model",
	"vocab.json",
	"merges.txt",
	"added_tokens.json",
	"chat_template.jinja",
}

// Errors a download can end in, for errors.Is. The error text says what
// to do.
var (
	// ErrHubAuth: the Hub refused the request (401 or 403): the repository
	// is gated or private and the token is missing, invalid or lacks
	// access.
	ErrHubAuth = errors.New("access to the Hugging Face repository was refused")
	// ErrHubNotFound: the repository or revision does not exist (or holds
	// no tokenizer).
	ErrHubNotFound = errors.New("not found on the Hugging Face Hub")
	// ErrHubUnreachable: the endpoint could not be reached at all.
	ErrHubUnreachable = errors.New("cannot reach the Hugging Face Hub")
	// ErrHubOffline: the configuration forbids network access and the
	// local cache has no usable copy.
	ErrHubOffline = errors.New("the Hugging Face Hub is off limits (offline mode)")
)

// HubConfig says where and how to fetch from the Hugging Face Hub. The
// library reads no environment variables; the command fills this with
// [HubFromEnv], as huggingface_hub reads its environment.
type HubConfig struct {
	// Endpoint is the Hub's base URL; empty means DefaultHubEndpoint.
	Endpoint string
	// Token is sent as "Authorization: Bearer <token>" when not empty, and
	// only to the endpoint's own host.
	Token string
	// TokenFile is read for the token when Token is empty, when a request
	// is made: the file "huggingface-cli login" (or "hf auth login")
	// writes. A missing file means no token.
	TokenFile string
	// TokenSource says where Token came from, for messages; empty means
	// "HF_TOKEN".
	TokenSource string
	// CacheDir is a huggingface_hub cache directory (HF_HUB_CACHE, by
	// default ~/.cache/huggingface/hub), where [FetchTokenizer] looks for
	// the repository before downloading it. It is only read. Empty means
	// no cache.
	CacheDir string
	// Offline forbids any request: only CacheDir is used.
	// OfflineReason names what asked for it (e.g. "HF_HUB_OFFLINE=1"), for
	// messages.
	Offline       bool
	OfflineReason string
	// Client makes the requests; nil means a client with connection
	// timeouts and Proxy. A given client is copied, and its CheckRedirect
	// replaced by one that drops the token when a redirect leaves the
	// endpoint's host.
	Client *http.Client
	// Proxy picks the proxy for the default client; nil means none. The
	// command passes http.ProxyFromEnvironment, so that HTTPS_PROXY works
	// as it does for huggingface_hub.
	Proxy func(*http.Request) (*url.URL, error)
	// MaxFileSize bounds each file; zero means MaxFileSize.
	MaxFileSize int64
	// FileTimeout bounds each file's download, redirects included; zero
	// means 10 minutes.
	FileTimeout time.Duration
	// UserAgent is sent when not empty.
	UserAgent string
}

// HubDownload is the outcome of a successful Download.
type HubDownload struct {
	Repo, Revision string
	Dir            string
	Files          []string // downloaded, in the order asked for (config.json last)
	Missing        []string // asked for and absent (404): optional
}

// Download fetches the tokenizer files of a Hub repository, such as
// "meta-llama/Meta-Llama-3-8B", at revision (empty means "main") into dir,
// which is created if needed. Each file is requested as
// GET {endpoint}/{repo}/resolve/{revision}/{file}, written to a temporary
// file in dir and renamed into place, replacing an older copy. Files the
// repository lacks (404) are skipped, but at least one of tokenizer.json,
// tokenizer.model and vocab.json must arrive. The files asked for are
// tokenizer_config.json, tokenizer.json, special_tokens_map.json,
// tokenizer.model, vocab.json, merges.txt, added_tokens.json and
// chat_template.jinja, and config.json when tokenizer_config.json names no
// tokenizer_class. When the download fails the
// files it wrote are removed again. dir should be new or empty: files it
// already holds and the repository lacks are left alone.
func Download(ctx context.Context, cfg HubConfig, repo, revision, dir string) (_ *HubDownload, err error) {
	if err := checkRepoID(repo); err != nil {
		return nil, err
	}
	if revision, err = checkRevision(revision); err != nil {
		return nil, err
	}
	if cfg.Offline {
		return nil, offlineError(cfg, repo, revision, "")
	}
	token, source, err := cfg.token()
	if err != nil {
		return nil, err
	}
	cfg.Token, cfg.TokenSource = token, source
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = DefaultHubEndpoint
	}
	base, err := url.Parse(strings.TrimRight(endpoint, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" ||
		base.RawQuery != "" || base.Fragment != "" || base.User != nil {
		return nil, fmt.Errorf("hugging face endpoint %q is not an http(s) URL", endpoint)
	}
	d := &downloader{cfg: cfg, base: base, repo: repo, revision: revision}
	d.client = d.httpClient()
	if d.limit = cfg.MaxFileSize; d.limit <= 0 {
		d.limit = MaxFileSize
	}
	if d.timeout = cfg.FileTimeout; d.timeout <= 0 {
		d.timeout = 10 * time.Minute
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tokenizer download directory: %w", err)
	}
	res := &HubDownload{Repo: repo, Revision: revision, Dir: dir}
	defer func() {
		if err != nil {
			for _, f := range res.Files {
				os.Remove(filepath.Join(dir, f))
			}
		}
	}()
	get := func(name string) error {
		ok, err := d.fetch(ctx, name, filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if ok {
			res.Files = append(res.Files, name)
		} else {
			res.Missing = append(res.Missing, name)
		}
		return nil
	}
	for _, name := range hubFiles {
		if err := get(name); err != nil {
			return nil, err
		}
	}
	vocab := false
	for _, name := range res.Files {
		switch name {
		case "tokenizer.json", "tokenizer.model", "vocab.json":
			vocab = true
		}
	}
	if !vocab {
		return nil, fmt.Errorf("hugging face repository %s at revision %s has none of tokenizer.json, tokenizer.model, vocab.json: "+
			"is it a model repository with a tokenizer? Pass a local tokenizer directory with --tokenizer_path instead: %w",
			repo, revision, ErrHubNotFound)
	}
	// AutoTokenizer needs the model's config.json to pick the tokenizer
	// class when tokenizer_config.json does not name it.
	if needsConfig(dir) {
		if err := get(hfConfigFile); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// needsConfig reports whether the downloaded tokenizer_config.json lacks a
// tokenizer_class (or is absent).
func needsConfig(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		return true
	}
	defer f.Close()
	data, err := readAllLimited(f, MaxFileSize)
	if err != nil {
		return true
	}
	c, err := parseHFConfig(data)
	return err != nil || c.TokenizerClass == ""
}

// checkRevision returns the revision, "main" for an empty one, after
// checking it can name a ref: no control characters, no "." or ".."
// segment (it also names a file under the cache's refs/).
func checkRevision(revision string) (string, error) {
	if revision == "" {
		return "main", nil
	}
	bad := strings.ContainsFunc(revision, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) ||
		len(revision) > 256 || strings.HasPrefix(revision, "/")
	for _, seg := range strings.Split(revision, "/") {
		bad = bad || seg == "" || seg == "." || seg == ".."
	}
	if bad {
		return "", fmt.Errorf("hugging face revision %q is not valid", revision)
	}
	return revision, nil
}

// checkRepoID accepts Hub repository ids as huggingface_hub does: "name" or
// "namespace/name", each part of letters, digits, '-', '_' and '.', not
// starting or ending with '-' or '.', without "--" or "..", at most 96
// characters.
func checkRepoID(repo string) error {
	bad := func(why string) error {
		return fmt.Errorf("hugging face repository id %q is not valid (%s); expected e.g. meta-llama/Meta-Llama-3-8B", repo, why)
	}
	parts := strings.Split(repo, "/")
	if len(parts) > 2 {
		return bad("more than one '/'")
	}
	for _, p := range parts {
		if p == "" || len(p) > 96 {
			return bad("each part must have 1 to 96 characters")
		}
		for _, c := range []byte(p) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
				return bad(fmt.Sprintf("character %q", c))
			}
		}
		if strings.Contains(p, "--") || strings.Contains(p, "..") {
			return bad(`"--" and ".." are not allowed`)
		}
		if strings.ContainsAny(p[:1], "-.") || strings.ContainsAny(p[len(p)-1:], "-.") {
			return bad("a part may not start or end with '-' or '.'")
		}
	}
	if strings.HasSuffix(repo, ".git") {
		return bad(`".git" suffix`)
	}
	return nil
}

type downloader struct {
	cfg            HubConfig
	client         *http.Client
	base           *url.URL
	repo, revision string
	limit          int64
	timeout        time.Duration
}

func (d *downloader) httpClient() *http.Client {
	var c http.Client
	if d.cfg.Client != nil {
		c = *d.cfg.Client
	} else {
		c.Transport = &http.Transport{
			Proxy: d.cfg.Proxy,
			DialContext: (&net.Dialer{
				Timeout:   30 * time.Second,
				KeepAlive: 30 * time.Second,
			}).DialContext,
			TLSHandshakeTimeout:   30 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		}
	}
	// The Hub redirects LFS files to a CDN on another host, and renamed
	// repositories to their new name on the same host. Keep the token for
	// the endpoint's own host only (scheme, host and port), as
	// huggingface_hub does, and never follow a redirect from https to http.
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("refusing redirect from https to %s", req.URL.Redacted())
		}
		if req.URL.Scheme != d.base.Scheme || req.URL.Host != d.base.Host {
			req.Header.Del("Authorization")
		}
		return nil
	}
	return &c
}

// fileURL builds {endpoint}/{repo}/resolve/{revision}/{file} with each
// part escaped; the revision is escaped whole, so "refs/pr/1" stays one
// segment as the Hub expects.
func (d *downloader) fileURL(name string) string {
	u := *d.base
	segs := append(strings.Split(d.repo, "/"), "resolve", d.revision, name)
	raw := strings.TrimRight(u.EscapedPath(), "/")
	plain := strings.TrimRight(u.Path, "/")
	for _, s := range segs {
		raw += "/" + url.PathEscape(s)
		plain += "/" + s
	}
	u.Path, u.RawPath = plain, raw
	return u.String()
}

// fetch downloads one file to dst. It reports false for a file the
// repository does not have.
func (d *downloader) fetch(ctx context.Context, name, dst string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	u := d.fileURL(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, fmt.Errorf("hugging face download %s: %w", u, err)
	}
	if d.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+d.cfg.Token)
	}
	if d.cfg.UserAgent != "" {
		req.Header.Set("User-Agent", d.cfg.UserAgent)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return false, d.transportError(ctx, u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, d.statusError(u, resp)
	}
	if resp.ContentLength > d.limit {
		return false, fmt.Errorf("hugging face download %s: %w", u, tooLarge(resp.ContentLength, d.limit))
	}
	if err := writeFile(dst, resp.Body, d.limit, true); err != nil {
		if ctx.Err() != nil {
			return false, d.transportError(ctx, u, err)
		}
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) {
			return false, fmt.Errorf("hugging face download %s: connection lost: %w (%w)", u, err, ErrHubUnreachable)
		}
		return false, fmt.Errorf("hugging face download %s: %w", u, err)
	}
	return true, nil
}

func (d *downloader) transportError(ctx context.Context, u string, err error) error {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return fmt.Errorf("hugging face download %s: %w", u, context.Cause(ctx))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("hugging face download %s: timed out after %v: %w", u, d.timeout, ErrHubUnreachable)
	}
	// *url.Error repeats the method and URL.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("cannot download %s: %v. Are you offline? Without network access, pass a local "+
		"tokenizer with --tokenizer_path (a directory holding tokenizer.json and tokenizer_config.json, "+
		"e.g. one written by AutoTokenizer.save_pretrained), or point HF_ENDPOINT at a reachable mirror: %w",
		u, err, ErrHubUnreachable)
}

// statusError explains a non-200 answer. The Hub's X-Error-Code header
// (RepoNotFound, GatedRepo, EntryNotFound, RevisionNotFound) refines it.
func (d *downloader) statusError(u string, resp *http.Response) error {
	code := resp.Header.Get("X-Error-Code")
	msg := resp.Header.Get("X-Error-Message")
	if msg == "" {
		// Some proxies answer with a short text body; show a little of it.
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		msg = strings.Join(strings.Fields(string(b)), " ")
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
	}
	detail := resp.Status
	if code != "" {
		detail += " (" + code + ")"
	}
	if msg != "" {
		detail += ": " + msg
	}
	page := d.base.String() + "/" + d.repo
	switch {
	case resp.StatusCode == http.StatusNotFound && (code == "" || code == "EntryNotFound"):
		return nil
	case resp.StatusCode == http.StatusNotFound && code == "RevisionNotFound":
		return fmt.Errorf("hugging face repository %s has no revision %q (GET %s: %s): %w", d.repo, d.revision, u, detail, ErrHubNotFound)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("hugging face repository %s not found (GET %s: %s): check the model id: %w", d.repo, u, detail, ErrHubNotFound)
	case resp.StatusCode == http.StatusUnauthorized && d.cfg.Token == "":
		return fmt.Errorf("hugging face repository %s refused the download (GET %s: %s): the repository is gated or private, "+
			"or does not exist, and no token was sent. Log in with 'hf auth login' (or 'huggingface-cli login'), or set HF_TOKEN, "+
			"with an access token (https://huggingface.co/settings/tokens) of an account that has accepted the model's license on %s, "+
			"or pass a local tokenizer directory with --tokenizer_path: %w",
			d.repo, u, detail, page, ErrHubAuth)
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("hugging face repository %s refused the download (GET %s: %s): the token in %s is invalid or expired, "+
			"or the repository does not exist. Create a new token at https://huggingface.co/settings/tokens (and log in again), check the model id, "+
			"or pass a local tokenizer directory with --tokenizer_path: %w", d.repo, u, detail, d.cfg.TokenSource, ErrHubAuth)
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("hugging face repository %s refused the download (GET %s: %s): the repository is gated and this account "+
			"has no access yet, or the token lacks read permission. Accept the model's license on %s with the account whose token "+
			"is in %s (fine-grained tokens need access to public gated repositories), or pass a local tokenizer directory "+
			"with --tokenizer_path: %w", d.repo, u, detail, page, d.cfg.TokenSource, ErrHubAuth)
	case resp.StatusCode >= 500:
		return fmt.Errorf("hugging face download %s failed: %s: the Hub has a problem, try again later or pass a local "+
			"tokenizer directory with --tokenizer_path", u, detail)
	}
	return fmt.Errorf("hugging face download %s failed: %s", u, detail)
}

package tokenizer

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// maxTokenFile bounds the token file: an access token is some 40 bytes.
const maxTokenFile = 64 << 10

// HubFromEnv returns the Hub settings huggingface_hub (1.x, which
// transformers uses) takes from its environment, looked up with getenv
// (os.Getenv in the command; an empty variable counts as unset):
//
//   - Endpoint: HF_ENDPOINT;
//   - Token: HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, with line ends and
//     surrounding spaces removed; else TokenFile: HF_TOKEN_PATH, else
//     $HF_HOME/token, where "huggingface-cli login" stores it. HF_HOME
//     defaults to $XDG_CACHE_HOME/huggingface, and that to
//     ~/.cache/huggingface. HF_HUB_DISABLE_IMPLICIT_TOKEN=1 sends none;
//   - CacheDir: HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else
//     $HF_HOME/hub;
//   - Offline: HF_HUB_OFFLINE, or when that is unset TRANSFORMERS_OFFLINE,
//     is 1, ON, YES or TRUE (any case).
//
// Paths get ~ and $VAR expanded, as huggingface_hub expands them. Proxy,
// Client and the limits are left for the caller.
func HubFromEnv(getenv func(string) string) *HubConfig {
	first := func(keys ...string) (string, string) {
		for _, k := range keys {
			if v := getenv(k); v != "" {
				return k, v
			}
		}
		return "", ""
	}
	home := getenv("HOME")
	expand := func(p string) string { return expandPath(p, home, getenv) }
	hfHome := expand(getenv("HF_HOME"))
	if hfHome == "" {
		cache := expand(getenv("XDG_CACHE_HOME"))
		if cache == "" && home != "" {
			cache = filepath.Join(home, ".cache")
		}
		if cache != "" {
			hfHome = filepath.Join(cache, "huggingface")
		}
	}
	c := &HubConfig{Endpoint: getenv("HF_ENDPOINT")}
	if _, v := first("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"); v != "" {
		c.CacheDir = expand(v)
	} else if hfHome != "" {
		c.CacheDir = filepath.Join(hfHome, "hub")
	}
	if k, v := first("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"); envTrue(v) {
		c.Offline, c.OfflineReason = true, k+"="+v
	}
	if envTrue(getenv("HF_HUB_DISABLE_IMPLICIT_TOKEN")) {
		return c
	}
	if k, v := first("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"); cleanToken(v) != "" {
		c.Token, c.TokenSource = cleanToken(v), k
		return c
	}
	if p := expand(getenv("HF_TOKEN_PATH")); p != "" {
		c.TokenFile = p
	} else if hfHome != "" {
		c.TokenFile = filepath.Join(hfHome, "token")
	}
	return c
}

// envTrue is huggingface_hub's _is_true.
func envTrue(v string) bool {
	switch strings.ToUpper(v) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// cleanToken is huggingface_hub's _clean_token: line ends removed, then
// surrounding whitespace.
func cleanToken(t string) string {
	t = strings.NewReplacer("\r", "", "\n", "").Replace(t)
	return strings.TrimSpace(t)
}

// expandPath is Python's os.path.expandvars(os.path.expanduser(p)): a
// leading "~" or "~/" becomes home, and $NAME or ${NAME} the variable's
// value, when it has one.
func expandPath(p, home string, getenv func(string) string) string {
	if home != "" && (p == "~" || strings.HasPrefix(p, "~/")) {
		p = home + p[1:]
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '$' {
			b.WriteByte(p[i])
			continue
		}
		name, end := "", i+1
		if end < len(p) && p[end] == '{' {
			if j := strings.IndexByte(p[end:], '}'); j > 1 {
				name, end = p[end+1:end+j], end+j+1
			}
		} else {
			for end < len(p) && (p[end] == '_' || p[end] >= 'a' && p[end] <= 'z' || p[end] >= 'A' && p[end] <= 'Z' || p[end] >= '0' && p[end] <= '9') {
				end++
			}
			name = p[i+1 : end]
		}
		if v := getenv(name); name != "" && v != "" {
			b.WriteString(v)
			i = end - 1
		} else {
			b.WriteByte('$')
		}
	}
	return b.String()
}

// token returns the token to send and where it came from: Token, or the
// contents of TokenFile (none when the file does not exist). A token that
// an HTTP header cannot carry is an error naming its source.
func (c *HubConfig) token() (token, source string, err error) {
	token, source = c.Token, c.TokenSource
	if source == "" {
		source = "HF_TOKEN"
	}
	if token == "" && c.TokenFile != "" {
		data, err := readRegular(c.TokenFile, maxTokenFile)
		if errors.Is(err, fs.ErrNotExist) {
			return "", "", nil
		}
		if err != nil {
			return "", "", fmt.Errorf("hugging face token file (written by 'hf auth login'): %w", err)
		}
		if !utf8.Valid(data) {
			return "", "", fmt.Errorf("hugging face token file %s is not UTF-8 text: log in again with 'hf auth login', or set HF_TOKEN", c.TokenFile)
		}
		token, source = cleanToken(string(data)), c.TokenFile
	}
	for _, r := range token {
		if r < 0x20 || r > 0x7e {
			return "", "", fmt.Errorf("the hugging face token in %s has a character (%q) an HTTP header cannot carry: "+
				"copy the token again from https://huggingface.co/settings/tokens and log in with 'hf auth login', or set HF_TOKEN", source, r)
		}
	}
	return token, source, nil
}

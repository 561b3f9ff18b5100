package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Files a Hugging Face tokenizer directory may hold, in the order they are
// reported. transformers' save_pretrained writes tokenizer_config.json,
// special_tokens_map.json, chat_template.jinja (transformers >= 4.47, when
// there is a template), tokenizer.json (fast tokenizers), added_tokens.json
// (slow tokenizers with added tokens) and the slow tokenizer's vocabulary
// files (tokenizer.model for Llama 2 and Mistral, spiece.model for T5,
// sentencepiece.bpe.model for XLM-R, vocab.json and merges.txt for GPT-2,
// vocab.txt for BERT). AutoTokenizer.from_pretrained(dir) reads them all;
// it needs config.json only when tokenizer_config.json has no
// tokenizer_class, and never generation_config.json.
var hfFileNames = []string{
	"tokenizer.json",
	"tokenizer_config.json",
	"special_tokens_map.json",
	"added_tokens.json",
	"chat_template.jinja",
	"tokenizer.model",
	"spiece.model",
	"sentencepiece.bpe.model",
	"vocab.json",
	"merges.txt",
	"vocab.txt",
}

// hfVocabFiles are the files that hold a vocabulary; a directory needs at
// least one.
var hfVocabFiles = []string{"tokenizer.json", "tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "vocab.json", "vocab.txt"}

// hfConfigFile is copied only when tokenizer_config.json does not name the
// tokenizer class, because then AutoTokenizer reads the model's config.json
// to find it.
const hfConfigFile = "config.json"

// SpecialToken is a special token of a Hugging Face tokenizer.
type SpecialToken struct {
	Content string `json:"content"` // empty when the tokenizer has none
	ID      int    `json:"id"`      // -1 when absent or not in the vocabulary
}

// HFTokenizer is a Hugging Face tokenizer directory, checked and
// summarized.
type HFTokenizer struct {
	Dir string `json:"dir"`
	// Files are the recognized files present, as base names; these are the
	// files copied.
	Files []string `json:"files"`
	// TokenizerClass is tokenizer_config.json's tokenizer_class, e.g.
	// "PreTrainedTokenizerFast" or "LlamaTokenizer".
	TokenizerClass string `json:"tokenizer_class,omitempty"`
	// ModelType is tokenizer.json's model type ("BPE", "WordPiece",
	// "Unigram", "WordLevel"), or what the slow vocabulary files imply.
	ModelType string `json:"model_type"`
	// VocabSize is len(tokenizer) as transformers counts it: the distinct
	// tokens of the model's vocabulary and the added tokens.
	VocabSize int `json:"vocab_size"`
	// MaxID is the largest id of any token.
	MaxID int `json:"max_id"`
	// AddedTokens is the number of added tokens (special tokens and the
	// like) not in the model's vocabulary.
	AddedTokens int `json:"added_tokens"`

	BOS SpecialToken `json:"bos"`
	EOS SpecialToken `json:"eos"`
	PAD SpecialToken `json:"pad"`
	UNK SpecialToken `json:"unk"`

	Notes []string `json:"notes,omitempty"`

	root  string // directory opened as an os.Root
	inner string // prefix of the files' names inside root
	sizes map[string]int64
}

// ReadHFDir reads and checks the Hugging Face tokenizer in dir. It refuses
// files that are not regular files and symbolic links that lead out of dir,
// except that a snapshot of the Hugging Face cache
// (.../models--org--name/snapshots/<rev>/) may link into the cache's
// blobs/ directory, as the cache always does.
func ReadHFDir(dir string) (*HFTokenizer, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("tokenizer directory %s: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("tokenizer directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("tokenizer directory %s: not a directory", dir)
	}
	t := &HFTokenizer{Dir: dir, root: abs, sizes: map[string]int64{}}
	if parent := filepath.Dir(abs); filepath.Base(parent) == "snapshots" {
		t.root = filepath.Dir(parent)
		t.inner = "snapshots/" + filepath.Base(abs) + "/"
	}
	root, err := os.OpenRoot(t.root)
	if err != nil {
		return nil, fmt.Errorf("tokenizer directory %s: %w", dir, err)
	}
	defer root.Close()

	// Check every recognized file, but read only those parsed: the
	// configurations and one vocabulary.
	present := map[string]bool{}
	check := func(name string) error {
		if _, err := root.Lstat(t.inner + name); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		st, err := statRegular(root, t.inner+name, MaxFileSize)
		if err != nil {
			return fmt.Errorf("tokenizer file %s: %w", filepath.Join(dir, name), err)
		}
		present[name] = true
		t.sizes[name] = st.Size()
		t.Files = append(t.Files, name)
		return nil
	}
	files := map[string][]byte{}
	read := func(name string) error {
		if !present[name] {
			return nil
		}
		f, _, err := regularFile(root, t.inner+name, MaxFileSize)
		if err != nil {
			return fmt.Errorf("tokenizer file %s: %w", filepath.Join(dir, name), err)
		}
		defer f.Close()
		data, err := readAllLimited(f, MaxFileSize)
		if err != nil {
			return fmt.Errorf("tokenizer file %s: %w", filepath.Join(dir, name), err)
		}
		files[name] = data
		return nil
	}
	for _, name := range hfFileNames {
		if err := check(name); err != nil {
			return nil, err
		}
	}
	toRead := []string{"tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"}
	for _, name := range hfVocabFiles {
		if present[name] {
			toRead = append(toRead, name)
			break
		}
	}
	for _, name := range toRead {
		if err := read(name); err != nil {
			return nil, err
		}
	}
	if err := t.parse(files, present, dir); err != nil {
		return nil, err
	}
	if t.TokenizerClass == "" {
		if err := check(hfConfigFile); err != nil {
			return nil, err
		}
		if err := read(hfConfigFile); err != nil {
			return nil, err
		}
		if _, ok := files[hfConfigFile]; ok {
			if err := jsonObject(files[hfConfigFile], nil); err != nil {
				return nil, fmt.Errorf("tokenizer file %s: %w", filepath.Join(dir, hfConfigFile), err)
			}
		} else {
			t.Notes = append(t.Notes, "tokenizer_config.json names no tokenizer_class and there is no config.json: "+
				"transformers' AutoTokenizer may not be able to pick the tokenizer class")
		}
	}
	return t, nil
}

// ParseHF checks and summarizes a Hugging Face tokenizer from the contents
// of its files, keyed by base name ("tokenizer.json", ...). It is what
// [ReadHFDir] does after reading the files.
func ParseHF(files map[string][]byte) (*HFTokenizer, error) {
	t := &HFTokenizer{sizes: map[string]int64{}}
	present := map[string]bool{}
	for _, name := range hfFileNames {
		if data, ok := files[name]; ok {
			t.Files = append(t.Files, name)
			t.sizes[name] = int64(len(data))
			present[name] = true
		}
	}
	// Parse the first vocabulary file only, as ReadHFDir does.
	parsed := map[string][]byte{}
	for k, v := range files {
		parsed[k] = v
	}
	first := true
	for _, name := range hfVocabFiles {
		if present[name] {
			if !first {
				delete(parsed, name)
			}
			first = false
		}
	}
	if err := t.parse(parsed, present, ""); err != nil {
		return nil, err
	}
	return t, nil
}

// vocabulary maps tokens to ids.
type vocabulary struct {
	ids   map[string]int64
	maxID int64
}

func (v *vocabulary) add(tok string, id int64) {
	if _, ok := v.ids[tok]; !ok {
		v.ids[tok] = id
	}
	if id > v.maxID {
		v.maxID = id
	}
}

// maxTokenID bounds token ids: embeddings are indexed by int32 in Megatron,
// and bigger ids only come from corrupt files.
const maxTokenID = 1<<31 - 1

// parse summarizes the tokenizer from the files read (the configurations
// and at most one vocabulary file); present tells which files exist.
func (t *HFTokenizer) parse(files map[string][]byte, present map[string]bool, dir string) error {
	where := func(name string) string {
		if dir == "" {
			return name
		}
		return filepath.Join(dir, name)
	}
	fail := func(name string, err error) error {
		return fmt.Errorf("tokenizer file %s: %w", where(name), err)
	}
	if !slices.ContainsFunc(hfVocabFiles, func(name string) bool { return present[name] }) {
		loc := "the tokenizer files"
		if dir != "" {
			loc = dir
		}
		return fmt.Errorf("%s: no tokenizer vocabulary: expected one of %s", loc, strings.Join(hfVocabFiles, ", "))
	}

	// tokenizer_config.json, then special_tokens_map.json for what it
	// leaves unset, as transformers' from_pretrained merges them.
	cfg := &hfConfig{}
	if data, ok := files["tokenizer_config.json"]; ok {
		c, err := parseHFConfig(data)
		if err != nil {
			return fail("tokenizer_config.json", err)
		}
		cfg = c
	}
	if data, ok := files["special_tokens_map.json"]; ok {
		m, err := parseHFConfig(data)
		if err != nil {
			return fail("special_tokens_map.json", err)
		}
		cfg.fill(m)
	}
	t.TokenizerClass = cfg.TokenizerClass

	// The model's vocabulary.
	model := vocabulary{ids: map[string]int64{}, maxID: -1}
	added := vocabulary{ids: map[string]int64{}, maxID: -1}
	has := func(name string) bool { _, ok := files[name]; return ok }
	switch {
	case has("tokenizer.json"):
		tj, err := parseTokenizerJSON(files["tokenizer.json"])
		if err != nil {
			return fail("tokenizer.json", err)
		}
		t.ModelType = tj.Model.Type
		model = tj.Model.Vocab.vocabulary
		for _, a := range tj.AddedTokens {
			added.add(a.Content, a.ID)
		}
	case has("tokenizer.model") || has("spiece.model") || has("sentencepiece.bpe.model"):
		name := "tokenizer.model"
		if !has(name) {
			name = "spiece.model"
		}
		if !has(name) {
			name = "sentencepiece.bpe.model"
		}
		m, err := ParseModel(files[name])
		if err != nil {
			return fail(name, err)
		}
		t.ModelType = "SentencePiece " + m.Trainer.ModelType.String()
		for i, p := range m.Pieces {
			model.add(p.Piece, int64(i))
		}
	case has("vocab.json"):
		if err := jsonObject(files["vocab.json"], &model.ids); err != nil {
			return fail("vocab.json", err)
		}
		for tok, id := range model.ids {
			if id < 0 || id > maxTokenID {
				return fail("vocab.json", fmt.Errorf("token %q has id %d", tok, id))
			}
			model.maxID = max(model.maxID, id)
		}
		t.ModelType = "BPE"
		if !present["merges.txt"] {
			t.ModelType = "WordLevel"
			t.Notes = append(t.Notes, "vocab.json without merges.txt or tokenizer.json")
		}
	default: // vocab.txt: one token per line, the id is the line number.
		t.ModelType = "WordPiece"
		sc := bufio.NewScanner(bytes.NewReader(files["vocab.txt"]))
		sc.Buffer(nil, 1<<20)
		var i int64
		for sc.Scan() {
			model.add(strings.TrimRight(sc.Text(), "\r"), i)
			i++
		}
		if err := sc.Err(); err != nil {
			return fail("vocab.txt", err)
		}
	}
	if len(model.ids) == 0 {
		return fmt.Errorf("tokenizer %s: the vocabulary is empty", where(t.vocabFile(present)))
	}

	// Added tokens recorded outside tokenizer.json.
	for id, tok := range cfg.AddedTokensDecoder {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n < 0 || n > maxTokenID {
			return fail("tokenizer_config.json", fmt.Errorf("added_tokens_decoder key %q is not a token id", id))
		}
		if tok.Content == "" {
			return fail("tokenizer_config.json", fmt.Errorf("added_tokens_decoder[%s] has no content", id))
		}
		added.add(tok.Content, n)
	}
	if data, ok := files["added_tokens.json"]; ok {
		var m map[string]int64
		if err := jsonObject(data, &m); err != nil {
			return fail("added_tokens.json", err)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, tok := range keys {
			if id := m[tok]; id < 0 || id > maxTokenID {
				return fail("added_tokens.json", fmt.Errorf("token %q has id %d", tok, id))
			}
			added.add(tok, m[tok])
		}
	}

	// len(tokenizer): the model's tokens plus the added tokens it lacks.
	t.VocabSize = len(model.ids)
	for tok := range added.ids {
		if _, ok := model.ids[tok]; !ok {
			t.AddedTokens++
		}
	}
	t.VocabSize += t.AddedTokens
	t.MaxID = int(max(model.maxID, added.maxID))

	lookup := func(name string, tok *hfToken) SpecialToken {
		if tok == nil || tok.Content == "" {
			return SpecialToken{ID: -1}
		}
		if id, ok := added.ids[tok.Content]; ok {
			return SpecialToken{Content: tok.Content, ID: int(id)}
		}
		if id, ok := model.ids[tok.Content]; ok {
			return SpecialToken{Content: tok.Content, ID: int(id)}
		}
		t.Notes = append(t.Notes, fmt.Sprintf("%s %q is not in the vocabulary; transformers would add it as a new token", name, tok.Content))
		return SpecialToken{Content: tok.Content, ID: -1}
	}
	// NeMo's AutoTokenizer falls back to cls for a missing bos and to sep
	// for a missing eos.
	bos, eos := cfg.BOS, cfg.EOS
	if bos == nil || bos.Content == "" {
		bos = cfg.CLS
	}
	if eos == nil || eos.Content == "" {
		eos = cfg.SEP
	}
	t.BOS = lookup("bos_token", bos)
	t.EOS = lookup("eos_token", eos)
	t.PAD = lookup("pad_token", cfg.PAD)
	t.UNK = lookup("unk_token", cfg.UNK)
	return nil
}

func (t *HFTokenizer) vocabFile(present map[string]bool) string {
	for _, name := range hfVocabFiles {
		if present[name] {
			return name
		}
	}
	return ""
}

// Info describes the tokenizer for a NeMo 2.0 context: an AutoTokenizer
// whose pretrained_model_name is the directory HFContextDir, holding the
// recognized files.
func (t *HFTokenizer) Info() *Info {
	in := &Info{
		Library:   HuggingFace,
		Class:     AutoTokenizerClass,
		Arg:       "pretrained_model_name",
		Path:      HFContextDir,
		ModelType: t.ModelType,
		VocabSize: t.VocabSize,
		MaxID:     t.MaxID,
		BOS:       t.BOS.ID,
		EOS:       t.EOS.ID,
		PAD:       t.PAD.ID,
		UNK:       t.UNK.ID,
		Notes:     append([]string(nil), t.Notes...),
	}
	for _, name := range t.Files {
		in.Files = append(in.Files, File{
			Name:   HFContextDir + "/" + name,
			Source: filepath.Join(t.Dir, name),
			Size:   t.sizes[name],
			open:   t.opener(name),
		})
	}
	return in
}

func (t *HFTokenizer) opener(name string) func() (io.ReadCloser, error) {
	if t.root == "" {
		return nil // parsed from memory: nothing to copy
	}
	return func() (io.ReadCloser, error) {
		root, err := os.OpenRoot(t.root)
		if err != nil {
			return nil, err
		}
		defer root.Close()
		f, _, err := regularFile(root, t.inner+name, t.sizes[name])
		if err != nil {
			return nil, err
		}
		return f, nil
	}
}

// CopyTo copies the recognized tokenizer files into dst (created if
// needed), each through a temporary file renamed into place. It refuses
// to overwrite existing files and fails if a file grew since it was read.
func (t *HFTokenizer) CopyTo(dst string) error {
	for _, name := range t.Files {
		open := t.opener(name)
		if open == nil {
			return fmt.Errorf("tokenizer file %s: parsed from memory, nothing to copy", name)
		}
		src := filepath.Join(t.Dir, name)
		r, err := open()
		if err != nil {
			return fmt.Errorf("tokenizer file %s: %w", src, err)
		}
		err = writeFile(filepath.Join(dst, name), r, t.sizes[name], false)
		r.Close()
		if err != nil {
			return fmt.Errorf("copying tokenizer file %s: %w", src, err)
		}
	}
	return nil
}

// hfToken is a token as tokenizer_config.json and special_tokens_map.json
// write it: a string, or an AddedToken object with "content".
type hfToken struct{ Content string }

func (h *hfToken) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, &h.Content)
	case len(b) > 0 && b[0] == '{':
		var o struct {
			Content *string `json:"content"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		if o.Content == nil {
			return errors.New("token object has no content")
		}
		h.Content = *o.Content
		return nil
	case string(b) == "null":
		return nil
	}
	return fmt.Errorf("token is %s, want a string or an object with content", jsonKind(b))
}

// hfConfig is the part of tokenizer_config.json (and special_tokens_map.json)
// read here.
type hfConfig struct {
	TokenizerClass     string
	BOS, EOS, PAD, UNK *hfToken
	CLS, SEP           *hfToken
	AddedTokensDecoder map[string]hfToken
}

// parseHFConfig decodes tokenizer_config.json or special_tokens_map.json,
// naming the key at fault in errors.
func parseHFConfig(data []byte) (*hfConfig, error) {
	var raw map[string]json.RawMessage
	if err := jsonObject(data, &raw); err != nil {
		return nil, err
	}
	c := &hfConfig{}
	if v, ok := raw["tokenizer_class"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &c.TokenizerClass); err != nil {
			return nil, fmt.Errorf("tokenizer_class is %s, want a string", jsonKind(v))
		}
	}
	for _, f := range []struct {
		key string
		dst **hfToken
	}{
		{"bos_token", &c.BOS}, {"eos_token", &c.EOS}, {"pad_token", &c.PAD},
		{"unk_token", &c.UNK}, {"cls_token", &c.CLS}, {"sep_token", &c.SEP},
	} {
		v, ok := raw[f.key]
		if !ok || string(v) == "null" {
			continue
		}
		var tok hfToken
		if err := tok.UnmarshalJSON(v); err != nil {
			return nil, fmt.Errorf("%s: %w", f.key, err)
		}
		*f.dst = &tok
	}
	if v, ok := raw["added_tokens_decoder"]; ok && string(v) != "null" {
		if err := jsonObject(v, &c.AddedTokensDecoder); err != nil {
			return nil, fmt.Errorf("added_tokens_decoder: %w", err)
		}
	}
	return c, nil
}

func (c *hfConfig) fill(m *hfConfig) {
	for _, p := range []struct{ dst, src **hfToken }{
		{&c.BOS, &m.BOS}, {&c.EOS, &m.EOS}, {&c.PAD, &m.PAD},
		{&c.UNK, &m.UNK}, {&c.CLS, &m.CLS}, {&c.SEP, &m.SEP},
	} {
		if *p.dst == nil || (*p.dst).Content == "" {
			*p.dst = *p.src
		}
	}
}

// tokenizerJSON is the part of a tokenizers library tokenizer.json read
// here. The merges, normalizer, pre-tokenizer and the rest are skipped.
type tokenizerJSON struct {
	AddedTokens []struct {
		ID      int64  `json:"id"`
		Content string `json:"content"`
	} `json:"added_tokens"`
	Model struct {
		Type   string   `json:"type"`
		Vocab  hfVocab  `json:"vocab"`
		Merges presence `json:"merges"`
	} `json:"model"`
}

// presence records that a JSON value was there without keeping it.
type presence bool

func (p *presence) UnmarshalJSON([]byte) error { *p = true; return nil }

// hfVocab is tokenizer.json's model.vocab: an object mapping tokens to ids
// (BPE, WordPiece, WordLevel) or a list of [token, score] pairs whose
// index is the id (Unigram).
type hfVocab struct {
	vocabulary
	list bool
	set  bool
}

func (v *hfVocab) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	v.vocabulary = vocabulary{ids: map[string]int64{}, maxID: -1}
	v.set = true
	switch {
	case len(b) > 0 && b[0] == '{':
		var m map[string]int64
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("model.vocab: %w", err)
		}
		for tok, id := range m {
			if id < 0 || id > maxTokenID {
				return fmt.Errorf("model.vocab: token %q has id %d", tok, id)
			}
			v.add(tok, id)
		}
		return nil
	case len(b) > 0 && b[0] == '[':
		v.list = true
		var l [][]json.RawMessage
		if err := json.Unmarshal(b, &l); err != nil {
			return fmt.Errorf("model.vocab: %w", err)
		}
		for i, e := range l {
			var tok string
			var score float64
			if len(e) != 2 || json.Unmarshal(e[0], &tok) != nil || json.Unmarshal(e[1], &score) != nil {
				return fmt.Errorf("model.vocab[%d] is not a [token, score] pair", i)
			}
			if int64(i) > maxTokenID {
				return errors.New("model.vocab: too many tokens")
			}
			v.add(tok, int64(i))
		}
		return nil
	}
	return fmt.Errorf("model.vocab is %s, want an object or a list", jsonKind(b))
}

func parseTokenizerJSON(data []byte) (*tokenizerJSON, error) {
	var tj tokenizerJSON
	if err := jsonObject(data, &tj); err != nil {
		return nil, err
	}
	if !tj.Model.Vocab.set {
		return nil, errors.New("no model.vocab")
	}
	// tokenizers always writes model.type; infer it for hand-made files.
	if tj.Model.Type == "" {
		switch {
		case tj.Model.Vocab.list:
			tj.Model.Type = "Unigram"
		case bool(tj.Model.Merges):
			tj.Model.Type = "BPE"
		default:
			tj.Model.Type = "WordLevel"
		}
	}
	for i, a := range tj.AddedTokens {
		if a.ID < 0 || a.ID > maxTokenID {
			return nil, fmt.Errorf("added_tokens[%d] %q has id %d", i, a.Content, a.ID)
		}
	}
	return &tj, nil
}

// jsonObject decodes data, which must be one JSON object, into v (or only
// checks it when v is nil).
func jsonObject(data []byte, v any) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fmt.Errorf("not a JSON object (starts with %s)", jsonKind(trimmed))
	}
	if v == nil {
		if !json.Valid(trimmed) {
			return errors.New("invalid JSON")
		}
		return nil
	}
	if err := json.Unmarshal(trimmed, v); err != nil {
		return err
	}
	return nil
}

func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "empty"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	if b[0] == '-' || ('0' <= b[0] && b[0] <= '9') {
		return "a number"
	}
	return strconv.Quote(string(b[:min(len(b), 16)]))
}

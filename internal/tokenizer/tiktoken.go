package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
)

// TiktokenFormat is the layout of a tiktoken vocabulary file.
type TiktokenFormat string

const (
	// TiktokenJSON is the layout NeMo's TiktokenTokenizer reads
	// (reload_mergeable_ranks): a JSON list of
	// {"rank": i, "token_bytes": "<base64>", "token_str": "..."} objects, the
	// i-th with rank i and the first 256 holding the single bytes 0..255.
	// NeMo also requires the file name to end in ".json".
	TiktokenJSON TiktokenFormat = "json"
	// TiktokenBPE is tiktoken's own .tiktoken layout: one
	// "<base64 token> <rank>" per line. NeMo does not read it.
	TiktokenBPE TiktokenFormat = "tiktoken"
)

// TiktokenVocab is a checked tiktoken vocabulary.
type TiktokenVocab struct {
	Format TiktokenFormat
	// Ranks is the number of tokens (mergeable ranks) in the file.
	Ranks int
	// MaxRank is the largest rank.
	MaxRank int
}

// ReadTiktokenFile reads and checks a tiktoken vocabulary file. Errors
// name the file.
func ReadTiktokenFile(path string) (*TiktokenVocab, error) {
	f, err := openRegular(path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("tiktoken vocabulary: %w", err)
	}
	defer f.Close()
	v, err := ParseTiktoken(f)
	if err != nil {
		return nil, fmt.Errorf("tiktoken vocabulary %s: %w", path, err)
	}
	return v, nil
}

// ParseTiktoken reads a tiktoken vocabulary in either layout (told apart
// by a leading '[') and checks it: for the JSON layout everything NeMo's
// reload_mergeable_ranks asserts (exactly the keys rank, token_bytes and
// token_str; rank equal to the position; the first 256 tokens the single
// bytes; no token twice); for the line layout, valid base64, integer
// ranks, and no rank or token twice. At most MaxFileSize bytes are read.
func ParseTiktoken(r io.Reader) (*TiktokenVocab, error) {
	return parseTiktoken(r, MaxFileSize, nil)
}

// parseTiktoken reads at most limit bytes; visit, if not nil, gets the
// tokens of the JSON layout in rank order.
func parseTiktoken(r io.Reader, limit int64, visit func(rank int, tok []byte)) (*TiktokenVocab, error) {
	br := bufio.NewReader(io.LimitReader(r, limit+1))
	lr := &countingReader{r: br}
	first, err := peekNonSpace(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty vocabulary")
		}
		return nil, err
	}
	var v *TiktokenVocab
	if first == '[' {
		v, err = parseTiktokenJSON(lr, visit)
	} else {
		v, err = parseTiktokenBPE(lr)
	}
	if lr.n > limit {
		return nil, tooLarge(lr.n, limit)
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if len(b) < i {
			return 0, err
		}
		switch c := b[i-1]; c {
		case ' ', '\t', '\r', '\n':
			if i >= 4096 {
				return 0, errors.New("only white space at the start")
			}
		default:
			return c, nil
		}
	}
}

// parseTiktokenJSON checks the JSON layout; visit, if not nil, gets every
// token in rank order.
func parseTiktokenJSON(r io.Reader, visit func(rank int, tok []byte)) (*TiktokenVocab, error) {
	dec := json.NewDecoder(r)
	// NeMo asserts the keys are exactly these three.
	dec.DisallowUnknownFields()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf("not a JSON list: %v", err)
	}
	seen := map[string]int{}
	v := &TiktokenVocab{Format: TiktokenJSON, MaxRank: -1}
	for i := 0; dec.More(); i++ {
		var e struct {
			Rank       *float64        `json:"rank"`
			TokenBytes *string         `json:"token_bytes"`
			TokenStr   json.RawMessage `json:"token_str"`
		}
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("entry %d (want an object with exactly rank, token_bytes, token_str): %w", i, err)
		}
		if e.Rank == nil || e.TokenBytes == nil || e.TokenStr == nil {
			return nil, fmt.Errorf("entry %d lacks a key: want exactly rank, token_bytes, token_str", i)
		}
		// Python compares with ==, so 3.0 passes for 3.
		if *e.Rank != float64(i) {
			return nil, fmt.Errorf("entry %d has rank %v, want %d (ranks must count up from 0)", i, *e.Rank, i)
		}
		b64 := *e.TokenBytes
		tok, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("entry %d: token_bytes is not base64: %w", i, err)
		}
		if i < 256 && (len(tok) != 1 || tok[0] != byte(i)) {
			return nil, fmt.Errorf("entry %d is %q, but the first 256 tokens must be the single bytes 0..255", i, tok)
		}
		if j, dup := seen[string(tok)]; dup {
			return nil, fmt.Errorf("entry %d repeats the token of entry %d (%q)", i, j, tok)
		}
		seen[string(tok)] = i
		if visit != nil {
			visit(i, tok)
		}
		v.Ranks++
		v.MaxRank = i
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("unterminated list: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON list")
	}
	if v.Ranks == 0 {
		return nil, errors.New("empty vocabulary")
	}
	return v, nil
}

func parseTiktokenBPE(r io.Reader) (*TiktokenVocab, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	tokens := map[string]int64{}
	ranks := map[int64]int{}
	v := &TiktokenVocab{Format: TiktokenBPE, MaxRank: -1}
	for line := 1; sc.Scan(); line++ {
		// tiktoken's load_tiktoken_bpe skips empty lines and splits on
		// white space.
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("line %d: want \"<base64 token> <rank>\", got %d fields", line, len(fields))
		}
		tok, err := base64.StdEncoding.DecodeString(fields[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: token is not base64: %w", line, err)
		}
		rank, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil || rank < 0 || rank > math.MaxInt32 {
			return nil, fmt.Errorf("line %d: rank %q is not a non-negative integer", line, fields[1])
		}
		if prev, dup := ranks[rank]; dup {
			return nil, fmt.Errorf("line %d: rank %d already given on line %d", line, rank, prev)
		}
		if _, dup := tokens[string(tok)]; dup {
			return nil, fmt.Errorf("line %d: token %q given twice", line, tok)
		}
		ranks[rank] = line
		tokens[string(tok)] = rank
		v.Ranks++
		v.MaxRank = max(v.MaxRank, int(rank))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if v.Ranks == 0 {
		return nil, errors.New("empty vocabulary")
	}
	return v, nil
}

// TiktokenOptions are the TiktokenTokenizer arguments that shape its
// vocabulary. The zero value means NeMo's defaults, which NeMo's converter
// uses (it passes only vocab_file).
type TiktokenOptions struct {
	// VocabSize is the tokenizer's vocabulary size, special tokens
	// included; 0 means 131072.
	VocabSize int
	// NumSpecialTokens is the number of ids reserved for special tokens in
	// front of the file's tokens; 0 means 1000.
	NumSpecialTokens int
	// SpecialTokens are the named special tokens, which take the first
	// ids; nil means NeMo's list, whose first seven are <unk>, <s>, </s>,
	// <mask>, <pad>, <cls>, <sep>.
	SpecialTokens []string
}

var nemoTiktokenSpecials = []string{"<unk>", "<s>", "</s>", "<mask>", "<pad>", "<cls>", "<sep>"}

// resolve applies NeMo's defaults and checks the options as
// TiktokenTokenizer asserts them; specials are the named special tokens.
func (opts TiktokenOptions) resolve() (TiktokenOptions, []string, error) {
	if opts.VocabSize == 0 {
		opts.VocabSize = 131072
	}
	if opts.NumSpecialTokens == 0 {
		opts.NumSpecialTokens = 1000
	}
	specials := opts.SpecialTokens
	if specials == nil {
		specials = nemoTiktokenSpecials
	}
	if len(specials) > opts.NumSpecialTokens || opts.NumSpecialTokens >= opts.VocabSize {
		return opts, nil, fmt.Errorf("tiktoken options: need special tokens (%d) <= num_special_tokens (%d) < vocab_size (%d)",
			len(specials), opts.NumSpecialTokens, opts.VocabSize)
	}
	seen := map[string]bool{}
	for _, s := range specials {
		if seen[s] {
			return opts, nil, fmt.Errorf("tiktoken options: special token %q given twice", s)
		}
		seen[s] = true
	}
	for _, s := range nemoTiktokenSpecials {
		if !seen[s] {
			return opts, nil, fmt.Errorf("tiktoken options: the special tokens must include %q (NeMo requires %v)", s, nemoTiktokenSpecials)
		}
	}
	return opts, specials, nil
}

// TiktokenFile reads and checks a tiktoken vocabulary file and describes
// it for a NeMo 2.0 context: a TiktokenTokenizer whose vocab_file keeps
// the file's base name. It checks what NeMo's TiktokenTokenizer would
// assert when it loads the file: the JSON layout, a ".json" name, and at
// least VocabSize-NumSpecialTokens tokens (NeMo reads that many and needs
// every rank below it).
func TiktokenFile(path string, opts TiktokenOptions) (*Info, error) {
	opts, specials, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	index := func(tok string) int {
		for i, s := range specials {
			if s == tok {
				return i
			}
		}
		return -1
	}
	name := filepath.Base(path)
	if !strings.HasSuffix(name, ".json") {
		return nil, fmt.Errorf("tiktoken vocabulary %s: NeMo's TiktokenTokenizer reads only JSON vocabulary files named *.json", path)
	}
	data, err := readRegular(path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("tiktoken vocabulary: %w", err)
	}
	v, err := ParseTiktoken(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("tiktoken vocabulary %s: %w", path, err)
	}
	if v.Format != TiktokenJSON {
		return nil, fmt.Errorf("tiktoken vocabulary %s is in tiktoken's \"<base64> <rank>\" line layout; NeMo's TiktokenTokenizer "+
			"reads only the JSON list layout ([{\"rank\": 0, \"token_bytes\": \"AA==\", \"token_str\": \"...\"}, ...])", path)
	}
	inner := opts.VocabSize - opts.NumSpecialTokens
	if v.Ranks < inner {
		return nil, fmt.Errorf("tiktoken vocabulary %s has %d tokens; a TiktokenTokenizer with vocab_size %d and %d special tokens needs at least %d",
			path, v.Ranks, opts.VocabSize, opts.NumSpecialTokens, inner)
	}
	return &Info{
		Library:   Tiktoken,
		Class:     TiktokenClass,
		Arg:       "vocab_file",
		Path:      name,
		ModelType: "tiktoken",
		VocabSize: opts.VocabSize,
		MaxID:     opts.VocabSize - 1,
		BOS:       index("<s>"),
		EOS:       index("</s>"),
		PAD:       index("<pad>"),
		UNK:       index("<unk>"),
		Files: []File{{
			Name: name, Source: path, Size: int64(len(data)),
			open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		}},
	}, nil
}

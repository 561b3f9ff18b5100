package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// GPT2EndOfText is the special token of every GPT-2 vocabulary, which
// transformers' GPT2Tokenizer uses as its bos, eos and unk token.
const GPT2EndOfText = "<|endoftext|>"

// GPT-2 tokenizer files, as transformers' GPT2Tokenizer names them.
const (
	GPT2VocabFile  = "vocab.json"
	GPT2MergesFile = "merges.txt"
)

// gpt2ModelMaxLength is the model_max_length of the "gpt2" Hub
// repository's tokenizer_config.json, which NeMo 1's megatron
// GPT2BPETokenizer was built from.
const gpt2ModelMaxLength = 1024

// GPT2BPE is a GPT-2 byte-level BPE vocabulary: vocab.json (token to id)
// and merges.txt (the merges in rank order). NeMo 1's tokenizer library
// "megatron" with type GPT2BPETokenizer reads these two files through
// transformers' GPT2Tokenizer (get_nmt_tokenizer maps the type to the
// "megatron-gpt-345m" entry of MEGATRON_CONFIG_MAP, whose tokenizer_name
// is "gpt2", and calls AutoTokenizer("gpt2", vocab_file=..., merges_file=...,
// use_fast=False)).
type GPT2BPE struct {
	// Tokens are the tokens by id; the ids are exactly 0..len(Tokens)-1.
	Tokens []string
	// Merges are the merges in rank order.
	Merges [][2]string
	// EOT is the id of GPT2EndOfText.
	EOT int
}

// byteLevelRune is the rune that stands for byte b in GPT-2's byte-level
// alphabet (bytes_to_unicode): printable bytes stand for themselves, the
// 68 others for U+0100 upwards in byte order. Every token of a byte-level
// vocabulary is spelled in this alphabet.
func byteLevelRune(b byte) rune {
	if printableByte(b) {
		return rune(b)
	}
	n := 0
	for c := 0; c < int(b); c++ {
		if !printableByte(byte(c)) {
			n++
		}
	}
	return rune(256 + n)
}

func printableByte(b byte) bool {
	return b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE
}

// isByteLevelRune reports whether r is in GPT-2's byte-level alphabet.
func isByteLevelRune(r rune) bool {
	return r < 256 && printableByte(byte(r)) || r >= 256 && r < 256+68
}

// ParseGPT2BPE parses and checks the two files of a GPT-2 tokenizer.
// vocabName and mergesName name them in errors.
//
// The files are held to the form on which every reader agrees
// (transformers' slow GPT2Tokenizer, which NeMo 1 used, and the
// tokenizers library, which transformers 5 and every fast tokenizer use),
// so that NeMo 2 and an exported Hugging Face tokenizer encode exactly as
// NeMo 1 did: vocab.json is one JSON object of distinct tokens with the
// ids 0..n-1, spelled in the byte-level alphabet, holding all 256
// single-byte tokens and GPT2EndOfText; merges.txt is UTF-8, starts with
// a "#version" line, then one "left right" pair of tokens per line whose
// concatenation is a token too, no pair twice, every line ended by a line
// feed (GPT2Tokenizer drops the last line, the tokenizers library does
// not).
func ParseGPT2BPE(vocab, merges []byte, vocabName, mergesName string) (*GPT2BPE, error) {
	tokens, ids, err := parseGPT2Vocab(vocab)
	if err != nil {
		return nil, fmt.Errorf("GPT-2 vocabulary %s: %w", vocabName, err)
	}
	pairs, err := parseGPT2Merges(merges, ids)
	if err != nil {
		return nil, fmt.Errorf("GPT-2 merges %s: %w", mergesName, err)
	}
	return &GPT2BPE{Tokens: tokens, Merges: pairs, EOT: ids[GPT2EndOfText]}, nil
}

func parseGPT2Vocab(data []byte) ([]string, map[string]int, error) {
	if len(data) > MaxFileSize {
		return nil, nil, tooLarge(int64(len(data)), MaxFileSize)
	}
	// Python's json.load of a UTF-8 file fails on invalid bytes, where
	// Go's decoder would substitute U+FFFD.
	if !utf8.Valid(data) {
		return nil, nil, errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("not a JSON object (starts with %s)", jsonKind(bytes.TrimSpace(data)))
	}
	// The decoder reports a truncated file as io.EOF.
	token := func() (json.Token, error) {
		t, err := dec.Token()
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return t, err
	}
	type entry struct {
		tok string
		id  int64
	}
	var entries []entry
	ids := map[string]int{}
	for dec.More() {
		k, err := token()
		if err != nil {
			return nil, nil, err
		}
		key, _ := k.(string)
		v, err := token()
		if err != nil {
			return nil, nil, fmt.Errorf("token %q: %w", key, err)
		}
		num, ok := v.(json.Number)
		if !ok {
			return nil, nil, fmt.Errorf("token %q: the id is %s, want an integer", key, tokenKind(v))
		}
		id, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || id < 0 || id > maxTokenID {
			return nil, nil, fmt.Errorf("token %q: id %s is not a token id", key, num)
		}
		if _, dup := ids[key]; dup {
			return nil, nil, fmt.Errorf("token %q appears twice", key)
		}
		if len(entries) == MaxPieces {
			return nil, nil, fmt.Errorf("more than %d tokens", MaxPieces)
		}
		if err := checkByteLevel(key); err != nil {
			return nil, nil, err
		}
		ids[key] = int(id)
		entries = append(entries, entry{key, id})
	}
	if _, err := token(); err != nil { // the closing brace
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("data after the JSON object")
	}
	// Dense ids: len(tokenizer), which NeMo pads the embedding for, is
	// the number of tokens, and every id below it must decode.
	tokens := make([]string, len(entries))
	seen := make([]bool, len(entries))
	for _, e := range entries {
		if e.id >= int64(len(entries)) {
			return nil, nil, fmt.Errorf("token %q has id %d, but there are only %d tokens: the ids must be 0..%d", e.tok, e.id, len(entries), len(entries)-1)
		}
		if seen[e.id] {
			return nil, nil, fmt.Errorf("id %d is given to both %q and %q", e.id, tokens[e.id], e.tok)
		}
		tokens[e.id], seen[e.id] = e.tok, true
	}
	for b := range 256 {
		r := byteLevelRune(byte(b))
		if _, ok := ids[string(r)]; !ok {
			return nil, nil, fmt.Errorf("the single-byte token %q (byte 0x%02x) is missing: a byte-level vocabulary has all 256", string(r), b)
		}
	}
	if _, ok := ids[GPT2EndOfText]; !ok {
		return nil, nil, fmt.Errorf("no %s token: GPT2Tokenizer's bos, eos and unk token would be added after the vocabulary", GPT2EndOfText)
	}
	return tokens, ids, nil
}

// checkByteLevel refuses a token that byte-level BPE can never produce:
// one with a rune outside GPT-2's byte-level alphabet (which also catches
// the U+FFFD Go's decoder puts for an unpaired surrogate escape).
func checkByteLevel(tok string) error {
	if tok == "" {
		return errors.New("empty token")
	}
	for _, r := range tok {
		if !isByteLevelRune(r) {
			return fmt.Errorf("token %q has %q, which is not in GPT-2's byte-level alphabet", tok, r)
		}
	}
	return nil
}

func tokenKind(v json.Token) string {
	switch v := v.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", v)
}

func parseGPT2Merges(data []byte, ids map[string]int) ([][2]string, error) {
	if len(data) > MaxFileSize {
		return nil, tooLarge(int64(len(data)), MaxFileSize)
	}
	if !utf8.Valid(data) {
		return nil, errors.New("not valid UTF-8")
	}
	// Python's text mode reads "\r\n" as "\n", and Rust's lines() strips
	// it; a lone "\r" is a line end to one and not the other.
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if i := strings.IndexByte(text, '\r'); i >= 0 {
		return nil, fmt.Errorf("line %d has a carriage return without a line feed", strings.Count(text[:i], "\n")+1)
	}
	lines := strings.Split(text, "\n")
	if !strings.HasPrefix(lines[0], "#version") {
		return nil, fmt.Errorf("line 1 is %q, want the \"#version: 0.2\" header (GPT2Tokenizer skips the first line whatever it holds)", clip(lines[0]))
	}
	if len(lines) == 1 {
		return nil, nil
	}
	if last := lines[len(lines)-1]; last != "" {
		return nil, fmt.Errorf("line %d (%q) has no line end: GPT2Tokenizer drops the last line, the tokenizers library keeps it; end the file with a line feed", len(lines), clip(last))
	}
	lines = lines[1 : len(lines)-1]
	merges := make([][2]string, 0, len(lines))
	seen := make(map[[2]string]bool, len(lines))
	for i, line := range lines {
		n := i + 2
		left, right, ok := strings.Cut(line, " ")
		if !ok || left == "" || right == "" || strings.Contains(right, " ") {
			return nil, fmt.Errorf("line %d is %q, want two tokens separated by one space", n, clip(line))
		}
		if strings.HasPrefix(line, "#version") {
			return nil, fmt.Errorf("line %d is a second #version header", n)
		}
		for _, tok := range []string{left, right, left + right} {
			if _, ok := ids[tok]; !ok {
				return nil, fmt.Errorf("line %d merges %q and %q, but %q is not in the vocabulary", n, left, right, tok)
			}
		}
		p := [2]string{left, right}
		if seen[p] {
			return nil, fmt.Errorf("line %d repeats the merge %q %q", n, left, right)
		}
		seen[p] = true
		merges = append(merges, p)
	}
	return merges, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// TokenizerJSON returns the tokenizers library's tokenizer.json for the
// vocabulary: what transformers' GPT-2 converter builds from GPT2Tokenizer
// (byte-level BPE without unk token, GPT-2's pre-tokenizer, byte-level
// decoding, GPT2EndOfText a special added token), so that fast tokenizers
// load it without converting.
func (b *GPT2BPE) TokenizerJSON() ([]byte, error) {
	var vocab bytes.Buffer
	vocab.WriteByte('{')
	for id, tok := range b.Tokens {
		if id > 0 {
			vocab.WriteByte(',')
		}
		if err := writeJSONString(&vocab, tok); err != nil {
			return nil, err
		}
		vocab.WriteByte(':')
		vocab.WriteString(strconv.Itoa(id))
	}
	vocab.WriteByte('}')
	merges := make([]string, len(b.Merges))
	for i, m := range b.Merges {
		merges[i] = m[0] + " " + m[1]
	}
	byteLevel := func(prefix, trim bool) map[string]any {
		return map[string]any{"type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": trim, "use_regex": true}
	}
	doc := map[string]any{
		"version":    "1.0",
		"truncation": nil,
		"padding":    nil,
		"added_tokens": []any{map[string]any{
			"id": b.EOT, "content": GPT2EndOfText, "single_word": false, "lstrip": false, "rstrip": false,
			"normalized": true, "special": true,
		}},
		"normalizer":     nil,
		"pre_tokenizer":  byteLevel(false, true),
		"post_processor": byteLevel(true, false),
		"decoder":        byteLevel(true, true),
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": nil,
			"continuing_subword_prefix": "", "end_of_word_suffix": "",
			"fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
			"vocab": json.RawMessage(vocab.Bytes()), "merges": merges,
		},
	}
	return marshalJSON(doc)
}

// TokenizerConfigJSON returns the tokenizer_config.json that makes
// transformers' AutoTokenizer build GPT2Tokenizer from the directory's
// vocab.json and merges.txt (or its fast twin from tokenizer.json), with
// what NeMo 1 got from the "gpt2" Hub repository: model_max_length 1024,
// GPT2EndOfText as bos, eos and unk, no prefix space.
func (b *GPT2BPE) TokenizerConfigJSON() ([]byte, error) {
	return marshalJSON(map[string]any{
		"tokenizer_class":  "GPT2Tokenizer",
		"model_max_length": gpt2ModelMaxLength,
		"bos_token":        GPT2EndOfText,
		"eos_token":        GPT2EndOfText,
		"unk_token":        GPT2EndOfText,
		"add_prefix_space": false,
	})
}

func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeJSONString(buf *bytes.Buffer, s string) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}

// GPT2BPEBytes checks a GPT-2 vocabulary and merges held in memory, such
// as the vocab_file and merge_file artifacts of a .nemo, and describes the
// tokenizer for a NeMo 2.0 context: an AutoTokenizer whose
// pretrained_model_name is the directory HFContextDir, holding the two
// files under GPT-2's names, the tokenizer_config.json that names
// GPT2Tokenizer and a tokenizer.json for fast tokenizers. The sources name
// the files in messages.
func GPT2BPEBytes(vocab, merges []byte, vocabSrc, mergesSrc string) (*Info, error) {
	b, err := ParseGPT2BPE(vocab, merges, vocabSrc, mergesSrc)
	if err != nil {
		return nil, err
	}
	tj, err := b.TokenizerJSON()
	if err != nil {
		return nil, err
	}
	cfg, err := b.TokenizerConfigJSON()
	if err != nil {
		return nil, err
	}
	in := &Info{
		Library:   Megatron,
		Class:     AutoTokenizerClass,
		Arg:       "pretrained_model_name",
		Path:      HFContextDir,
		ModelType: "BPE",
		VocabSize: len(b.Tokens),
		MaxID:     len(b.Tokens) - 1,
		BOS:       b.EOT,
		EOS:       b.EOT,
		PAD:       -1,
		UNK:       b.EOT,
	}
	for _, f := range []struct {
		name, src string
		data      []byte
	}{
		{GPT2VocabFile, vocabSrc, vocab},
		{GPT2MergesFile, mergesSrc, merges},
		{"tokenizer.json", "generated from " + vocabSrc + " and " + mergesSrc, tj},
		{"tokenizer_config.json", "generated (GPT2Tokenizer)", cfg},
	} {
		data := f.data
		in.Files = append(in.Files, File{
			Name: HFContextDir + "/" + f.name, Source: f.src, Size: int64(len(data)),
			open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		})
	}
	return in, nil
}

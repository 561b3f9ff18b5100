package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// TiktokenPattern is the pre-tokenizer NeMo's TiktokenTokenizer splits
// text with (PATTERN_TIKTOKEN, Mistral's tekken pattern).
const TiktokenPattern = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// TiktokenHFJSON returns the tokenizers library's tokenizer.json and the
// tokenizer_config.json fields under which transformers encodes text as NeMo's
// TiktokenTokenizer does (text_to_ids): the special tokens first (NeMo's
// named ones, then <SPECIAL_i> up to NumSpecialTokens), then the
// vocabulary file's first VocabSize-NumSpecialTokens tokens shifted by
// NumSpecialTokens; no BOS or EOS added.
//
// tiktoken splits with its pattern and merges, within each piece, the
// adjacent pair whose concatenation ranks lowest, unless the piece is a
// token itself. The equivalent is a byte-level BPE behind a Split on the
// pattern, with ignore_merges (whole pieces first) and, for every token,
// a merge for each way to cut it into two tokens, ranked by the token's
// rank: the conversion transformers makes for tiktoken vocabularies.
func TiktokenHFJSON(vocab io.Reader, opts TiktokenOptions) (tokenizerJSON []byte, config map[string]any, err error) {
	opts, named, err := opts.resolve()
	if err != nil {
		return nil, nil, err
	}
	inner := opts.VocabSize - opts.NumSpecialTokens
	var toks [][]byte
	v, err := parseTiktoken(vocab, MaxFileSize, func(rank int, tok []byte) {
		if rank < inner {
			toks = append(toks, tok)
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("tiktoken vocabulary: %w", err)
	}
	if v.Format != TiktokenJSON {
		return nil, nil, errors.New("tiktoken vocabulary: NeMo's TiktokenTokenizer reads only the JSON list layout")
	}
	if v.Ranks < inner {
		return nil, nil, fmt.Errorf("tiktoken vocabulary has %d tokens; vocab_size %d with %d special tokens needs %d", v.Ranks, opts.VocabSize, opts.NumSpecialTokens, inner)
	}

	specials := slices.Clone(named)
	for i := len(named); i < opts.NumSpecialTokens; i++ {
		specials = append(specials, "<SPECIAL_"+strconv.Itoa(i)+">")
	}
	rank := make(map[string]int, len(toks))
	for r, t := range toks {
		rank[string(t)] = r
	}
	byteLevel := func(b []byte) string {
		rs := make([]rune, len(b))
		for i, c := range b {
			rs[i] = byteLevelRune(c)
		}
		return string(rs)
	}

	// The special tokens are in the model's vocabulary too: tokenizers
	// gives an added token the id the model has for it, and otherwise one
	// past the model's, whatever id tokenizer.json says.
	var vb bytes.Buffer
	vb.WriteByte('{')
	entry := func(tok string, id int) error {
		if id > 0 {
			vb.WriteByte(',')
		}
		if err := writeJSONString(&vb, tok); err != nil {
			return err
		}
		vb.WriteByte(':')
		vb.WriteString(strconv.Itoa(id))
		return nil
	}
	for id, s := range specials {
		if _, clash := rank[s]; clash { // printable ASCII: its byte-level form is itself
			return nil, nil, fmt.Errorf("special token %q is also a token of the vocabulary", s)
		}
		if err := entry(s, id); err != nil {
			return nil, nil, err
		}
	}
	for r, t := range toks {
		if err := entry(byteLevel(t), r+opts.NumSpecialTokens); err != nil {
			return nil, nil, err
		}
	}
	vb.WriteByte('}')

	// Merges in the order of the tokens they make; a token's cuts by the
	// ranks of their halves.
	var merges []string
	type cut struct{ l, r int }
	for _, t := range toks {
		var cuts []cut
		for i := 1; i < len(t); i++ {
			l, lok := rank[string(t[:i])]
			r, rok := rank[string(t[i:])]
			if lok && rok {
				cuts = append(cuts, cut{l, r})
			}
		}
		slices.SortFunc(cuts, func(a, b cut) int {
			if a.l != b.l {
				return a.l - b.l
			}
			return a.r - b.r
		})
		for _, c := range cuts {
			merges = append(merges, byteLevel(toks[c.l])+" "+byteLevel(toks[c.r]))
		}
	}

	added := make([]any, len(specials))
	for id, s := range specials {
		added[id] = map[string]any{"id": id, "content": s, "single_word": false, "lstrip": false, "rstrip": false,
			"normalized": false, "special": true}
	}
	bl := map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}
	doc := map[string]any{
		"version":      "1.0",
		"truncation":   nil,
		"padding":      nil,
		"added_tokens": added,
		"normalizer":   nil,
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": TiktokenPattern}, "behavior": "Isolated", "invert": false},
			bl,
		}},
		"post_processor": nil,
		"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": nil,
			"continuing_subword_prefix": "", "end_of_word_suffix": "",
			"fuse_unk": false, "byte_fallback": false, "ignore_merges": true,
			"vocab": json.RawMessage(vb.Bytes()), "merges": merges,
		},
	}
	if tokenizerJSON, err = marshalJSON(doc); err != nil {
		return nil, nil, err
	}
	return tokenizerJSON, map[string]any{
		"tokenizer_class":              "PreTrainedTokenizerFast",
		"clean_up_tokenization_spaces": false,
		"unk_token":                    "<unk>",
		"bos_token":                    "<s>",
		"eos_token":                    "</s>",
		"pad_token":                    "<pad>",
		"mask_token":                   "<mask>",
		"cls_token":                    "<cls>",
		"sep_token":                    "<sep>",
	}, nil
}

package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"
)

// HFTokenizerJSON returns a Hugging Face tokenizers tokenizer.json that
// encodes text as this SentencePiece model does, so that transformers'
// AutoTokenizer needs neither sentencepiece nor protobuf (it would convert
// tokenizer.model with both, and not at all for model types without a
// SentencePiece tokenizer class). addBOS prepends the bos piece to every
// sequence, as Llama's tokenizer does.
//
// The pipeline mirrors SentencePiece's: the compiled normalization rule
// (tokenizers' Precompiled normalizer reads the same charsmap), then
// remove_extra_whitespaces (trim and collapse spaces), add_dummy_prefix
// (a leading "▁") and escape_whitespaces (" " to "▁"); the model is
// Unigram with the pieces' scores, or BPE with the merges SentencePiece's
// scores imply (transformers' generate_merges: every split of a piece into
// two pieces, ranked by the merged piece's id).
func (m *Model) HFTokenizerJSON(addBOS bool) ([]byte, error) {
	tr, nm := m.Trainer, m.Normalizer
	if !nm.EscapeWhitespaces {
		return nil, fmt.Errorf("sentencepiece model without escape_whitespaces has no tokenizers equivalent")
	}
	for i, p := range m.Pieces {
		switch {
		case p.Type == Unused:
			return nil, fmt.Errorf("sentencepiece piece %d (%q) is unused: tokenizers has no unused pieces", i, p.Piece)
		case p.Type == UserDefined && tr.ModelType != Unigram:
			// A Unigram lattice picks such a piece by its score as
			// SentencePiece does; BPE never merges into it, and as an
			// added token the dummy prefix is applied around it.
			return nil, fmt.Errorf("sentencepiece %s model with user-defined piece %d (%q): tokenizers cannot segment around it as sentencepiece does", tr.ModelType, i, p.Piece)
		}
	}
	var norms []any
	if len(nm.PrecompiledCharsmap) > 0 {
		norms = append(norms, map[string]any{"type": "Precompiled", "precompiled_charsmap": nm.PrecompiledCharsmap})
	}
	if nm.RemoveExtraWhitespaces {
		norms = append(norms,
			replace(map[string]string{"Regex": "^ +| +$"}, ""),
			replace(map[string]string{"Regex": " {2,}"}, " "))
	}
	if nm.AddDummyPrefix {
		norms = append(norms, map[string]any{"type": "Prepend", "prepend": "▁"})
	}
	norms = append(norms, replace(map[string]string{"String": " "}, "▁"))

	var normalizer any
	if len(norms) > 0 {
		normalizer = map[string]any{"type": "Sequence", "normalizers": norms}
	}

	decoders := []any{replace(map[string]string{"String": "▁"}, " ")}
	if tr.ByteFallback {
		decoders = append(decoders, map[string]any{"type": "ByteFallback"})
	}
	decoders = append(decoders, map[string]any{"type": "Fuse"})
	if nm.AddDummyPrefix {
		decoders = append(decoders, map[string]any{"type": "Strip", "content": " ", "start": 1, "stop": 0})
	}

	var added []any
	for i, p := range m.Pieces {
		if p.Type == Unknown || p.Type == Control {
			added = append(added, map[string]any{
				"id": i, "content": p.Piece, "single_word": false, "lstrip": false, "rstrip": false,
				"normalized": false, "special": true,
			})
		}
	}

	var model any
	unk := m.unk
	if unk < 0 {
		return nil, fmt.Errorf("sentencepiece model has no unknown piece")
	}
	switch tr.ModelType {
	case Unigram:
		vocab := make([][2]any, len(m.Pieces))
		for i, p := range m.Pieces {
			vocab[i] = [2]any{p.Piece, float64(p.Score)}
		}
		model = map[string]any{"type": "Unigram", "unk_id": unk, "vocab": vocab, "byte_fallback": tr.ByteFallback}
	case BPE:
		vocab := make(map[string]int, len(m.Pieces))
		for i, p := range m.Pieces {
			vocab[p.Piece] = i
		}
		model = map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": m.Pieces[unk].Piece,
			"continuing_subword_prefix": nil, "end_of_word_suffix": nil,
			"fuse_unk": true, "byte_fallback": tr.ByteFallback, "ignore_merges": false,
			"vocab": vocab, "merges": bpeMerges(m.Pieces, vocab),
		}
	default:
		return nil, fmt.Errorf("sentencepiece %s model: only unigram and bpe models have a tokenizers equivalent", tr.ModelType)
	}

	var post any
	if addBOS && m.bos >= 0 {
		bos := m.Pieces[m.bos].Piece
		special := func(id string) any { return map[string]any{"SpecialToken": map[string]any{"id": id, "type_id": 0}} }
		seq := func(id string, typ int) any {
			return map[string]any{"Sequence": map[string]any{"id": id, "type_id": typ}}
		}
		post = map[string]any{
			"type":   "TemplateProcessing",
			"single": []any{special(bos), seq("A", 0)},
			"pair":   []any{special(bos), seq("A", 0), map[string]any{"SpecialToken": map[string]any{"id": bos, "type_id": 1}}, seq("B", 1)},
			"special_tokens": map[string]any{
				bos: map[string]any{"id": bos, "ids": []int{m.bos}, "tokens": []string{bos}},
			},
		}
	}
	doc := map[string]any{
		"version":        "1.0",
		"truncation":     nil,
		"padding":        nil,
		"added_tokens":   added,
		"normalizer":     normalizer,
		"pre_tokenizer":  nil,
		"post_processor": post,
		"decoder":        map[string]any{"type": "Sequence", "decoders": decoders},
		"model":          model,
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func replace(pattern map[string]string, content string) map[string]any {
	return map[string]any{"type": "Replace", "pattern": pattern, "content": content}
}

// bpeMerges returns the merges of a SentencePiece BPE model: for every
// piece (in id order) each split into two pieces of the vocabulary, the
// splits of one piece ordered by their halves' ids, then all ranked by the
// merged piece's id and the halves' lengths, as transformers'
// generate_merges does.
func bpeMerges(pieces []Piece, vocab map[string]int) [][2]string {
	type merge struct {
		l, r   string
		merged int
	}
	var all []merge
	for id, p := range pieces {
		if p.Type != Normal { // only normal pieces are learned merges
			continue
		}
		s := p.Piece
		var local []merge
		for i := range s {
			if i == 0 {
				continue
			}
			l, r := s[:i], s[i:]
			if _, ok := vocab[l]; !ok {
				continue
			}
			if _, ok := vocab[r]; !ok {
				continue
			}
			local = append(local, merge{l, r, id})
		}
		slices.SortStableFunc(local, func(a, b merge) int {
			if d := vocab[a.l] - vocab[b.l]; d != 0 {
				return d
			}
			return vocab[a.r] - vocab[b.r]
		})
		all = append(all, local...)
	}
	slices.SortStableFunc(all, func(a, b merge) int {
		if a.merged != b.merged {
			return a.merged - b.merged
		}
		if d := utf8.RuneCountInString(a.l) - utf8.RuneCountInString(b.l); d != 0 {
			return d
		}
		return utf8.RuneCountInString(a.r) - utf8.RuneCountInString(b.r)
	})
	out := make([][2]string, len(all))
	for i, mg := range all {
		out[i] = [2]string{mg.l, mg.r}
	}
	return out
}

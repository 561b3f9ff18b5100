package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Hugging Face tokenizer fixtures, built by hand because neither
// transformers nor tokenizers is installable for the tests (Debian has no
// package; no Python package index is reachable). They follow the layout
// that tokenizers (tokenizer.json) and transformers' save_pretrained
// (tokenizer_config.json, special_tokens_map.json) write for the
// tokenizers they imitate, field for field, including the fields this
// package ignores, so that the parser meets them as it would in a real
// directory.

// byteLevelAlphabet is GPT-2's bytes_to_unicode: printable bytes map to
// themselves, the others to U+0100 upwards, in byte order.
func byteLevelAlphabet() []string {
	var out []string
	n := 0
	for b := 0; b < 256; b++ {
		if b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF {
			out = append(out, string(rune(b)))
		} else {
			out = append(out, string(rune(256+n)))
			n++
		}
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

// orderedVocab writes a token->id JSON object in id order, as tokenizers
// does (Go maps would sort the keys instead).
type orderedVocab []string

func (v orderedVocab) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, tok := range v {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(tok)
		b = append(b, k...)
		b = append(b, fmt.Sprintf(":%d", i)...)
	}
	return append(b, '}'), nil
}

func addedToken(id int, content string) map[string]any {
	return map[string]any{"id": id, "content": content, "single_word": false, "lstrip": false,
		"rstrip": false, "normalized": false, "special": true}
}

func addedTokenConfig(content string) map[string]any {
	return map[string]any{"content": content, "lstrip": false, "normalized": false, "rstrip": false,
		"single_word": false, "special": true}
}

// llama3Fixture imitates meta-llama/Meta-Llama-3-8B: a byte-level BPE
// tokenizer.json whose special tokens are added tokens after the model's
// vocabulary, and a tokenizer_config.json naming PreTrainedTokenizerFast.
// It returns the files and the number of model tokens.
func llama3Fixture() (map[string][]byte, int) {
	vocab := orderedVocab(byteLevelAlphabet())
	merges := []string{"Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "Ġ w", "r e", "Ġ s"}
	for _, m := range merges {
		var a, b string
		fmt.Sscanf(m, "%s %s", &a, &b)
		vocab = append(vocab, a+b)
	}
	n := len(vocab)
	specials := []string{"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|eot_id|>"}
	var added []any
	decoder := map[string]any{}
	for i, s := range specials {
		added = append(added, addedToken(n+i, s))
		decoder[fmt.Sprint(n+i)] = addedTokenConfig(s)
	}
	tj := map[string]any{
		"version":      "1.0",
		"truncation":   nil,
		"padding":      nil,
		"added_tokens": added,
		"normalizer":   nil,
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
		}},
		"post_processor": map[string]any{"type": "TemplateProcessing",
			"single":         []any{map[string]any{"SpecialToken": map[string]any{"id": "<|begin_of_text|>", "type_id": 0}}, map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
			"pair":           []any{},
			"special_tokens": map[string]any{"<|begin_of_text|>": map[string]any{"id": "<|begin_of_text|>", "ids": []int{n}, "tokens": []string{"<|begin_of_text|>"}}}},
		"decoder": map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false, "ignore_merges": true,
			"vocab": vocab, "merges": merges},
	}
	// model_max_length is a huge integer in real files; json.Number keeps it.
	cfg := []byte(fmt.Sprintf(`{
  "added_tokens_decoder": %s,
  "bos_token": "<|begin_of_text|>",
  "clean_up_tokenization_spaces": true,
  "eos_token": "<|end_of_text|>",
  "model_input_names": ["input_ids", "attention_mask"],
  "model_max_length": 1000000000000000019884624838656,
  "tokenizer_class": "PreTrainedTokenizerFast"
}`, mustJSON(decoder)))
	stm := mustJSON(map[string]any{
		"bos_token": map[string]any{"content": "<|begin_of_text|>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false},
		"eos_token": map[string]any{"content": "<|end_of_text|>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false},
	})
	return map[string][]byte{
		"tokenizer.json":          mustJSON(tj),
		"tokenizer_config.json":   cfg,
		"special_tokens_map.json": stm,
	}, n
}

// t5Fixture imitates a T5 tokenizer: a Unigram tokenizer.json whose
// specials are part of the vocabulary, one extra added token, and no bos.
func t5Fixture() (map[string][]byte, int) {
	pieces := [][]any{{"<pad>", 0.0}, {"</s>", 0.0}, {"<unk>", 0.0}, {"▁", -2.01}, {"s", -3.5}, {"▁the", -3.9},
		{"▁a", -4.2}, {"e", -4.4}, {"ing", -5.1}, {"▁to", -5.3}}
	n := len(pieces)
	tj := map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil,
		"added_tokens": []any{addedToken(0, "<pad>"), addedToken(1, "</s>"), addedToken(2, "<unk>"), addedToken(n, "<extra_id_0>")},
		"normalizer":   map[string]any{"type": "Precompiled", "precompiled_charsmap": "ALQCAACEAAAAAACAAQAAgMz8AgC4BQAAhyIAgA=="},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{map[string]any{"type": "WhitespaceSplit"},
			map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}}},
		"post_processor": map[string]any{"type": "TemplateProcessing", "single": []any{}, "pair": []any{}, "special_tokens": map[string]any{}},
		"decoder":        map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
		"model":          map[string]any{"type": "Unigram", "unk_id": 2, "vocab": pieces, "byte_fallback": false},
	}
	cfg := mustJSON(map[string]any{
		"added_tokens_decoder": map[string]any{"0": addedTokenConfig("<pad>"), "1": addedTokenConfig("</s>"),
			"2": addedTokenConfig("<unk>"), fmt.Sprint(n): addedTokenConfig("<extra_id_0>")},
		"additional_special_tokens": []string{"<extra_id_0>"}, "clean_up_tokenization_spaces": true,
		"eos_token": "</s>", "extra_ids": 1, "model_max_length": 512, "pad_token": "<pad>",
		"tokenizer_class": "T5Tokenizer", "unk_token": "<unk>",
	})
	return map[string][]byte{"tokenizer.json": mustJSON(tj), "tokenizer_config.json": cfg}, n
}

// bertFixture imitates bert-base-uncased: a WordPiece tokenizer.json and
// vocab.txt, cls/sep but no bos/eos, and (as old uploads do) no
// tokenizer_class, so that AutoTokenizer needs config.json.
func bertFixture() (map[string][]byte, int) {
	toks := []string{"[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "##s", "a", "to", "##ing"}
	var txt []byte
	for _, s := range toks {
		txt = append(txt, s+"\n"...)
	}
	tj := map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil,
		"added_tokens":  []any{addedToken(0, "[PAD]"), addedToken(2, "[UNK]"), addedToken(3, "[CLS]"), addedToken(4, "[SEP]"), addedToken(5, "[MASK]")},
		"normalizer":    map[string]any{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": nil, "lowercase": true},
		"pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{"type": "TemplateProcessing", "single": []any{}, "pair": []any{},
			"special_tokens": map[string]any{}},
		"decoder": map[string]any{"type": "WordPiece", "prefix": "##", "cleanup": true},
		"model": map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": orderedVocab(toks)},
	}
	cfg := mustJSON(map[string]any{"do_lower_case": true, "model_max_length": 512, "cls_token": "[CLS]",
		"sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]"})
	model := mustJSON(map[string]any{"architectures": []string{"BertForMaskedLM"}, "model_type": "bert", "vocab_size": len(toks)})
	return map[string][]byte{"tokenizer.json": mustJSON(tj), "tokenizer_config.json": cfg, "vocab.txt": txt, "config.json": model}, len(toks)
}

// llama2SlowFixture imitates a slow Llama 2 tokenizer saved by
// save_pretrained: tokenizer.model plus a tokenizer_config.json whose
// tokens are AddedToken objects.
func llama2SlowFixture(t testing.TB) map[string][]byte {
	model, err := os.ReadFile("testdata/spm_unigram.model")
	if err != nil {
		t.Fatal(err)
	}
	tok := func(s string) map[string]any {
		return map[string]any{"__type": "AddedToken", "content": s, "lstrip": false, "normalized": true, "rstrip": false, "single_word": false}
	}
	cfg := mustJSON(map[string]any{"add_bos_token": true, "add_eos_token": false, "bos_token": tok("<s>"),
		"clean_up_tokenization_spaces": false, "eos_token": tok("</s>"), "legacy": false, "model_max_length": 4096,
		"pad_token": nil, "sp_model_kwargs": map[string]any{}, "tokenizer_class": "LlamaTokenizer", "unk_token": tok("<unk>")})
	return map[string][]byte{"tokenizer.model": model, "tokenizer_config.json": cfg,
		"special_tokens_map.json": mustJSON(map[string]any{"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"})}
}

// gpt2SlowFixture imitates a slow GPT-2 tokenizer: vocab.json, merges.txt
// and special_tokens_map.json.
func gpt2SlowFixture() (map[string][]byte, int) {
	vocab := orderedVocab(append(byteLevelAlphabet(), "Ġt", "he", "<|endoftext|>"))
	return map[string][]byte{
		"vocab.json":              mustJSON(vocab),
		"merges.txt":              []byte("#version: 0.2\nĠ t\nh e\n"),
		"special_tokens_map.json": mustJSON(map[string]any{"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}),
		"tokenizer_config.json": mustJSON(map[string]any{"add_prefix_space": false, "bos_token": "<|endoftext|>",
			"eos_token": "<|endoftext|>", "model_max_length": 1024, "tokenizer_class": "GPT2Tokenizer", "unk_token": "<|endoftext|>"}),
	}, len(vocab)
}

func writeFixture(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

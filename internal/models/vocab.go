package models

import (
	"fmt"
	"strings"
)

// VocabSize returns the vocab_size to record in a NeMo 2 config for a
// checkpoint whose word embedding has rows rows, and a note for the user
// when those rows are not what NeMo 2 would compute from the tokenizer at
// tensor parallel size 1 ("" otherwise).
//
// The stored row count is always recorded. NeMo 2 sizes the embedding from
// the tokenizer only when vocab_size is unset, padding it to a multiple of
// make_vocab_size_divisible_by × tensor_model_parallel_size of the run that
// loads it (nemo.lightning.base.get_vocab_size): a finetune at another TP
// would compute another size than the stored one (320 tokens: 384 rows at
// TP 1, 512 at TP 2) and the load would fail on the embedding's global
// shape. NeMo 1 padded with the TP it trained at, so an embedding may hold
// more rows than TP 1 needs (Llama-2: 32000 -> 32768 at TP 8).
//
// It fails when the embedding cannot hold the tokenizer's ids.
func VocabSize(rows, tokenizerVocab, divisibleBy int) (vocabSize int, note string, err error) {
	if rows <= 0 {
		return 0, "", fmt.Errorf("word embedding has %d rows", rows)
	}
	if tokenizerVocab <= 0 {
		return rows, "", nil
	}
	if rows < tokenizerVocab {
		return 0, "", fmt.Errorf("the word embedding has %d rows but the tokenizer has %d tokens: the tokenizer does not belong to this checkpoint", rows, tokenizerVocab)
	}
	if p := PaddedVocab(tokenizerVocab, divisibleBy, 1); rows != p {
		note = fmt.Sprintf("the embedding holds %d rows for the tokenizer's %d tokens (NeMo 2 pads them to %d at TP 1 with make_vocab_size_divisible_by %d; NeMo 1 padded for the tensor parallelism it trained with); vocab_size=%d is recorded so NeMo 2 loads it at any TP",
			rows, tokenizerVocab, p, divisibleBy, rows)
	}
	return rows, note, nil
}

// SetVocab records on c the vocabulary size NeMo 2 gives a checkpoint
// whose word embedding has rows rows, and returns VocabSize's note. GPT
// configs take vocab_size. SSMConfig has none (MambaModel always pads the
// tokenizer's size), so its make_vocab_size_divisible_by is set to what
// pads the tokenizer to rows (SSMVocabDivisor) when the class default
// does not.
func SetVocab(c *Config, rows, tokenizerVocab int) (note string, err error) {
	divisibleBy, ok := toInt(valueOr(c, "make_vocab_size_divisible_by", 128))
	if !ok || divisibleBy <= 0 {
		return "", fmt.Errorf("%s: make_vocab_size_divisible_by is not a positive integer", c.Class.Name())
	}
	if !isSSM(c.Class) {
		size, note, err := VocabSize(rows, tokenizerVocab, divisibleBy)
		if err != nil {
			return "", err
		}
		return note, c.Set("vocab_size", size)
	}
	if tokenizerVocab <= 0 {
		return "", fmt.Errorf("%s sizes the embedding from the tokenizer, and the tokenizer's size is unknown", c.Class.Name())
	}
	if rows < tokenizerVocab {
		return "", fmt.Errorf("the word embedding has %d rows but the tokenizer has %d tokens: the tokenizer does not belong to this checkpoint", rows, tokenizerVocab)
	}
	d, _ := SSMVocabDivisor(rows, tokenizerVocab, divisibleBy)
	// The tensor parallel sizes a NeMo 2 run may load it at.
	var tps []string
	for tp := 1; tp <= 8; tp *= 2 {
		if PaddedVocab(tokenizerVocab, d, tp) == rows {
			tps = append(tps, fmt.Sprint(tp))
		}
	}
	if d != divisibleBy {
		note = fmt.Sprintf("the embedding holds %d rows for the tokenizer's %d tokens; MambaModel has no vocab_size and pads the tokenizer to a multiple of make_vocab_size_divisible_by × TP, so make_vocab_size_divisible_by=%d is recorded", rows, tokenizerVocab, d)
		if err := c.Set("make_vocab_size_divisible_by", d); err != nil {
			return "", err
		}
	}
	if len(tps) < 4 {
		if note == "" {
			note = fmt.Sprintf("MambaModel has no vocab_size: NeMo 2 pads the tokenizer's %d tokens to a multiple of make_vocab_size_divisible_by (%d) × TP", tokenizerVocab, d)
		}
		note += fmt.Sprintf("; it loads the stored %d rows at tensor parallel size %s only", rows, strings.Join(tps, ", "))
	}
	return note, nil
}

package models

import "fmt"

// VocabSize returns the vocab_size to record in a NeMo 2 config for a
// checkpoint whose word embedding has rows rows, and whether to record it
// at all.
//
// NeMo 2 at tensor parallel size 1 sizes the embedding as the tokenizer's
// vocabulary padded to a multiple of make_vocab_size_divisible_by
// (nemo.lightning.base.get_vocab_size), unless the config sets vocab_size,
// which it then uses as is. NeMo 1 padded to a multiple of
// make_vocab_size_divisible_by × tensor_model_parallel_size, so a model
// trained at TP > 1 may hold more rows (Llama-2: 32000 → 32768 at TP 8;
// Llama-3: 128256 → 129024 at TP 8) than NeMo 2 would compute, and the load
// would then see a shape mismatch. When rows differ from NeMo 2's own
// padding, the stored size must be recorded; when they agree, NeMo 2
// computes the same size and nothing is recorded, as NeMo's converter
// records nothing.
//
// It fails when the embedding cannot hold the tokenizer's ids.
func VocabSize(rows, tokenizerVocab, divisibleBy int) (vocabSize int, record bool, err error) {
	if rows <= 0 {
		return 0, false, fmt.Errorf("word embedding has %d rows", rows)
	}
	if tokenizerVocab <= 0 {
		return rows, true, nil
	}
	if rows < tokenizerVocab {
		return 0, false, fmt.Errorf("the word embedding has %d rows but the tokenizer has %d tokens: the tokenizer does not belong to this checkpoint", rows, tokenizerVocab)
	}
	if rows == PaddedVocab(tokenizerVocab, divisibleBy, 1) {
		return 0, false, nil
	}
	return rows, true, nil
}

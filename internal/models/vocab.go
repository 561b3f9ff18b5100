package models

import "fmt"

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

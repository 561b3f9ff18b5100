"""Test-only: a tiny real SentencePiece model, shared by the fixture writers
(nemo1fixture.py on torch 1.13, hfmodel.py on current transformers)."""
import io


def small_sentencepiece(vocab=100, llama=False):
    """A real SentencePiece model small enough for every fixture's vocabulary.
    llama=True trains it with Llama's normalizer settings (identity rule, no
    whitespace collapsing), under which transformers' LlamaTokenizer (a
    tokenizers.json model without SentencePiece's normalizer) encodes as
    SentencePiece does."""
    import random
    import sentencepiece as spm
    rng = random.Random(7)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 8))) for _ in range(400)]
    lines = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(800)]
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=out, vocab_size=vocab,
                                   model_type="unigram", minloglevel=2,
                                   **(dict(normalization_rule_name="identity", remove_extra_whitespaces=False)
                                      if llama else {}))
    return out.getvalue()

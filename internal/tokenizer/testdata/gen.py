"""Regenerates the seed files in this directory with real Python libraries.

Run from this directory with Debian's interpreter (python3-sentencepiece):
    /usr/bin/python3 gen.py

Writes small SentencePiece models trained by sentencepiece itself (the
"identity" normalizer keeps them small: the default nmt_nfkc rule adds a
~240 KB character map) and tiktoken vocabularies in NeMo's JSON layout and
in tiktoken's line layout, encoded with Python's base64 and json modules.
"""
import base64
import json
import random

import sentencepiece as spm


def corpus(n=1500, seed=0):
    """Deterministic text with enough distinct substrings for ~500 pieces."""
    rnd = random.Random(seed)
    syll = ["ka", "to", "ri", "na", "mo", "se", "lu", "pa", "de", "vi",
            "go", "zu", "he", "ba", "fi", "jo", "xe", "qu", "wa", "yi"]
    words = ["".join(rnd.choice(syll) for _ in range(rnd.randint(1, 4)))
             for _ in range(600)]
    extra = "The quick brown fox jumps over the lazy dog. Straße 東京 123 émigré"
    lines = []
    for i in range(n):
        lines.append(" ".join(rnd.choice(words) for _ in range(rnd.randint(3, 12))))
        if i % 50 == 0:
            lines.append(extra)
    return lines


def train(path, **kw):
    with open(path, "wb") as f:
        spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus()), model_writer=f,
                                       minloglevel=2, normalization_rule_name="identity", **kw)


# Unigram, custom pad id and user-defined / control symbols.
train("spm_unigram.model", model_type="unigram", vocab_size=400, pad_id=3,
      user_defined_symbols=["<sep>"], control_symbols=["<ctl>"])
# BPE with byte fallback, no dummy prefix, special ids moved and renamed.
train("spm_bpe_bytes.model", model_type="bpe", vocab_size=420, byte_fallback=True,
      unk_id=3, bos_id=0, eos_id=1, pad_id=2, bos_piece="<bos>", eos_piece="<eos>",
      add_dummy_prefix=False)

# Tiny models (a few hundred bytes) keep the fuzzer fast: it minimizes each
# new input in time quadratic in its size.
def train_tiny(path, **kw):
    with open(path, "wb") as f:
        spm.SentencePieceTrainer.train(sentence_iterator=iter(["abc ab ba cab", "bca a b c"] * 20),
                                       model_writer=f, minloglevel=2,
                                       normalization_rule_name="identity", **kw)


train_tiny("spm_tiny_char.model", model_type="char", vocab_size=8, pad_id=3, eos_id=-1)
train_tiny("spm_tiny_bpe.model", model_type="bpe", vocab_size=12)

# tiktoken: the 256 single bytes, then a few merged tokens.
merges = [b"he", b"ll", b"hello", b" world", "Straße".encode(), "東京".encode(), b"\xe6\x9d"]
tokens = [bytes([i]) for i in range(256)] + merges
with open("tiktoken_vocab.json", "w") as f:
    json.dump([{"rank": i, "token_bytes": base64.b64encode(t).decode("ascii"),
                "token_str": t.decode("utf-8", errors="replace")}
               for i, t in enumerate(tokens)], f)
with open("vocab.tiktoken", "w") as f:
    for i, t in enumerate(tokens):
        f.write("%s %d\n" % (base64.b64encode(t).decode("ascii"), i))
# Small ones for the fuzzer: the first bytes only (NeMo would want more,
# but the layout is the same).
with open("tiktoken_small.json", "w") as f:
    json.dump([{"rank": i, "token_bytes": base64.b64encode(bytes([i])).decode("ascii"),
                "token_str": chr(i)} for i in range(4)], f)
with open("small.tiktoken", "w") as f:
    for i, t in enumerate([b"a", b"b", b"ab", "Straße".encode()]):
        f.write("%s %d\n" % (base64.b64encode(t).decode("ascii"), i))

"""Regenerates the GPT-2 byte-level BPE seed files in this directory.

Run from this directory with the sid chroot's interpreter (python3-tokenizers):
    /var/cache/nemo-migrate/sid/.python3 gen_gpt2bpe.py

The merges are learned by the tokenizers library's own BPE trainer over the
byte-level alphabet, with GPT-2's pre-tokenizer, and written by its
model.save (vocab.json, merges.txt with the "#version: 0.2" header). As in
GPT-2's vocabulary, "<|endoftext|>" is then appended as the last id. The
output is deterministic.

- gpt2bpe_vocab.json, gpt2bpe_merges.txt: ~420 tokens learned from text
  with accents, CJK and emoji (multi-byte merges), vocab.json in raw UTF-8.
- gpt2bpe_tiny_vocab.json, gpt2bpe_tiny_merges.txt: the alphabet and a
  dozen merges, vocab.json with \\u escapes (json's ensure_ascii), for the
  fuzz target's seeds.
"""
import json
import os
import random
import tempfile

from tokenizers import Tokenizer, models, pre_tokenizers, trainers


def corpus(seed):
    rnd = random.Random(seed)
    syll = ["ka", "to", "ri", "na", "mo", "se", "lu", "pa", "de", "vi", "é", "ü", "東", "京", "😀"]
    words = ["".join(rnd.choice(syll) for _ in range(rnd.randint(1, 4))) for _ in range(300)]
    lines = [" ".join(rnd.choice(words) for _ in range(rnd.randint(3, 12))) for _ in range(600)]
    lines += ["The quick brown fox jumps over the lazy dog's 123 tails.", "it's we'll they've I'm"] * 20
    return lines


def write(prefix, vocab_size, seed, ensure_ascii):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(seed), trainer)
    with tempfile.TemporaryDirectory() as d:
        tok.model.save(d)
        with open(os.path.join(d, "vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        with open(os.path.join(d, "merges.txt"), encoding="utf-8") as f:
            merges = f.read()
    vocab["<|endoftext|>"] = len(vocab)
    ordered = dict(sorted(vocab.items(), key=lambda kv: kv[1]))
    with open(prefix + "_vocab.json", "w", encoding="utf-8") as f:
        json.dump(ordered, f, ensure_ascii=ensure_ascii, separators=(",", ":"))
    with open(prefix + "_merges.txt", "w", encoding="utf-8") as f:
        f.write(merges)


write("gpt2bpe", 420, 3, False)
write("gpt2bpe_tiny", 270, 4, True)

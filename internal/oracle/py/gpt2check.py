"""Test-only: checks GPT-2 BPE tokenizers against the vocab.json and
merges.txt they were made from.

Runs under current transformers and tokenizers (the sid chroot's python),
offline.

    python3 gpt2check.py VOCAB MERGES TARGET...

Each TARGET is a Hugging Face tokenizer directory (an export, or the
context/nemo_tokenizer directory of a conversion) or a NeMo 2 context/
directory, whose model.yaml tokenizer is built the way NeMo 2's
AutoTokenizer builds it: transformers' AutoTokenizer.from_pretrained of
context/<pretrained_model_name>, with its use_fast, then the other way.
Every target must encode each text to the ids of two references built from
VOCAB and MERGES alone:
  - byte-level BPE as GPT-2 defines it (bytes_to_unicode, GPT-2's
    pre-tokenizer regex, merges by rank; <|endoftext|> split out as a
    special token), written out here: what transformers 4's slow
    GPT2Tokenizer, which NeMo 1 used, computes;
  - the tokenizers library's BPE.from_file with the ByteLevel
    pre-tokenizer.
It must also have len(tokenizer) equal to the vocabulary, <|endoftext|> as
its bos, eos and unk token, and decode every text back. Prints "ok: ..."
or one PROBLEM line per finding (exit 1).
"""
import json
import os
import sys
import warnings

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import regex  # noqa: E402
import transformers  # noqa: E402
import yaml  # noqa: E402
from tokenizers import Tokenizer, pre_tokenizers  # noqa: E402
from tokenizers.models import BPE  # noqa: E402

EOT = "<|endoftext|>"
TEXTS = [
    "hello world",
    " leading space and trailing ",
    "it's we'll they've I'm you'd she'll",
    "kato rinaé 東京😀 paseé",
    "Straße émigré 東京 😀👍🏽 ü",
    "tabs\tand\nnew\r\nlines\n\n",
    "multiple   spaces    here",
    "<|endoftext|>between<|endoftext|> tokens <|endoftext|>",
    "123 4567 89,000.5",
    "",
    "   ",
    "Ġ Ċ Ā ĉ odd spellings",
    "The quick brown fox jumps over the lazy dog's 123 tails.",
]


def bytes_to_unicode():
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    out, n = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + n)
            n += 1
    return out


class Reference:
    """GPT-2's byte-level BPE from the two files, nothing else."""

    split = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

    def __init__(self, vocab, merges):
        with open(vocab, encoding="utf-8") as f:
            self.ids = json.load(f)
        with open(merges, encoding="utf-8") as f:
            lines = f.read().split("\n")[1:-1]
        self.rank = {tuple(l.split()): i for i, l in enumerate(lines)}
        self.byte = bytes_to_unicode()

    def word(self, w):
        parts = list(w)
        while len(parts) > 1:
            best = min(range(len(parts) - 1), key=lambda i: self.rank.get((parts[i], parts[i + 1]), float("inf")))
            pair = (parts[best], parts[best + 1])
            if pair not in self.rank:
                break
            out, i = [], 0
            while i < len(parts):
                if i < len(parts) - 1 and (parts[i], parts[i + 1]) == pair:
                    out.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    out.append(parts[i])
                    i += 1
            parts = out
        return parts

    def encode(self, text):
        ids = []
        for k, chunk in enumerate(text.split(EOT)):
            if k:
                ids.append(self.ids[EOT])
            for piece in self.split.findall(chunk):
                ids += [self.ids[t] for t in self.word("".join(self.byte[b] for b in piece.encode("utf-8")))]
        return ids


def load(target):
    """[(label, tokenizer)] for a tokenizer directory or a NeMo 2 context."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if os.path.exists(os.path.join(target, "model.yaml")):
            with open(os.path.join(target, "model.yaml")) as f:
                tok = yaml.safe_load(f)["tokenizer"]
            if tok["_target_"] != "nemo.collections.common.tokenizers.huggingface.auto_tokenizer.AutoTokenizer":
                raise SystemExit("PROBLEM model.yaml tokenizer is %s" % tok["_target_"])
            for key in ("vocab_file", "merges_file"):
                if tok.get(key) is not None:
                    raise SystemExit("PROBLEM model.yaml tokenizer has %s %r" % (key, tok[key]))
            d = os.path.join(target, tok["pretrained_model_name"])
            if not os.path.isdir(d):
                raise SystemExit("PROBLEM model.yaml pretrained_model_name %r is not a directory in %s" % (
                    tok["pretrained_model_name"], target))
            fast = tok.get("use_fast", True)
            for f in (fast, not fast):  # NeMo's AutoTokenizer retries the other way
                out.append(("%s use_fast=%s" % (target, f), transformers.AutoTokenizer.from_pretrained(
                    d, use_fast=f, local_files_only=True)))
        else:
            d = target
            for f in (True, False):
                out.append(("%s use_fast=%s" % (target, f), transformers.AutoTokenizer.from_pretrained(
                    target, use_fast=f, local_files_only=True)))
        # transformers 5's GPT2Tokenizer takes only the vocabulary and merges
        # from tokenizer.json and builds the rest itself; transformers 4's
        # GPT2TokenizerFast, TokenizersBackend and the tokenizers library
        # use the file as it is.
        tj = os.path.join(d, "tokenizer.json")
        if os.path.exists(tj):
            out.append(("%s as PreTrainedTokenizerFast" % tj, transformers.PreTrainedTokenizerFast(
                tokenizer_file=tj, bos_token=EOT, eos_token=EOT, unk_token=EOT)))
            out.append(("%s in tokenizers" % tj, Raw(Tokenizer.from_file(tj))))
    return out


class Raw:
    """A tokenizers.Tokenizer with the few methods of a transformers one
    the checks use."""

    bos_token_id = eos_token_id = unk_token_id = property(lambda self: self.t.token_to_id(EOT))

    def __init__(self, t):
        self.t = t

    def __len__(self):
        return self.t.get_vocab_size(with_added_tokens=True)

    def tokenize(self, text):
        return self.t.encode(text).tokens

    def convert_tokens_to_ids(self, tokens):
        return [self.t.token_to_id(x) for x in tokens]

    def __call__(self, text):
        return {"input_ids": self.t.encode(text).ids}

    def decode(self, ids, clean_up_tokenization_spaces=False):
        return self.t.decode(ids, skip_special_tokens=False)


def main():
    vocab, merges, targets = sys.argv[1], sys.argv[2], sys.argv[3:]
    ref = Reference(vocab, merges)
    lib = Tokenizer(BPE.from_file(vocab, merges))
    lib.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    lib.add_special_tokens([EOT])
    eot = ref.ids[EOT]
    problems, checked = [], 0
    for text in TEXTS:
        a, b = ref.encode(text), lib.encode(text).ids
        if a != b:
            problems.append("the references disagree on %r: %s vs %s" % (text, a, b))
    for target in targets:
        for label, tok in load(target):
            checked += 1
            if len(tok) != len(ref.ids):
                problems.append("%s: len(tokenizer) %d, vocabulary %d" % (label, len(tok), len(ref.ids)))
            for attr in ("bos_token_id", "eos_token_id", "unk_token_id"):
                if getattr(tok, attr) != eot:
                    problems.append("%s: %s %s, want %d" % (label, attr, getattr(tok, attr), eot))
            for text in TEXTS:
                want = ref.encode(text)
                # NeMo's AutoTokenizer.text_to_ids and the plain call.
                for how, got in (("tokenize", tok.convert_tokens_to_ids(tok.tokenize(text))),
                                 ("__call__", tok(text)["input_ids"])):
                    if got != want:
                        problems.append("%s: %s encodes %r as %s, want %s" % (label, how, text, got, want))
                back = tok.decode(want, clean_up_tokenization_spaces=False)
                if back != text:
                    problems.append("%s: decodes %r as %r" % (label, text, back))
    if problems:
        for p in problems:
            print("PROBLEM " + p)
        sys.exit(1)
    print("ok: %d tokenizers encode %d texts as GPT-2 BPE of %s does" % (checked, len(TEXTS), vocab))


if __name__ == "__main__":
    main()

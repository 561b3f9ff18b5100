"""Test-only: a tiktoken vocabulary in NeMo's JSON layout, and the check
that a Hugging Face tokenizer encodes as NeMo's TiktokenTokenizer does.

    python3 tiktokencheck.py make VOCAB_JSON [--merges N] [--pad-to N]
    python3 tiktokencheck.py check TOKDIR VOCAB_JSON --vocab-size V [--specials S]

make trains a small byte-level BPE (N merges, plain Python, deterministic)
over a mixed corpus (words, digits, punctuation, accents, CJK, emoji,
white space runs) and writes what NeMo's reload_mergeable_ranks reads: a
JSON list of {"rank", "token_bytes" (base64), "token_str"}, the first 256
the single bytes. --pad-to adds tokens no text produces (bytes 0xff 0xfe,
invalid UTF-8, then a counter) up to N, for NeMo's default sizes.

check runs under current transformers with Debian's python3-tiktoken: it
builds tiktoken.Encoding as NeMo's TiktokenTokenizer does (PATTERN_TIKTOKEN,
the file's first V - S ranks, no special tokens; ids shifted by S) and
compares every text's ids with AutoTokenizer.from_pretrained(TOKDIR), the
decoding back, and the special tokens' ids. Prints "ok: ..." or one
PROBLEM line per difference and exits 1.
"""
import argparse
import base64
import json
import random
import sys

# NeMo's PATTERN_TIKTOKEN (nemo/collections/common/tokenizers/tiktoken_tokenizer.py).
PATTERN = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|"
           r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}|"
           r" ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
NAMED = ["<unk>", "<s>", "</s>", "<mask>", "<pad>", "<cls>", "<sep>"]


def corpus(rng):
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, 9))) for _ in range(400)]
    words += ["Über", "naïve", "café", "Straße", "日本語", "中文字", "😀", "🚀🚀", "don't", "I'm", "HELLO", "CamelCase"]
    out = []
    for _ in range(3000):
        parts = [rng.choice(words) for _ in range(rng.randint(1, 8))]
        if rng.random() < 0.3:
            parts.append(str(rng.randint(0, 99999)))
        if rng.random() < 0.3:
            parts.append(rng.choice([".", ",", "!?", "...", "--", "/", "()", "\n", "\n\n", "  ", "\t"]))
        out.append(" ".join(parts))
    return out


def train(texts, n):
    """Byte-level BPE over whitespace-split words: each step merges the most
    frequent adjacent pair (ties by first seen), adding the token."""
    words = {}
    for t in texts:
        for w in t.split(" "):
            b = (" " + w).encode()
            words[b] = words.get(b, 0) + 1
    seqs = {w: [bytes([c]) for c in w] for w in words}
    vocab = [bytes([i]) for i in range(256)]
    known = set(vocab)
    for _ in range(n):
        counts = {}
        for w, seq in seqs.items():
            for a, b in zip(seq, seq[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + words[w]
        if not counts:
            break
        (a, b), _ = max(counts.items(), key=lambda kv: kv[1])
        tok = a + b
        if tok not in known:
            vocab.append(tok)
            known.add(tok)
        for w, seq in seqs.items():
            i, out = 0, []
            while i < len(seq):
                if i + 1 < len(seq) and seq[i] == a and seq[i + 1] == b:
                    out.append(tok)
                    i += 2
                else:
                    out.append(seq[i])
                    i += 1
            seqs[w] = out
    return vocab


def make(path, merges, pad_to=0):
    rng = random.Random(5)
    vocab = train(corpus(rng), merges)
    i = 0
    while len(vocab) < pad_to:
        vocab.append(b"\xff\xfe" + i.to_bytes(3, "big"))
        i += 1
    with open(path, "w") as f:
        json.dump([{"rank": i, "token_bytes": base64.b64encode(t).decode(), "token_str": t.decode("utf-8", "replace")}
                   for i, t in enumerate(vocab)], f)
    print("wrote %s (%d tokens)" % (path, len(vocab)))


def check(tokdir, vocab_json, vocab_size, specials):
    import tiktoken
    import transformers
    with open(vocab_json) as f:
        entries = json.load(f)
    inner = vocab_size - specials
    ranks = {base64.b64decode(e["token_bytes"]): e["rank"] for e in entries[:inner]}
    enc = tiktoken.Encoding(name="nemo", pat_str=PATTERN, mergeable_ranks=ranks, special_tokens={})
    tok = transformers.AutoTokenizer.from_pretrained(tokdir, local_files_only=True)
    rng = random.Random(9)
    texts = corpus(rng)[:400] + [
        "", " ", "  leading and trailing  ", "tabs\tand\nnewlines\r\n\r\nend", "numbers 1234567 and 3.14",
        "MixedCASE words AND ALLCAPS", "naïve café Über Straße", "日本語のテキスト中文", "emoji 😀🚀 done",
        "punctuation!!! ??? ... --- ///", "a\n\n\nb   \n c", "x" * 50, "it's we're they'll",
    ]
    problems = []
    for text in texts:
        want = [t + specials for t in enc.encode(text, allowed_special=set())]
        got = tok.encode(text, add_special_tokens=True)
        if got != want:
            problems.append("encodes %r as %s, NeMo's TiktokenTokenizer as %s" % (text, got[:40], want[:40]))
            continue
        if tok.decode(got) != text:
            problems.append("decodes %r as %r" % (text, tok.decode(got)))
    names = NAMED + ["<SPECIAL_%d>" % i for i in range(len(NAMED), specials)]
    for i, name in enumerate(names):
        if tok.convert_tokens_to_ids(name) != i:
            problems.append("special token %s has id %s, want %d" % (name, tok.convert_tokens_to_ids(name), i))
            break
    for attr, want in (("unk_token_id", 0), ("bos_token_id", 1), ("eos_token_id", 2), ("pad_token_id", 4)):
        if getattr(tok, attr) != want:
            problems.append("%s is %s, NeMo's is %d" % (attr, getattr(tok, attr), want))
    if len(tok) != vocab_size:
        problems.append("%d tokens, NeMo's vocab_size is %d" % (len(tok), vocab_size))
    for p in problems:
        print("PROBLEM " + p)
    if problems:
        sys.exit(1)
    print("ok: %s encodes %d texts as tiktoken does (%s, %d tokens)" % (tokdir, len(texts), type(tok).__name__, len(tok)))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("vocab_json")
    m.add_argument("--merges", type=int, default=600)
    m.add_argument("--pad-to", type=int, default=0)
    c = sub.add_parser("check")
    c.add_argument("tokdir")
    c.add_argument("vocab_json")
    c.add_argument("--vocab-size", type=int, required=True)
    c.add_argument("--specials", type=int, default=1000)
    args = ap.parse_args()
    if args.cmd == "make":
        make(args.vocab_json, args.merges, args.pad_to)
    else:
        check(args.tokdir, args.vocab_json, args.vocab_size, args.specials)


if __name__ == "__main__":
    main()

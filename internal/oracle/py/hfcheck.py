"""Test-only: checks an exported Hugging Face checkpoint against the original.

Runs under current transformers (the sid chroot's python), offline.

    python3 hfcheck.py OUT HFDIR [--also OUT2 ...] [--text "..."]

Fails (exit 1, one line per problem) unless OUT loads with
AutoModelForCausalLM and AutoTokenizer, its config names the same
architectures and model_type, every tensor of both state dicts is equal bit
for bit (same keys, shapes, dtypes), the logits on a fixed prompt are equal,
and the tokenizer encodes --text as SentencePiece (HFDIR/tokenizer.model)
does with bos prepended, with the same bos/eos ids. The text should hold no
special-token strings ("<s>"): transformers parses them, SentencePiece does not.
"""
import argparse
import os
import sys
import warnings

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402
import transformers  # noqa: E402


def bits(t):
    return t.view(torch.int16) if t.dtype in (torch.bfloat16, torch.float16) else t


def check(out, hfdir, want, text):
    """The problems of the export in out against the original want (loaded
    from hfdir), and a summary."""
    problems = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = transformers.AutoModelForCausalLM.from_pretrained(out, local_files_only=True, dtype="auto").eval()
    for attr in ("architectures", "model_type"):
        if getattr(got.config, attr) != getattr(want.config, attr):
            problems.append("config %s is %r, want %r" % (attr, getattr(got.config, attr), getattr(want.config, attr)))

    gsd, wsd = got.state_dict(), want.state_dict()
    for k in sorted(set(gsd) | set(wsd)):
        if k not in gsd:
            problems.append("tensor %s missing" % k)
        elif k not in wsd:
            problems.append("tensor %s unexpected" % k)
        elif gsd[k].dtype != wsd[k].dtype or gsd[k].shape != wsd[k].shape:
            problems.append("tensor %s is %s %s, want %s %s" % (k, gsd[k].dtype, list(gsd[k].shape),
                                                                wsd[k].dtype, list(wsd[k].shape)))
        elif not torch.equal(bits(gsd[k]), bits(wsd[k])):
            problems.append("tensor %s differs" % k)

    vocab = want.config.vocab_size
    ids = torch.tensor([[(7 * i + 3) % vocab for i in range(16)]])
    with torch.no_grad():
        gl, wl = got(ids).logits, want(ids).logits
    if gl.dtype != wl.dtype or gl.shape != wl.shape or not torch.equal(gl, wl):
        problems.append("logits differ: %s %s vs %s %s, max |diff| %s" % (
            gl.dtype, list(gl.shape), wl.dtype, list(wl.shape),
            (gl.float() - wl.float()).abs().max().item() if gl.shape == wl.shape else "n/a"))

    tok = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tok = transformers.AutoTokenizer.from_pretrained(out, local_files_only=True)
        if os.path.exists(os.path.join(hfdir, "tokenizer.json")):
            # The original is a Hugging Face tokenizer: compare with it.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = transformers.AutoTokenizer.from_pretrained(hfdir, local_files_only=True)
            sids, sname, sbos, seos = ref.encode(text), type(ref).__name__, ref.bos_token_id, ref.eos_token_id
        else:
            import sentencepiece as spm
            sp = spm.SentencePieceProcessor(model_file=os.path.join(hfdir, "tokenizer.model"))
            sids, sname, sbos, seos = [sp.bos_id()] + sp.encode(text), "SentencePiece + bos", sp.bos_id(), sp.eos_id()
        tids = tok.encode(text)
        if tids != sids:
            problems.append("tokenizer (%s) encodes %r as %s, %s as %s" % (type(tok).__name__, text, tids, sname, sids))
        if (tok.bos_token_id, tok.eos_token_id) != (sbos, seos):
            problems.append("tokenizer bos/eos ids %s/%s, %s's %s/%s" % (tok.bos_token_id, tok.eos_token_id, sname, sbos, seos))
    except Exception as e:  # noqa: BLE001  (any failure is the finding)
        problems.append("AutoTokenizer cannot load %s: %s: %s" % (out, type(e).__name__, str(e).splitlines()[0]))
    summary = "%s matches %s (%s, %d tensors, logits %s, tokenizer %s)" % (
        out, hfdir, type(got).__name__, len(gsd), list(gl.shape), type(tok).__name__)
    return problems, summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("hfdir")
    ap.add_argument("--also", nargs="*", default=[], metavar="OUT",
                    help="more exports of the same original, checked in the same run")
    ap.add_argument("--text", default="hello world abc xyz qq two  spaces and a trail ")
    args = ap.parse_args()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = transformers.AutoModelForCausalLM.from_pretrained(args.hfdir, local_files_only=True, dtype="auto").eval()
    failed = False
    for out in [args.out] + args.also:
        problems, summary = check(out, args.hfdir, want, args.text)
        for p in problems:
            print("PROBLEM %s: %s" % (out, p))
        if problems:
            failed = True
        else:
            print("ok: " + summary)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()

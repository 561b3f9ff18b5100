"""Regenerates examples/tiny-llama.nemo: a tiny Llama-shaped NeMo 1.0
checkpoint (2 layers, hidden 64, GQA 4 heads / 2 groups, SwiGLU, bf16,
torch_dist backend) with a real SentencePiece tokenizer, written with real
torch by the same fixture writer the tests use.

    /usr/bin/python3 examples/make_tiny_llama.py

Needs Debian's python3-torch, python3-zarr and python3-sentencepiece.
"""
import io
import os
import random
import subprocess
import sys
import tempfile

import sentencepiece as spm

here = os.path.dirname(os.path.abspath(__file__))
py = os.path.join(here, "..", "internal", "oracle", "py")

words = ("the model weights move from nemo one to nemo two without python torch or a gpu "
         "every tensor keeps its bytes while keys change from model to module and the "
         "checkpoint streams at disk speed with a small fixed memory budget").split()
rng = random.Random(1)
lines = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 15))) for _ in range(2000)]

with tempfile.TemporaryDirectory() as d:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model, vocab_size=320,
                                   model_type="bpe", byte_fallback=True, minloglevel=2)
    tok = os.path.join(d, "tokenizer.model")
    with open(tok, "wb") as f:
        f.write(model.getvalue())
    env = dict(os.environ, PYTHONPATH=py)
    subprocess.run([sys.executable, os.path.join(py, "nemo1fixture.py"), d, "--arch", "llama",
                    "--backend", "torch_dist", "--form", "nemo", "--tokenizer", tok], check=True, env=env)
    os.replace(os.path.join(d, "model.nemo"), os.path.join(here, "tiny-llama.nemo"))
print("wrote", os.path.join(here, "tiny-llama.nemo"))

"""Regenerates the seed pickles in this directory with real Python and torch.

Run from this directory with Debian's interpreter:
    PYTHONPATH=../../oracle/py /usr/bin/python3 gen.py
"""
import collections, io, os, pickle, shutil, tempfile, zipfile

import torchshim  # noqa: F401  (patches torch 1.13's DCP import)
import torch

value = {"a": [1, 2**40, -3, 2**70], "b": (None, True, 1.5), "c": b"\x00\x01",
         "d": "\u00fc", "e": collections.OrderedDict(x=1), "f": {1, 2}}
for p in range(pickle.HIGHEST_PROTOCOL + 1):
    with open("proto%d.pkl" % p, "wb") as f:
        pickle.dump(value, f, protocol=p)

# data.pkl of a torch.save archive holding a bf16 tensor and a state dict.
buf = io.BytesIO()
torch.save({"w": torch.arange(6, dtype=torch.bfloat16).reshape(2, 3), "step": 7}, buf)
with zipfile.ZipFile(buf) as z:
    name = [n for n in z.namelist() if n.endswith("data.pkl")][0]
    open("torch_data.pkl", "wb").write(z.read(name))

# A DCP .metadata as torch 1.13 writes it.
d = tempfile.mkdtemp()
try:
    sd = {"w": torch.zeros(4, 3, dtype=torch.bfloat16), "obj/shard_0_1": io.BytesIO(b"x")}
    torchshim.dcp.save_state_dict(sd, torchshim.dcp.FileSystemWriter(d), no_dist=True)
    shutil.copy(os.path.join(d, ".metadata"), "dcp_metadata_torch113.pkl")
finally:
    shutil.rmtree(d)

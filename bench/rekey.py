"""The Python baseline: what NeMo's converter does to the weights, in torch.

Loads every tensor and object of a NeMo 1.0 distributed checkpoint with
torch's DCP reader into preallocated tensors (the whole model in memory),
renames "model." to "module.", and saves a new DCP checkpoint. NeMo's
converter additionally builds the model itself, so it needs about twice
this memory. Run with Debian's torch:

    PYTHONPATH=internal/oracle/py /usr/bin/python3 bench/rekey.py WEIGHTS_DIR OUT_DIR
"""
import io
import sys

import torchshim
import torch

src, out = sys.argv[1], sys.argv[2]
md = torchshim.load_metadata(src + "/.metadata")
sd = {}
for fqn, m in md.state_dict_metadata.items():
    if type(m).__name__ == "BytesStorageMetadata":
        sd[fqn] = io.BytesIO()
    else:
        sd[fqn] = torch.empty(tuple(m.size), dtype=m.properties.dtype)
torchshim.dcp.load_state_dict(sd, torchshim.dcp.FileSystemReader(src), no_dist=True)
renamed = {k.replace("model.", "module.", 1): v for k, v in sd.items()}
for k, v in list(renamed.items()):
    if isinstance(v, list):  # objects load as the saved list
        buf = io.BytesIO()
        torch.save(v, buf)
        buf.seek(0)
        renamed[k] = buf
torchshim.dcp.save_state_dict(renamed, torchshim.dcp.FileSystemWriter(out), no_dist=True)

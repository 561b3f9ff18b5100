"""Regenerates the seed archives in this directory with real torch.

They seed FuzzOpen and are read by TestSeeds, which compares what Go reads
with seeds.json, written here from torch's own view of each file.

Run from this directory with Debian's interpreter (torch 1.13):
    /usr/bin/python3 gen.py
"""
import collections
import io
import json
import os

import torch

from torchdesc import desc, rand_tensor

gen = torch.Generator().manual_seed(1234)
seeds = {}


def save(name, obj, to_path=False):
    if to_path:
        torch.save(obj, name)  # archive folder named after the file stem
    else:
        buf = io.BytesIO()
        torch.save(obj, buf)
        with open(name, "wb") as f:
            f.write(buf.getvalue())
    seeds[name] = desc(torch.load(name))


# One bf16 tensor, as every tensor item of a distributed checkpoint.
save("tensor_bf16.pt", torch.arange(6, dtype=torch.bfloat16).reshape(2, 3))

# A state dict: several dtypes, views with strides and offsets, a Parameter.
base = rand_tensor((4, 5), torch.float32, gen)
sd = collections.OrderedDict()
sd["w"] = rand_tensor((2, 3), torch.float16, gen)
sd["wt"] = base.t()
sd["slice"] = base[1:, 2:4]
sd["step"] = torch.tensor(7)
sd["mask"] = rand_tensor((5,), torch.bool, gen)
sd["c"] = rand_tensor((2,), torch.complex64, gen)
sd["p"] = torch.nn.Parameter(rand_tensor((3,), torch.float32, gen))
sd["opt"] = {"big": 2**40, "name": "adam", "betas": (0.9, 0.999), "none": None}
save("state_dict.pt", sd)

# Plain values saved to a path: the archive folder is "common".
save("common.pt", {"content_metadata": {}, "iteration": 7, "flags": [True, False],
                   "blob": b"\x00\xff"}, to_path=True)

# Transformer Engine style extra state: a list holding an io.BytesIO.
inner = io.BytesIO()
torch.save(None, inner)
save("extra_state.pt", [io.BytesIO(inner.getvalue())])

# Empty and 0-d tensors, and an expanded view with stride 0.
save("empty.pt", [torch.zeros(0, 3), torch.zeros(2, 0, 4, dtype=torch.bfloat16),
                  torch.tensor(3, dtype=torch.int16), torch.arange(3).expand(2, 3)])

# Twelve storages: torch 1.13 writes their records in string order (0, 1, 10, 11, 2, ...).
save("many.pt", [torch.full((2,), i, dtype=torch.int8) for i in range(12)])

with open("seeds.json", "w") as f:
    json.dump(seeds, f, indent=1, sort_keys=True)
    f.write("\n")

# Plain pickles (pickle.dumps with torch imported), as TransformerEngine >= 2.0
# stores extra state: they seed FuzzLoadPlain.
import pickle as _pickle
_g = torch.Generator().manual_seed(5)
_state = {"scale_fwd": torch.rand(3, generator=_g), "amax_history_fwd": torch.rand(4, 3, generator=_g).t(),
          "extra_fp8_variables": {"num_gemms": 1, "fp8_max_fwd": 448.0}}
open("plain_fp8.pkl", "wb").write(_pickle.dumps(_state))
open("plain_none.pkl", "wb").write(_pickle.dumps(None))

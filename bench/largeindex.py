"""Writes a distributed checkpoint directory whose .metadata indexes
TENSORS x CHUNKS chunks, pickled by real torch the way DCP saves it (torch
memoizes every string and object), plus empty sparse .distcp files so that
readers that check the files find them.

    largeindex.py DIR [TENSORS CHUNKS]    (default 5000 40: 200,000 chunks)

200,000 chunks is the size class of Nemotron-4 340B at TP=8 with optimizer
state. Runs under Debian's torch 1.13 (through torchshim) or torch >= 2.3.
"""
import json
import os
import pickle
import sys

import torchshim  # noqa: F401  (aliases torch 1.13's DCP classes)
import torch

try:
    from torch.distributed.checkpoint.metadata import (
        ChunkStorageMetadata, Metadata, MetadataIndex, TensorProperties, TensorStorageMetadata)
    from torch.distributed.checkpoint.filesystem import _StorageInfo
except ImportError:
    from torch.distributed._shard.checkpoint.metadata import (
        ChunkStorageMetadata, Metadata, MetadataIndex, TensorStorageMetadata)
    from torch.distributed._shard.sharded_tensor.metadata import TensorProperties
    from torch.distributed._shard.checkpoint.filesystem import _StorageInfo

out = sys.argv[1]
tensors = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
chunks = int(sys.argv[3]) if len(sys.argv) > 3 else 40
rows, cols, item = 64, 32, 2  # one bf16 chunk: 4 KiB

sdm, storage = {}, {}
for t in range(tensors):
    fqn = f"optimizer.state.exp_avg.decoder.layers.{t}.mlp.linear_fc1.weight"
    metas = []
    for c in range(chunks):
        off = torch.Size([c * rows, 0])
        metas.append(ChunkStorageMetadata(offsets=off, sizes=torch.Size([rows, cols])))
        storage[MetadataIndex(fqn, off, c)] = _StorageInfo(f"__{c}_0.distcp", t * rows * cols * item, rows * cols * item)
    sdm[fqn] = TensorStorageMetadata(properties=TensorProperties(dtype=torch.bfloat16),
                                     size=torch.Size([chunks * rows, cols]), chunks=metas)
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, ".metadata"), "wb") as f:
    pickle.dump(Metadata(state_dict_metadata=sdm, planner_data=None, storage_data=storage), f)
with open(os.path.join(out, "metadata.json"), "w") as f:
    json.dump({"sharded_backend": "torch_dist", "sharded_backend_version": 1,
               "common_backend": "torch", "common_backend_version": 1}, f)
for c in range(chunks):
    with open(os.path.join(out, f"__{c}_0.distcp"), "wb") as f:
        f.truncate(tensors * rows * cols * item)

"""Writes DCP .metadata files with torch 1.13's real classes.

One as save_state_dict writes it, one with many chunks per tensor (at every
pickle protocol), the same under torch >= 2.3 module paths, and Megatron-Core's
MCoreMetadata with its extra attributes; prints torch's view of them as JSON.
The Go tests run it; it also regenerates the fuzz seeds in this directory:

    PYTHONPATH=../../oracle/py /usr/bin/python3 write_metadata.py .
"""
import io, json, os, pickle, sys, types
import torchshim
import torch
from torch.distributed._shard.checkpoint import metadata as M
from torch.distributed._shard.checkpoint.filesystem import _StorageInfo
from torch.distributed._shard.sharded_tensor.metadata import TensorProperties
d = sys.argv[1]

# 1. What save_state_dict writes.
ck = os.path.join(d, "saved")
sd = {
    "w": torch.arange(12, dtype=torch.bfloat16).reshape(4, 3),
    "h": torch.zeros(5, dtype=torch.float16),
    "f": torch.ones(2, 2, dtype=torch.float32),
    "i": torch.arange(3, dtype=torch.int64),
    "obj/shard_0_1": io.BytesIO(b"payload"),
}
torchshim.dcp.save_state_dict(sd, torchshim.dcp.FileSystemWriter(ck), no_dist=True)
os.rename(os.path.join(ck, ".metadata"), os.path.join(d, "saved.metadata"))

# 2. Many chunks, big offsets, several files: the shape of a layer-stacked
# Megatron tensor (L, 2*F, H) saved as two chunks per layer.
L, F, H = 6, 8, 4
chunks = []
storage = {}
pos = 0
for l in range(L):
    for half in range(2):
        off = torch.Size([l, half * F, 0])
        chunks.append(M.ChunkStorageMetadata(offsets=off, sizes=torch.Size([1, F, H])))
        storage[M.MetadataIndex("decoder.fc1", off, len(chunks) - 1)] = _StorageInfo("__%d_%d.distcp" % (l % 2, half), 2**33 + pos, 1000 + l)
        pos += 5000
sdm = {
    "decoder.fc1": M.TensorStorageMetadata(
        properties=TensorProperties(dtype=torch.bfloat16),
        size=torch.Size([L, 2 * F, H]), chunks=chunks),
    "te/shard_0_1": M.BytesStorageMetadata(),
}
storage[M.MetadataIndex("te/shard_0_1")] = _StorageInfo("__0_0.distcp", 0, 77)
big = M.Metadata(state_dict_metadata=sdm, planner_data=None, storage_data=storage)
for p in range(2, pickle.HIGHEST_PROTOCOL + 1):
    with open(os.path.join(d, "big_p%d.metadata" % p), "wb") as f:
        pickle.dump(big, f, protocol=p)

# 3. The same under the torch >= 2.3 module paths.
for cls in (M.Metadata, M.TensorStorageMetadata, M.BytesStorageMetadata, M.ChunkStorageMetadata,
            M.MetadataIndex, TensorProperties):
    cls.__module__ = "torch.distributed.checkpoint.metadata"
_StorageInfo.__module__ = "torch.distributed.checkpoint.filesystem"
big.version = "1.0.0"
with open(os.path.join(d, "modern.metadata"), "wb") as f:
    pickle.dump(big, f)

# 4. Megatron-Core 0.15's MCoreMetadata subclass and 0.8-0.14's extras.
parts = "megatron.core.dist_checkpointing.strategies.torch".split(".")
for i in range(1, len(parts) + 1):
    sys.modules[".".join(parts[:i])] = types.ModuleType(".".join(parts[:i]))
mod = sys.modules["megatron.core.dist_checkpointing.strategies.torch"]
class MCoreMetadata(M.Metadata):
    pass
class MCoreSavePlan:
    pass
MCoreMetadata.__module__ = MCoreSavePlan.__module__ = mod.__name__
mod.MCoreMetadata, mod.MCoreSavePlan = MCoreMetadata, MCoreSavePlan
mc = MCoreMetadata(state_dict_metadata=sdm, planner_data=None, storage_data=storage)
mc.mcore_data = {"decoder.fc1": {}, "opt.exp_avg": {"nd_reformulated_orig_global_shape": (6, 16, 4)}}
plan = MCoreSavePlan()
plan.items = [1, 2]
plan.mcore_data = {}
mc.all_local_plans = [plan]
with open(os.path.join(d, "mcore.metadata"), "wb") as f:
    pickle.dump(mc, f)

print(json.dumps({
    "saved": torchshim.describe_metadata(torchshim.load_metadata(os.path.join(d, "saved.metadata"))),
    "big": torchshim.describe_metadata(big),
}))

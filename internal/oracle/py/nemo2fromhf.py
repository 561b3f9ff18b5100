"""Test-only: writes a NeMo 2 checkpoint of a HF model as NeMo 2's importer
(llm.import_ckpt -> MegatronStrategy -> Megatron-Core torch_dist) lays it out.

Runs under current torch (the sid chroot's python).

    python3 nemo2fromhf.py HFDIR OUT --context CTXDIR [--whole] [--divisible-by N]

OUT/weights/ is written by torch.distributed.checkpoint.save itself: keys
"module." + Megatron's sharded keys (hfmap.py), global layer-stacked shapes.
Megatron hands DCP one torch ShardedTensor per key whose local shards are
its ShardedTensors: one chunk per layer (per layer and expert for MoE, and
the gate and up halves of SwiGLU fc1 separately). A ShardedTensor needs a
process group, so a one-rank gloo group is started on a file store; --whole
saves plain tensors instead (one chunk each, no process group). Extra states
are omitted. The vocabulary is padded to a multiple of --divisible-by (128,
Megatron's default and what NeMo 2's Mixtral importer uses) with random rows.
OUT/context/ is a copy of CTXDIR/context (a nemo-migrate convert output's).
"""
import argparse
import itertools
import json
import os
import shutil
import tempfile
import warnings

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp

import hfmap


def sharded(value, chunk):
    """A torch ShardedTensor of value whose local shards are its chunks."""
    from torch.distributed._shard.metadata import ShardMetadata
    from torch.distributed._shard.sharded_tensor import Shard, ShardedTensor
    from torch.distributed._shard.sharded_tensor.metadata import ShardedTensorMetadata, TensorProperties
    shards, metas = [], []
    for idx in itertools.product(*(range(s // c) for s, c in zip(value.shape, chunk))):
        off = [i * c for i, c in zip(idx, chunk)]
        view = value[tuple(slice(o, o + c) for o, c in zip(off, chunk))].contiguous()
        md = ShardMetadata(shard_offsets=off, shard_sizes=list(chunk), placement="rank:0/cpu")
        shards.append(Shard(view, md))
        metas.append(md)
    gmd = ShardedTensorMetadata(shards_metadata=metas, size=value.shape,
                                tensor_properties=TensorProperties(dtype=value.dtype))
    return ShardedTensor._init_from_local_shards_and_global_metadata(shards, gmd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hfdir")
    ap.add_argument("out")
    ap.add_argument("--context", required=True, help="a NeMo 2 checkpoint directory whose context/ to copy")
    ap.add_argument("--whole", action="store_true", help="one chunk per tensor, no process group")
    ap.add_argument("--divisible-by", type=int, default=128)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--nemo1-norms", action="store_true",
                    help="a Gemma's norms as NeMo 1 stored them (1 + w), for a context that says so; "
                         "by default as NeMo 2's importer stores them (w)")
    args = ap.parse_args()

    _, tensors, _ = hfmap.to_megatron(args.hfdir, tp=1, seed=args.seed, divisible_by=args.divisible_by,
                                      zero_centered=not args.nemo1_norms)
    weights = os.path.join(args.out, "weights")
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(weights)
    store = None
    if not args.whole:
        store = tempfile.NamedTemporaryFile(prefix="nemo2fromhf-store-", dir=os.environ.get("TMPDIR", "/tmp"), delete=False)
        store.close()
        os.remove(store.name)
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # no hostname lookup warning
        dist.init_process_group("gloo", init_method="file://" + store.name, rank=0, world_size=1)
    sd = {}
    for key, value, chunk in tensors:
        sd["module." + key] = value if args.whole else sharded(value, chunk)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*single process")
        warnings.filterwarnings("ignore", category=FutureWarning)
        kwargs = {"storage_writer": dcp.FileSystemWriter(weights)}
        if args.whole:
            kwargs["no_dist"] = True
        dcp.save(sd, **kwargs)
    if not args.whole:
        dist.destroy_process_group()
        if os.path.exists(store.name):
            os.remove(store.name)
    torch.save({"content_metadata": {}, "iteration": 0}, os.path.join(weights, "common.pt"))
    with open(os.path.join(weights, "metadata.json"), "w") as f:
        json.dump({"sharded_backend": "torch_dist", "sharded_backend_version": 1,
                   "common_backend": "torch", "common_backend_version": 1}, f)
    shutil.copytree(os.path.join(args.context, "context"), os.path.join(args.out, "context"))
    print("wrote %s (%d tensors)" % (args.out, len(sd)))


if __name__ == "__main__":
    main()

"""Test-only helpers that make Debian's torch 1.13 usable as an oracle.

torch 1.13 keeps distributed checkpointing at torch.distributed._shard.checkpoint
and fails to import it on Python 3.11 (a dataclass default that 3.11 calls
mutable). This module patches that, and aliases the torch >= 2.3 module paths
(torch.distributed.checkpoint.metadata, .filesystem) onto the 1.13 modules so
that a .metadata pickle written in the modern form unpickles here too.

Import it before anything else from torch.distributed:

    import torchshim
    dcp = torchshim.dcp   # save_state_dict, load_state_dict, FileSystemWriter, ...
"""
import dataclasses
import sys
import types

_orig_dataclass = dataclasses.dataclass


def _patched_dataclass(*args, **kwargs):
    def wrap(cls):
        out = _orig_dataclass(cls, **kwargs)
        if cls.__name__ == "TensorProperties" and cls.__module__.startswith("torch.distributed"):
            # 3.11 refuses unhashable instances as field defaults.
            out.__hash__ = object.__hash__
        return out
    if args and isinstance(args[0], type):
        return wrap(args[0])
    return wrap


dataclasses.dataclass = _patched_dataclass
try:
    import torch
    import torch.distributed._shard.checkpoint as dcp
    import torch.distributed._shard.checkpoint.metadata as _meta
    import torch.distributed._shard.checkpoint.filesystem as _fs
    import torch.distributed._shard.sharded_tensor.metadata as _stmeta
finally:
    dataclasses.dataclass = _orig_dataclass

if "torch.distributed.checkpoint" not in sys.modules:
    _m = types.ModuleType("torch.distributed.checkpoint.metadata")
    for _name in dir(_meta):
        if not _name.startswith("__"):
            setattr(_m, _name, getattr(_meta, _name))
    _m.TensorProperties = _stmeta.TensorProperties
    _m._MEM_FORMAT_ENCODING = _stmeta.MEM_FORMAT_ENCODING
    _m.MEM_FORMAT_ENCODING = _stmeta.MEM_FORMAT_ENCODING
    sys.modules["torch.distributed.checkpoint"] = dcp
    sys.modules["torch.distributed.checkpoint.metadata"] = _m
    sys.modules["torch.distributed.checkpoint.filesystem"] = _fs


def load_metadata(path):
    """Unpickles a DCP .metadata file, modern or 1.13 form."""
    import pickle
    with open(path, "rb") as f:
        return pickle.load(f)


def describe_metadata(md):
    """A JSON-able description of a DCP Metadata, for comparing with Go."""
    entries = []
    for fqn, v in md.state_dict_metadata.items():
        if type(v).__name__ == "BytesStorageMetadata":
            entries.append({"fqn": fqn, "bytes": True})
            continue
        p = v.properties
        entries.append({
            "fqn": fqn,
            "dtype": str(p.dtype).replace("torch.", ""),
            "layout": str(p.layout),
            "requires_grad": p.requires_grad,
            "pin_memory": p.pin_memory,
            "memory_format": str(p.memory_format),
            "size": list(v.size),
            "chunks": [[list(c.offsets), list(c.sizes)] for c in v.chunks],
        })
    storage = []
    for k, s in md.storage_data.items():
        storage.append({
            "fqn": k.fqn,
            "offset": None if k.offset is None else list(k.offset),
            "index": k.index,
            "path": s.relative_path,
            "off": s.offset,
            "len": s.length,
        })
    out = {"entries": entries, "storage": storage}
    if getattr(md, "version", None) is not None:
        out["version"] = md.version
    if getattr(md, "mcore_data", None) is not None:
        out["mcore_data"] = md.mcore_data
    return out

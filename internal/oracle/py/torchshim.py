"""Test-only helpers that give one distributed-checkpoint API over the torch
versions the interop tests run: Debian 12's torch 1.13 and current torch 2.x
(the trixie and sid chroots of .ci/chroot).

On torch >= 2 distributed checkpointing is torch.distributed.checkpoint and
is used as it is. torch 1.13 keeps it at torch.distributed._shard.checkpoint
and fails to import it on Python 3.11 (a dataclass default that 3.11 calls
mutable). On 1.13 only, this module patches that, and aliases the torch >= 2.3
module paths (torch.distributed.checkpoint.metadata, .filesystem) onto the
1.13 modules so that a .metadata pickle written in the modern form unpickles
there too.

Import it before anything else from torch.distributed:

    import torchshim
    torchshim.load_dcp_into(state_dict, directory)  # any version
    dcp = torchshim.dcp   # the version's module: FileSystemReader, ...
"""
import dataclasses
import sys
import types
import warnings

import torch

TORCH_MAJOR = int(torch.__version__.split(".")[0])
TORCH2 = TORCH_MAJOR >= 2

if TORCH2:
    import torch.distributed.checkpoint as dcp
    import torch.distributed.checkpoint.metadata  # noqa: F401  (the classes .metadata names)
    import torch.distributed.checkpoint.filesystem  # noqa: F401
else:
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


def load_dcp_into(state_dict, directory):
    """Loads a DCP checkpoint into state_dict in place, in this process,
    without a process group: tensors are read into the tensors given (their
    shape is the global shape), bytes items replace their values with
    torch.load of the stored bytes.

    torch 1.13 has load_state_dict(sd, reader, no_dist=True) only; torch 2.x
    deprecates that for load(sd, storage_reader=...), which 2.6 runs without
    a process group when none is initialized and 2.14 also takes no_dist=True
    for. Both warn that they assume a single process: expected here, so that
    warning is silenced."""
    reader = dcp.FileSystemReader(directory)
    if not TORCH2:
        dcp.load_state_dict(state_dict, reader, no_dist=True)
        return
    import inspect
    kwargs = {"storage_reader": reader}
    if "no_dist" in inspect.signature(dcp.load).parameters:
        kwargs["no_dist"] = True
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*assuming the intent is to load in a single process")
        dcp.load(state_dict, **kwargs)


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

"""Describes a torch.load result as plain JSON, for comparison with Go.

The Go tests build the same description from what internal/torchsave
reads (see treeJSON in helpers_test.go); both sides must agree exactly.
Tensors are described by dtype, shape, stride, storage offset, flags and
the hex of their elements in row-major order; floats by their IEEE bits.
"""
import collections
import io
import struct

import torch


def tensor_bytes(t):
    c = t.detach().contiguous().reshape(-1)
    if c.numel() == 0:
        return b""
    return c.view(torch.uint8).numpy().tobytes()


def desc(v):
    if isinstance(v, torch.Tensor):
        return {"tensor": {
            "dtype": str(v.dtype).replace("torch.", ""),
            "shape": list(v.shape),
            "stride": list(v.stride()),
            "offset": v.storage_offset(),
            "requires_grad": v.requires_grad,
            "param": isinstance(v, torch.nn.Parameter),
            "hex": tensor_bytes(v).hex(),
        }}
    if isinstance(v, collections.OrderedDict):
        return {"odict": [[desc(k), desc(x)] for k, x in v.items()]}
    if isinstance(v, dict):
        return {"dict": [[desc(k), desc(x)] for k, x in v.items()]}
    if isinstance(v, list):
        return {"list": [desc(x) for x in v]}
    if isinstance(v, tuple):
        return {"tuple": [desc(x) for x in v]}
    if isinstance(v, bool):
        return {"bool": v}
    if isinstance(v, int):
        return {"int": str(v)}
    if isinstance(v, float):
        return {"float": struct.pack(">d", v).hex()}
    if isinstance(v, str):
        return {"str": v}
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    if v is None:
        return {"none": True}
    if isinstance(v, io.BytesIO):
        return {"bytesio": v.getvalue().hex()}
    raise TypeError("cannot describe %r" % type(v))


def rand_tensor(shape, dtype, gen):
    """Random elements of any dtype: random bytes, except 0/1 for bool."""
    n = 1
    for d in shape:
        n *= d
    if dtype == torch.bool:
        return torch.randint(0, 2, (n,), generator=gen).bool().reshape(shape)
    size = torch.empty((), dtype=dtype).element_size()
    raw = torch.randint(0, 256, (n * size,), dtype=torch.uint8, generator=gen)
    return raw.view(dtype).reshape(shape)

"""Regenerates the seed .zarray files (and one stored chunk of each) in this
directory with real zarr, numcodecs, numpy and torch.

Run from this directory with Debian's interpreter:
    /usr/bin/python3 gen.py
"""
import json, os, shutil, tempfile

import numcodecs
import numpy as np
import torch
import zarr

rng = np.random.default_rng(7)


def save(name, shape, chunks, dtype, data=None, patch_dtype=None, **kw):
    kw.setdefault("compressor", None)
    kw.setdefault("fill_value", None)
    d = tempfile.mkdtemp()
    try:
        a = zarr.create(shape, chunks=chunks, dtype=dtype, store=d, **kw)
        if data is None:
            data = (rng.standard_normal(shape) * 100).astype(dtype)
        a[...] = data
        meta = open(os.path.join(d, ".zarray")).read()
        if patch_dtype:  # what Megatron-Core does for bfloat16
            meta = meta.replace('"%s"' % dtype, '"%s"' % patch_dtype)
        open(name + ".zarray", "w").write(meta)
        key = a._chunk_key((0,) * len(shape)) if shape else "0"
        shutil.copy(os.path.join(d, key), name + ".chunk0")
    finally:
        shutil.rmtree(d)


# Megatron-Core's form: compressor=None, fill_value=None, C order.
save("f4_edge", (5, 7), (2, 3), "<f4")
save("f2", (4, 6), (2, 6), "<f2")
save("i8_3d", (3, 4, 5), (2, 3, 2), "<i8")
save("b1_0d", (), (), "|b1", data=np.array(True))
save("u1", (9,), (4,), "|u1")
t = torch.randn(6, 4, dtype=torch.float32).to(torch.bfloat16)
save("bf16", (6, 4), (3, 4), "|V2",
     data=t.view(torch.int16).numpy().view("|V2"), patch_dtype="bfloat16")
save("v2", (6,), (4,), "|V2", data=np.arange(6, dtype="<u2").view("|V2"))
# Other writers' options this package reads.
save("zlib_i4", (5, 3), (2, 2), "<i4", compressor=numcodecs.Zlib(level=1))
save("gzip_f8", (5,), (2,), "<f8", compressor=numcodecs.GZip(level=1), fill_value=float("nan"))
save("zstd_i2", (4, 4), (3, 3), "<i2", compressor=numcodecs.Zstd(level=1), fill_value=-7)
save("slash_c8", (3, 2, 2), (2, 1, 2), "<c8", dimension_separator="/", fill_value=1 + 2j)
# zarr's default compressor, which this package rejects.
save("blosc_u2", (5, 3), (2, 2), "<u2", compressor=numcodecs.Blosc())

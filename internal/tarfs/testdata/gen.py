"""Writes the seed tars in this directory with Python's tarfile, the module
NeMo uses to write .nemo files (tarfile.open(path, "w:"), add(dir, arcname=".")).

    /usr/bin/python3 gen.py
"""
import io, os, tarfile, tempfile

def nemo_like(path, fmt):
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "model_weights", "layer.weight"))
        open(os.path.join(d, "model_config.yaml"), "w").write("mcore_gpt: true\n")
        open(os.path.join(d, "model_weights", "metadata.json"), "w").write('{"sharded_backend": "zarr"}')
        open(os.path.join(d, "model_weights", "layer.weight", ".zarray"), "w").write("{}")
        open(os.path.join(d, "model_weights", "layer.weight", "0.0"), "wb").write(bytes(range(256)) * 3)
        open(os.path.join(d, "a" * 120 + "_tokenizer.model"), "wb").write(b"\x0a\x03abc")
        with tarfile.open(path, "w:", format=fmt) as t:
            t.add(d, arcname=".")

nemo_like("nemo_pax.tar", tarfile.PAX_FORMAT)
nemo_like("nemo_gnu.tar", tarfile.GNU_FORMAT)

def hostile(path, member, data=b"x"):
    with tarfile.open(path, "w:") as t:
        t.addfile(member, io.BytesIO(data) if member.isreg() else None)

m = tarfile.TarInfo("../escape"); m.size = 1
hostile("dotdot.tar", m)
m = tarfile.TarInfo("link"); m.type = tarfile.SYMTYPE; m.linkname = "/etc/passwd"
hostile("symlink.tar", m)

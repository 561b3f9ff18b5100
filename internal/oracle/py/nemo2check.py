"""Test-only: checks a converted NeMo 2 checkpoint with torch's own readers.

Runs under Debian 12's torch 1.13 (through torchshim's aliases) and under
current torch 2.x (the .ci/chroot stacks), so it imports nothing at import
time that only one of them has. The fixtures it compares with are written by
nemo1fixture.py on the host's torch 1.13; their expected.pt holds the source
tensors by key and every object's payload bytes.

    import nemo2check
    problems = nemo2check.check_nemo2(out_dir, fixture_dir + "/expected.pt")
"""
import io
import json
import os
import pickle
import traceback

import torchshim
import torch
# Plain names of torch's own DCP classes: the torch >= 2.3 modules, which
# torchshim aliases onto the 1.13 ones there.
from torch.distributed.checkpoint.metadata import (
    BytesStorageMetadata, Metadata, MetadataIndex, TensorStorageMetadata)
from torch.distributed.checkpoint.filesystem import _StorageInfo

MEGATRON_METADATA = {"sharded_backend": "torch_dist", "sharded_backend_version": 1,
                     "common_backend": "torch", "common_backend_version": 1}


def load_expected(expected_pt):
    """expected.pt as nemo1fixture.py wrote it: {"tensors": {key: tensor},
    "objects": {key: payload bytes}}. It is our own file, written by torch
    1.13, so it is loaded with weights_only=False on every version (2.6
    made True the default)."""
    return torch.load(expected_pt, weights_only=False)


def raw_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    if t.dtype == torch.bool:
        return t.to(torch.uint8).numpy().tobytes()
    return t.numpy().tobytes()


def dump_expected(expected_pt, out_dir, prefix_from="", prefix_to=""):
    """Writes each expected tensor's raw bytes to out_dir/<key>.bin and a
    manifest.json; objects as the BytesIO payload bytes. Keys may be renamed
    (e.g. "model." to "module.") on the way."""
    exp = load_expected(expected_pt)
    os.makedirs(out_dir, exist_ok=True)
    man = {"tensors": {}, "objects": {}}
    for k, t in exp["tensors"].items():
        k2 = k.replace(prefix_from, prefix_to, 1) if prefix_from else k
        man["tensors"][k2] = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape)}
        with open(os.path.join(out_dir, k2 + ".bin"), "wb") as f:
            f.write(raw_bytes(t))
    for k, b in exp["objects"].items():
        k2 = k.replace(prefix_from, prefix_to, 1) if prefix_from else k
        man["objects"][k2] = b.hex()
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(man, f)


def _bits(t):
    return t.view(torch.int16) if t.dtype == torch.bfloat16 else t


def same_tensor(a, b):
    """Bit-for-bit equality of dtype, shape and values."""
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(_bits(a), _bits(b))


def load_dcp(weights_dir, expected_pt, prefix_from="", prefix_to=""):
    """Loads every expected tensor from a DCP directory with torch's own
    reader (into zeros of the global shape) and returns the keys whose
    values differ or are missing."""
    exp = load_expected(expected_pt)
    sd = {}
    for k, t in exp["tensors"].items():
        k2 = k.replace(prefix_from, prefix_to, 1) if prefix_from else k
        sd[k2] = torch.zeros_like(t)
    torchshim.load_dcp_into(sd, weights_dir)
    bad = []
    for k, t in exp["tensors"].items():
        k2 = k.replace(prefix_from, prefix_to, 1) if prefix_from else k
        if not same_tensor(sd[k2], t):
            bad.append(k2)
    return bad


def _err(e):
    """An exception as one line: its type and message, as Python prints them."""
    return "".join(traceback.format_exception_only(type(e), e)).strip()


def _describe(v):
    if isinstance(v, list):
        return "[" + ", ".join(_describe(x) for x in v) + "]"
    if isinstance(v, torch.Tensor):
        return "tensor(dtype=%s, shape=%s)" % (v.dtype, list(v.shape))
    return type(v).__module__ + "." + type(v).__qualname__


def has_fp8_state(state):
    """Whether a TransformerEngine extra state carries fp8 state. TE's
    non-fp8 state is None; the fixtures' payloads are dicts of plain values
    with "fp8": False; a dict without tensors holds no fp8 scales either."""
    if state is None:
        return False
    if isinstance(state, dict):
        if state.get("fp8") is False:
            return False
        return any(isinstance(v, torch.Tensor) for v in state.values())
    return True


def _same_state(a, b):
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and same_tensor(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_state(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) == type(b) and len(a) == len(b) and all(_same_state(x, y) for x, y in zip(a, b))
    return a == b


def check_extra_states(sd, exp, problems):
    """The expectation on TransformerEngine _extra_state objects, in one place.

    sd maps every bytes item of the output (key "module....") to what torch's
    DCP reader loaded from it: a torch.save of a one-element list [obj]. exp
    is expected.pt. Every object whose key contains "_extra_state" must be
    [t] with t a 1-D torch.uint8 tensor, the encoding TE's get_extra_state
    returns (pickle.dumps of the state as bytes), which TE 1.12 through main
    and Megatron-Core's grouped-MLP decoder all accept (TE >= 2.18 refuses a
    pickled io.BytesIO). pickle.loads(bytes(t)) must be None where the
    source carried no fp8 state: for core_attention (never carried over), for
    an extra state the source lacks, and for source payloads without fp8
    state; where the source has fp8 state it must decode to that state.
    None is compared after decoding, not as bytes: pickle.dumps(None) depends
    on the writer's protocol (b"\\x80\\x04N." on Python 3.8-3.13,
    b"\\x80\\x05N." on 3.14). Appends a message to problems for each
    object that does not meet it."""
    source = {k.replace("model.", "module.", 1): payload for k, payload in exp["objects"].items()}
    for k2 in sorted(sd):
        if "_extra_state" not in k2:
            continue
        v = sd[k2]
        if not (isinstance(v, list) and len(v) == 1 and isinstance(v[0], torch.Tensor)
                and v[0].dtype == torch.uint8 and v[0].dim() == 1):
            problems.append("extra state %s loads as %s, want [1-D torch.uint8 tensor] holding "
                            "pickle.dumps of TE's state" % (k2, _describe(v)))
            continue
        try:
            got = pickle.loads(bytes(v[0].numpy()))
        except Exception as e:  # noqa: BLE001  (any failure is the finding)
            problems.append("extra state %s: the bytes of its uint8 tensor (%d) do not unpickle: %s"
                            % (k2, v[0].numel(), _err(e)))
            continue
        if k2 not in source:
            want, why = None, "the source has no such object"
        elif "core_attention" in k2:
            want, why = None, "core_attention extra state is not carried over"
        else:
            try:
                state = torch.load(io.BytesIO(source[k2]), weights_only=False)
            except Exception as e:  # noqa: BLE001
                problems.append("extra state %s: the source payload does not load: %s" % (k2, _err(e)))
                continue
            if has_fp8_state(state):
                if not _same_state(got, state):
                    problems.append("extra state %s decodes to %r, want the source's fp8 state %r"
                                    % (k2, got, state))
                continue
            want, why = None, "the source payload carries no fp8 state"
        if got is not want:
            problems.append("extra state %s decodes to %r, want None (%s)" % (k2, got, why))


def check_nemo2(out_dir, expected_pt, cast=None):
    """Checks a converted NeMo 2 checkpoint with torch's own readers and
    returns a list of problems:
      - weights/metadata.json is Megatron's torch_dist marker;
      - weights/.metadata names the torch >= 2.3 class paths and plain
        pickle.load gives torch's own Metadata classes;
      - torch.distributed.checkpoint loads every tensor of weights/ into
        zeros of its global shape, and each equals its source ("model." ->
        "module.") bit for bit; every source tensor is there;
      - every bytes item loads; every source object is there; extra states
        as check_extra_states says;
      - every tensor blob and common.pt load under torch.load(weights_only
        =True) (on torch 2.x the real safe unpickler);
      - context/ as check_context says, params_dtype the parameters' dtype.
    cast names the dtype convert --dtype cast the parameters to: the
    source tensors of the embedding's dtype are then compared after
    torch's own Tensor.to of them."""
    problems = []
    weights = os.path.join(out_dir, "weights")
    exp = load_expected(expected_pt)
    src_tensors = {k.replace("model.", "module.", 1): t for k, t in exp["tensors"].items()}
    params = next(t.dtype for k, t in src_tensors.items() if k.endswith("embedding.word_embeddings.weight"))
    if cast:
        to = getattr(torch, cast)
        src_tensors = {k: t.to(to) if t.dtype == params else t for k, t in src_tensors.items()}
        params = to
    payloads = {k.replace("model.", "module.", 1): b for k, b in exp["objects"].items()}

    try:
        with open(os.path.join(weights, "metadata.json")) as f:
            meta = json.load(f)
        if meta != MEGATRON_METADATA:
            problems.append("metadata.json is %r" % meta)
    except Exception as e:  # noqa: BLE001
        problems.append("metadata.json: %s" % _err(e))

    with open(os.path.join(weights, ".metadata"), "rb") as f:
        raw = f.read()
    if b"torch.distributed.checkpoint.metadata" not in raw or b"_shard" in raw:
        problems.append(".metadata does not use the torch >= 2.3 class paths")
    try:
        md = pickle.loads(raw)
    except Exception as e:  # noqa: BLE001
        return problems + [".metadata does not unpickle with torch %s's classes: %s" % (torch.__version__, _err(e))]
    if not isinstance(md, Metadata):
        return problems + [".metadata unpickles as %s, not torch's Metadata" % _describe(md)]
    for k, m in md.state_dict_metadata.items():
        if not isinstance(m, (TensorStorageMetadata, BytesStorageMetadata)):
            problems.append(".metadata entry %s is %s" % (k, _describe(m)))
    for idx, info in md.storage_data.items():
        if not isinstance(idx, MetadataIndex) or not isinstance(info, _StorageInfo):
            problems.append(".metadata storage_data has %s -> %s" % (_describe(idx), _describe(info)))
            break

    # Every tensor of weights/, through DCP, into zeros of the global shape.
    tensors = {k: m for k, m in md.state_dict_metadata.items() if isinstance(m, TensorStorageMetadata)}
    for k in src_tensors:
        if k not in tensors:
            problems.append("tensor %s of the source is missing from the output" % k)
    sd = {k: torch.zeros(tuple(m.size), dtype=m.properties.dtype) for k, m in tensors.items()}
    try:
        torchshim.load_dcp_into(sd, weights)
    except Exception as e:  # noqa: BLE001
        problems.append("torch.distributed.checkpoint cannot load the tensors: %s" % _err(e))
        sd = {}
    for k, t in sd.items():
        if k not in src_tensors:
            problems.append("tensor %s of the output has no source tensor" % k)
        elif not same_tensor(t, src_tensors[k]):
            problems.append("tensor differs: %s (%s %s, source %s %s)" % (
                k, t.dtype, list(t.shape), src_tensors[k].dtype, list(src_tensors[k].shape)))

    # Every bytes item, through DCP.
    objs = {k: io.BytesIO() for k, m in md.state_dict_metadata.items() if isinstance(m, BytesStorageMetadata)}
    for k in sorted(payloads):
        if k not in objs:
            problems.append("object %s of the source is missing from the output" % k)
    try:
        torchshim.load_dcp_into(objs, weights)
    except Exception as e:  # noqa: BLE001
        problems.append("torch.distributed.checkpoint cannot load the objects: %s" % _err(e))
        objs = {}
    for k, v in objs.items():
        if "_extra_state" in k:
            continue
        if not isinstance(v, list) or len(v) != 1:
            problems.append("object %s loads as %s, want a one-element list" % (k, _describe(v)))
        elif k in payloads and not (isinstance(v[0], io.BytesIO) and v[0].getvalue() == payloads[k]):
            problems.append("object %s differs from the source" % k)
    check_extra_states(objs, exp, problems)

    # Every tensor blob on its own, and common.pt, under the safe unpickler.
    for idx, info in md.storage_data.items():
        if idx.offset is None:
            continue
        with open(os.path.join(weights, info.relative_path), "rb") as f:
            f.seek(info.offset)
            blob = f.read(info.length)
        try:
            torch.load(io.BytesIO(blob), weights_only=True)
        except Exception as e:  # noqa: BLE001
            problems.append("tensor item %s %s does not load with weights_only=True: %s"
                            % (idx.fqn, list(idx.offset), _err(e)))
    try:
        common = torch.load(os.path.join(weights, "common.pt"), weights_only=True)
        if not isinstance(common, dict) or common.get("content_metadata") != {}:
            problems.append("common.pt lacks content_metadata: %r" % (common,))
    except Exception as e:  # noqa: BLE001
        problems.append("common.pt does not load with weights_only=True: %s" % _err(e))

    problems += check_context(out_dir, params)
    return problems


def check_context(out_dir, params_dtype=torch.bfloat16):
    """Checks context/ as NeMo's exporters read it without fiddle: model.yaml
    with _target_s, params_dtype (and fp16/bf16) as the checkpoint stores
    its parameters, activation_func and a tokenizer file that exists
    relative to context/."""
    import yaml
    problems = []
    ctx = os.path.join(out_dir, "context")
    if not os.path.isdir(ctx):
        return ["no context/"]
    with open(os.path.join(ctx, "model.yaml")) as f:
        m = yaml.safe_load(f)
    cfg = m.get("config", {})
    if not m.get("_target_", "").startswith("nemo.collections.llm"):
        problems.append("model.yaml _target_ is %r" % m.get("_target_"))
    if cfg.get("params_dtype", {}).get("_target_") != str(params_dtype):
        problems.append("model.yaml config.params_dtype is %r, the parameters are %s" % (cfg.get("params_dtype"), params_dtype))
    if cfg.get("bf16") != (params_dtype == torch.bfloat16) or cfg.get("fp16") != (params_dtype == torch.float16):
        problems.append("model.yaml config says bf16=%r fp16=%r for %s parameters" % (cfg.get("bf16"), cfg.get("fp16"), params_dtype))
    if "_target_" not in (cfg.get("activation_func") or {}):
        problems.append("model.yaml config.activation_func is %r" % cfg.get("activation_func"))
    tok = m.get("tokenizer") or {}
    path = tok.get("model_path") or tok.get("pretrained_model_name") or tok.get("vocab_file")
    if not tok.get("_target_") or not path or not os.path.exists(os.path.join(ctx, path)):
        problems.append("model.yaml tokenizer %r does not name a file in context/" % tok)
    with open(os.path.join(ctx, "io.json")) as f:
        doc = json.load(f)
    paths = set()
    for o in doc["objects"].values():
        paths.update(o.get("paths", []))
    for p in ("<root>.model", "<root>.model.config", "<root>.model.tokenizer"):
        if p not in paths:
            problems.append("io.json has no object at %s" % p)
    return problems

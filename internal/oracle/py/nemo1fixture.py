"""Test-only: writes NeMo-1.0-shaped checkpoints with real torch and zarr.

The layouts follow Megatron-Core's dist_checkpointing as NeMo 1.x saves it
under model_weights/ (keys prefixed "model.", layer-stacked tensors with one
chunk per layer, SwiGLU fc1 as two chunks per layer, MoE experts with two
prepended axes, TransformerEngine _extra_state objects), in the torch_dist
backend (a DCP checkpoint: every item a torch.save archive, the index a pickled
Metadata of torch's own classes) and the zarr backend (zarr v2 arrays, bf16
patched in as Megatron does, objects as <key>/shard_<off>_<shape>.pt).

    python3 nemo1fixture.py OUT --arch llama --backend torch_dist --form nemo

writes OUT/model.nemo (or OUT/extracted/, OUT/model.nemo.gz) and
OUT/expected.pt (key -> full tensor, objects by unique key) for comparisons.
The checks that read it (check_nemo2, load_dcp, dump_expected) are in
nemo2check.py, which also runs under current torch; this writer is for the
host's torch 1.13 (it builds the 1.13 DCP classes directly).
"""
import argparse
import collections
import io
import json
import os
import shutil
import struct
import tarfile

import torchshim
from spfixture import small_sentencepiece  # noqa: F401  (used by main and callers)
import torch
from torch.distributed._shard.checkpoint import metadata as M
from torch.distributed._shard.checkpoint.filesystem import _StorageInfo
from torch.distributed._shard.sharded_tensor.metadata import TensorProperties

ARCHS = {
    # num_layers, hidden, ffn, heads, groups, vocab (padded), experts, gated, norm bias
    "llama": dict(L=2, H=64, F=160, heads=4, groups=2, V=384, E=0, gated=True, norm_bias=False, tie=False),
    "mixtral": dict(L=2, H=64, F=96, heads=4, groups=2, V=256, E=4, gated=True, norm_bias=False, tie=False),
    # Mixtral's layout plus a shared expert of S rows (MoE layers with
    # moe_shared_expert_intermediate_size, Megatron-Core >= 0.10).
    "mixtral_shared": dict(L=2, H=64, F=96, heads=4, groups=2, V=256, E=4, gated=True, norm_bias=False, tie=False, S=80),
    "nemotron": dict(L=2, H=64, F=256, heads=4, groups=4, V=256, E=0, gated=False, norm_bias=True, tie=False),
    "gpt": dict(L=3, H=48, F=192, heads=6, groups=6, V=128, E=0, gated=False, norm_bias=True, tie=True),
    # convert_chatglm_hf_to_nemo.py's layout: q/k/v biases only, RoPE on
    # interleaved pairs of half of each head, two query groups.
    "chatglm": dict(L=2, H=64, F=160, heads=4, groups=2, V=256, E=0, gated=True, norm_bias=False, tie=False, qkv_bias=True),
    # A Mamba hybrid as NeMo 1's MegatronMambaModel saves it (Megatron-Core
    # >= 0.9's MambaStack: a key per layer, in_proj and conv1d in parts):
    # the layer pattern, the mixer's state and head widths, its groups.
    "nemotronh": dict(L=5, H=64, F=96, heads=4, groups=2, V=256, E=0, gated=False, norm_bias=False, tie=False,
                      pattern="M*-M-", state=16, headdim=16, ngroups=2),
    # NeMo 1's full TransformerEngine layer (name:
    # megatron_gpt_full_te_layer_autocast): TE's TransformerLayer, with its
    # defaults (LayerNorm, GeLU, biases, MHA), as transformer_layer.
    "gpt_full_te": dict(L=3, H=48, F=192, heads=6, groups=6, V=128, E=0, gated=False, norm_bias=True, tie=True,
                        full_te=True),
    # The same as Megatron-Core 0.8 saved it: in_proj and conv1d whole.
    "nemotronh_whole": dict(L=5, H=64, F=96, heads=4, groups=2, V=256, E=0, gated=False, norm_bias=False, tie=False,
                            pattern="M*-M-", state=16, headdim=16, ngroups=2, whole=True),
}


class Piece:
    """One sharded tensor: its global value and how it was chunked."""

    def __init__(self, key, value, chunk_sizes):
        self.key, self.value, self.chunk = key, value, chunk_sizes

    def chunks(self):
        """Yields (offsets, view) in row-major grid order."""
        shape = self.value.shape
        grid = [s // c for s, c in zip(shape, self.chunk)]
        for s, c in zip(shape, self.chunk):
            assert s % c == 0, (self.key, shape, self.chunk)
        idx = [0] * len(grid)
        if len(grid) == 0:
            yield (), self.value
            return
        while True:
            off = tuple(i * c for i, c in zip(idx, self.chunk))
            view = self.value[tuple(slice(o, o + c) for o, c in zip(off, self.chunk))]
            yield off, view
            d = len(grid) - 1
            while d >= 0:
                idx[d] += 1
                if idx[d] < grid[d]:
                    break
                idx[d] = 0
                d -= 1
            if d < 0:
                return


def build(arch, tp=1, dtype=torch.bfloat16, seed=0, dims=None):
    """Returns (pieces, objects): the sharded tensors and {unique_key: obj}.
    dims overrides the architecture's sizes (L, H, F, heads, groups, V)."""
    a = dict(ARCHS[arch])
    if dims:
        a.update(zip(("L", "H", "F", "heads", "groups", "V"), dims))
    g = torch.Generator().manual_seed(seed)
    L, H, F, heads, groups, V, E = a["L"], a["H"], a["F"], a["heads"], a["groups"], a["V"], a["E"]
    kv = H // heads

    def rnd(*shape):
        # Random bits, not values: as incompressible as trained weights and
        # fast to make at benchmark sizes.
        t = torch.randint(-32768, 32767, shape, generator=g, dtype=torch.int16)
        if dtype == torch.bfloat16:
            t = t & ~0x7F80 | 0x3F00  # keep exponents finite: no NaN or Inf patterns
            return t.view(torch.bfloat16)
        # fp16 and fp32: values with every mantissa bit in use, so that a
        # cast to a narrower dtype has to round.
        return (torch.randn(shape, generator=g) * 3).to(dtype)

    p = "model."
    if "pattern" in a:
        return build_mamba(a, rnd, tp)
    if a.get("full_te"):
        return build_full_te(a, rnd, tp)
    pieces = []
    qkv_rows = (heads + 2 * groups) * kv
    pieces.append(Piece(p + "embedding.word_embeddings.weight", rnd(V, H), (V // tp, H)))
    pieces.append(Piece(p + "decoder.layers.self_attention.linear_qkv.layer_norm_weight", rnd(L, H), (1, H)))
    if a["norm_bias"]:
        pieces.append(Piece(p + "decoder.layers.self_attention.linear_qkv.layer_norm_bias", rnd(L, H), (1, H)))
    pieces.append(Piece(p + "decoder.layers.self_attention.linear_qkv.weight", rnd(L, qkv_rows, H), (1, qkv_rows // tp, H)))
    if a.get("qkv_bias"):
        pieces.append(Piece(p + "decoder.layers.self_attention.linear_qkv.bias", rnd(L, qkv_rows), (1, qkv_rows // tp)))
    pieces.append(Piece(p + "decoder.layers.self_attention.linear_proj.weight", rnd(L, H, heads * kv), (1, H, heads * kv // tp)))
    fc1_rows = 2 * F if a["gated"] else F
    # SwiGLU fc1 is two ShardedTensors per TP rank: gate and up halves.
    fc1_chunk = F // tp
    if E:
        pieces.append(Piece(p + "decoder.layers.pre_mlp_layernorm.weight", rnd(L, H), (1, H)))
        pieces.append(Piece(p + "decoder.layers.mlp.router.weight", rnd(L, E, H), (1, E, H)))
        pieces.append(Piece(p + "decoder.layers.mlp.experts.experts.linear_fc1.weight", rnd(L, E, fc1_rows, H), (1, 1, fc1_chunk, H)))
        pieces.append(Piece(p + "decoder.layers.mlp.experts.experts.linear_fc2.weight", rnd(L, E, H, F), (1, 1, H, F // tp)))
        S = a.get("S", 0)
        if S:
            pieces.append(Piece(p + "decoder.layers.mlp.shared_experts.linear_fc1.weight", rnd(L, 2 * S, H), (1, S // tp, H)))
            pieces.append(Piece(p + "decoder.layers.mlp.shared_experts.linear_fc2.weight", rnd(L, H, S), (1, H, S // tp)))
    else:
        pieces.append(Piece(p + "decoder.layers.mlp.linear_fc1.layer_norm_weight", rnd(L, H), (1, H)))
        if a["norm_bias"]:
            pieces.append(Piece(p + "decoder.layers.mlp.linear_fc1.layer_norm_bias", rnd(L, H), (1, H)))
        pieces.append(Piece(p + "decoder.layers.mlp.linear_fc1.weight", rnd(L, fc1_rows, H), (1, fc1_chunk, H)))
        pieces.append(Piece(p + "decoder.layers.mlp.linear_fc2.weight", rnd(L, H, F), (1, H, F // tp)))
    pieces.append(Piece(p + "decoder.final_layernorm.weight", rnd(H), (H,)))
    if a["norm_bias"]:
        pieces.append(Piece(p + "decoder.final_layernorm.bias", rnd(H), (H,)))
    if not a["tie"]:
        pieces.append(Piece(p + "output_layer.weight", rnd(V, H), (V // tp, H)))

    return pieces, te_objects(L, E, shared=bool(a.get("S")))


def build_full_te(a, rnd, tp):
    """TE's TransformerLayer stacked by TransformerBlock: LayerNormLinear
    (one fused QKV weight), DotProductAttention, Linear and LayerNormMLP
    under transformer_layer., Megatron-Core's FusedLayerNorm at the end."""
    p = "model."
    L, H, F, heads, V = a["L"], a["H"], a["F"], a["heads"], a["V"]
    w = heads * (H // heads)
    tl = p + "decoder.layers.transformer_layer."
    pieces = [Piece(p + "embedding.word_embeddings.weight", rnd(V, H), (V // tp, H))]
    for key, shape in (
            ("self_attention.layernorm_qkv.layer_norm_weight", (L, H)),
            ("self_attention.layernorm_qkv.layer_norm_bias", (L, H)),
            ("self_attention.layernorm_qkv.weight", (L, 3 * w, H)),
            ("self_attention.layernorm_qkv.bias", (L, 3 * w)),
            ("self_attention.proj.weight", (L, H, w)),
            ("self_attention.proj.bias", (L, H)),
            ("layernorm_mlp.layer_norm_weight", (L, H)),
            ("layernorm_mlp.layer_norm_bias", (L, H)),
            ("layernorm_mlp.fc1_weight", (L, F, H)),
            ("layernorm_mlp.fc1_bias", (L, F)),
            ("layernorm_mlp.fc2_weight", (L, H, F)),
            ("layernorm_mlp.fc2_bias", (L, H))):
        pieces.append(Piece(tl + key, rnd(*shape), (1,) + shape[1:]))
    pieces.append(Piece(p + "decoder.final_layernorm.weight", rnd(H), (H,)))
    pieces.append(Piece(p + "decoder.final_layernorm.bias", rnd(H), (H,)))
    objects = collections.OrderedDict()
    for m in ("self_attention.layernorm_qkv", "self_attention.core_attention", "self_attention.proj", "layernorm_mlp"):
        for l in range(L):
            objects["%s%s._extra_state/shard_%d_%d" % (tl, m, l, L)] = te_extra_state(l)
    return pieces, objects


def build_mamba(a, rnd, tp):
    """The pieces and objects of a Mamba hybrid: every layer under its own
    index (no layer axis), TP-chunked on the first axis; the mixer's
    in_proj as z, x, B, C, dt and its conv1d as x, B, C
    (MambaMixer.sharded_state_dict); extra states as unstacked modules
    (shard_0_1)."""
    p = "model."
    H, F, heads, groups, V = a["H"], a["F"], a["heads"], a["groups"], a["V"]
    kv = H // heads
    inner, gs = 2 * H, a["ngroups"] * a["state"]
    nh = inner // a["headdim"]
    pieces = []

    def add(key, *shape):
        pieces.append(Piece(p + key, rnd(*shape), (shape[0] // tp,) + tuple(shape[1:])))

    add("embedding.word_embeddings.weight", V, H)
    for i, sym in enumerate(a["pattern"]):
        l = "decoder.layers.%d." % i
        if sym == "M":
            m = l + "mixer."
            pieces.append(Piece(p + m + "in_proj.layer_norm_weight", rnd(H), (H,)))
            if a.get("whole"):
                add(m + "in_proj.weight", 2 * inner + 2 * gs + nh, H)
                add(m + "conv1d.weight", inner + 2 * gs, 1, 4)
                add(m + "conv1d.bias", inner + 2 * gs)
            else:
                for part, rows in (("z", inner), ("x", inner), ("B", gs), ("C", gs), ("dt", nh)):
                    add(m + "in_proj.weight." + part, rows, H)
                for part, rows in (("x", inner), ("B", gs), ("C", gs)):
                    add(m + "conv1d.weight." + part, rows, 1, 4)
                    add(m + "conv1d.bias." + part, rows)
            for name in ("A_log", "D", "dt_bias"):
                add(m + name, nh)
            add(m + "norm.weight", inner)
            pieces.append(Piece(p + m + "out_proj.weight", rnd(H, inner), (H, inner // tp)))
        elif sym == "*":
            s = l + "self_attention."
            pieces.append(Piece(p + s + "linear_qkv.layer_norm_weight", rnd(H), (H,)))
            add(s + "linear_qkv.weight", (heads + 2 * groups) * kv, H)
            pieces.append(Piece(p + s + "linear_proj.weight", rnd(H, heads * kv), (H, heads * kv // tp)))
        else:
            m = l + "mlp."
            pieces.append(Piece(p + m + "linear_fc1.layer_norm_weight", rnd(H), (H,)))
            add(m + "linear_fc1.weight", F, H)
            pieces.append(Piece(p + m + "linear_fc2.weight", rnd(H, F), (H, F // tp)))
    pieces.append(Piece(p + "decoder.final_norm.weight", rnd(H), (H,)))
    add("output_layer.weight", V, H)
    return pieces, mamba_objects(a["pattern"])


def mamba_objects(pattern, p="model."):
    """{unique_key: obj}: the TransformerEngine extra states of a hybrid's
    layers, each an unstacked module (shard_0_1)."""
    mods = {"M": ("mixer.in_proj", "mixer.out_proj"),
            "*": ("self_attention.linear_qkv", "self_attention.core_attention", "self_attention.linear_proj"),
            "-": ("mlp.linear_fc1", "mlp.linear_fc2")}
    objects = collections.OrderedDict()
    for i, sym in enumerate(pattern):
        for m in mods[sym]:
            objects["%sdecoder.layers.%d.%s._extra_state/shard_0_1" % (p, i, m)] = te_extra_state(i)
    return objects


def local_spec(pieces):
    """The pieces as Megatron-Core's local layer spec stores them, no
    objects (its modules have no extra state), and {stored key: NeMo 2
    key} for the norms stored under other names than NeMo 2 loads."""
    moe = any(pc.key.endswith("decoder.layers.mlp.router.weight") for pc in pieces)
    names = {
        "self_attention.linear_qkv.layer_norm_weight": "input_layernorm.weight",
        "self_attention.linear_qkv.layer_norm_bias": "input_layernorm.bias",
        "mlp.linear_fc1.layer_norm_weight": "pre_mlp_layernorm.weight",
        "mlp.linear_fc1.layer_norm_bias": "pre_mlp_layernorm.bias",
    }
    if moe:  # only pre_mlp_layernorm, saved through the keys map
        names = {"pre_mlp_layernorm.weight": "mlp.linear_fc1.layer_norm_weight",
                 "pre_mlp_layernorm.bias": "mlp.linear_fc1.layer_norm_bias"}
    renamed, out = {}, []
    for pc in pieces:
        head, sep, rest = pc.key.partition("decoder.layers.")
        if sep and rest in names:
            stored = head + sep + names[rest]
            renamed[stored] = pc.key
            pc = Piece(stored, pc.value, pc.chunk)
        out.append(pc)
    return out, collections.OrderedDict(), renamed


def te_objects(L, E, p="model.", shared=False):
    """{unique_key: obj}: the TransformerEngine _extra_state objects of L
    layers (E experts each, or a dense MLP when E is 0)."""
    objects = collections.OrderedDict()
    mods = ["self_attention.core_attention", "self_attention.linear_qkv", "self_attention.linear_proj"]
    mods += ["mlp.experts.experts.linear_fc1", "mlp.experts.experts.linear_fc2"] if E else ["mlp.linear_fc1", "mlp.linear_fc2"]
    if shared:
        mods += ["mlp.shared_experts.linear_fc1", "mlp.shared_experts.linear_fc2"]
    for m in mods:
        for l in range(L):
            if "experts.experts" in m:
                for e in range(E):
                    objects["%sdecoder.layers.%s._extra_state/shard_%d.%d_%d.%d" % (p, m, l, e, L, E)] = te_extra_state(l * 100 + e)
            else:
                objects["%sdecoder.layers.%s._extra_state/shard_%d_%d" % (p, m, l, L)] = te_extra_state(l)
    return objects


def te_extra_state(tag):
    """TE 1.x non-fp8 extra state is io.BytesIO(torch.save(None)); vary one
    byte of a trailing marker so every object's payload is distinct."""
    buf = io.BytesIO()
    torch.save({"fp8": False, "tag": tag}, buf)
    buf.seek(0)
    return buf


def item_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def write_torch_dist(d, pieces, objects, files_per_rank=2, ranks=1, paths="v113", mcore=False):
    """Writes a DCP checkpoint the way Megatron-Core's torch_dist strategy
    lays it out: bytes items first in each file, then tensor items."""
    os.makedirs(d, exist_ok=True)
    files = collections.defaultdict(list)  # name -> [(kind, key, off_tuple, bytes)]
    n = 0
    for key, obj in objects.items():
        name = "__%d_%d.distcp" % (n % ranks, n % files_per_rank)
        files[name].append(("bytes", key, None, item_bytes([obj])))
        n += 1
    sdm = collections.OrderedDict()
    for pc in pieces:
        chunks = []
        for off, view in pc.chunks():
            name = "__%d_%d.distcp" % (n % ranks, n % files_per_rank)
            files[name].append(("tensor", pc.key, off, item_bytes(view.clone())))
            chunks.append(M.ChunkStorageMetadata(offsets=torch.Size(off), sizes=torch.Size(view.shape)))
            n += 1
        sdm[pc.key] = M.TensorStorageMetadata(
            properties=TensorProperties(dtype=pc.value.dtype), size=pc.value.shape, chunks=chunks)
    for key in objects:
        sdm[key] = M.BytesStorageMetadata()
    storage = {}
    for name, items in sorted(files.items()):
        items.sort(key=lambda it: it[0] != "bytes")
        pos = 0
        with open(os.path.join(d, name), "wb") as f:
            for kind, key, off, data in items:
                f.write(data)
                if kind == "bytes":
                    idx = M.MetadataIndex(key)
                else:
                    chunk_no = [tuple(c.offsets) for c in sdm[key].chunks].index(off)
                    idx = M.MetadataIndex(key, torch.Size(off), chunk_no)
                storage[idx] = _StorageInfo(name, pos, len(data))
                pos += len(data)
    md = M.Metadata(state_dict_metadata=sdm, planner_data=None, storage_data=storage)
    if mcore:
        md.mcore_data = {pc.key: {} for pc in pieces}
    with open(os.path.join(d, ".metadata"), "wb") as f:
        import pickle
        pickle.dump(md, f)
    torch.save({"content_metadata": {}, "iteration": 0}, os.path.join(d, "common.pt"))
    with open(os.path.join(d, "metadata.json"), "w") as f:
        json.dump({"sharded_backend": "torch_dist", "sharded_backend_version": 1,
                   "common_backend": "torch", "common_backend_version": 1}, f)


def write_zarr(d, pieces, objects):
    import numpy as np
    import zarr
    os.makedirs(d, exist_ok=True)
    for pc in pieces:
        t = pc.value
        bf16 = t.dtype == torch.bfloat16
        arr = t.view(torch.int16).numpy() if bf16 else t.numpy()
        z = zarr.create(shape=tuple(t.shape), dtype="<u2" if bf16 else arr.dtype, chunks=pc.chunk,
                        compressor=None, fill_value=None, store=os.path.join(d, pc.key))
        for off, view in pc.chunks():
            sl = tuple(slice(o, o + c) for o, c in zip(off, view.shape))
            z[sl] = arr[sl].view("<u2") if bf16 else arr[sl]
        if bf16:
            zpath = os.path.join(d, pc.key, ".zarray")
            meta = json.load(open(zpath))
            meta["dtype"] = "bfloat16"
            with open(zpath, "w") as f:
                json.dump(meta, f, indent=4, sort_keys=True)
    for key, obj in objects.items():
        path = os.path.join(d, key + ".pt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        torch.save(obj, path)
    torch.save({"content_metadata": {}, "iteration": 0}, os.path.join(d, "common.pt"))
    with open(os.path.join(d, "metadata.json"), "w") as f:
        json.dump({"sharded_backend": "zarr", "sharded_backend_version": 1,
                   "common_backend": "torch", "common_backend_version": 1}, f)


def model_config(arch, tp=1, tokenizer="nemo:0123456789abcdef0123456789abcdef_tokenizer.model", dims=None, precision="bf16"):
    a = dict(ARCHS[arch])
    if dims:
        a.update(zip(("L", "H", "F", "heads", "groups", "V"), dims))
    if "pattern" in a:
        return mamba_config(a, tp, tokenizer, precision)
    lines = run_keys(tp) + [
        "num_layers: %d" % a["L"],
        "hidden_size: %d" % a["H"],
        "ffn_hidden_size: %d" % a["F"],
        "num_attention_heads: %d" % a["heads"],
        "num_query_groups: %d" % a["groups"],
        "init_method_std: 0.02",
        "normalization: %s" % ("layernorm1p" if arch == "nemotron" else ("layernorm" if arch.startswith("gpt") else "rmsnorm")),
        "layernorm_epsilon: 1.0e-05",
        "activation: %s" % ("swiglu" if a["gated"] else ("squared-relu" if arch == "nemotron" else "gelu")),
        "bias: %s" % ("true" if arch.startswith("gpt") else "false"),
        "position_embedding_type: rope",
        "rotary_percentage: %s" % ("0.5" if arch in ("nemotron", "chatglm") else "1.0"),
        "share_embeddings_and_output_weights: %s" % ("true" if a["tie"] else "false"),
        "make_vocab_size_divisible_by: 128",
        "precision: %s" % precision,
        "transformer_engine: true",
        "dist_ckpt_format: torch_dist",
    ]
    if a["E"]:
        lines += ["num_moe_experts: %d" % a["E"], "moe_router_topk: 2"]
    if a.get("full_te"):
        lines += ["name: megatron_gpt_full_te_layer_autocast"]
    if arch == "chatglm":
        lines += ["qkv_bias: true", "rotary_interleaved: true", "override_vocab_size: %d" % a["V"],
                  "apply_query_key_layer_scaling: true", "bias_activation_fusion: false"]
    if a.get("S"):
        lines += ["moe_shared_expert_intermediate_size: %d" % a["S"], "moe_shared_expert_overlap: false"]
    lines += sentencepiece_keys(tokenizer)
    return "\n".join(lines) + "\n"


def sentencepiece_keys(tokenizer):
    """model_config.yaml's tokenizer section for a SentencePiece artifact."""
    return ["tokenizer:", "  library: sentencepiece", "  type: null", "  model: %s" % tokenizer,
            "  vocab_file: null", "  merge_file: null", "  sentencepiece_legacy: false"]


def run_keys(tp):
    """The model_config.yaml keys every fixture starts with."""
    return ["mcore_gpt: true", "micro_batch_size: 1", "global_batch_size: 8",
            "tensor_model_parallel_size: %d" % tp, "pipeline_model_parallel_size: 1",
            "encoder_seq_length: 512", "max_position_embeddings: ${.encoder_seq_length}"]


def mamba_config(a, tp, tokenizer, precision):
    """model_config.yaml of a MegatronMambaModel: megatron_mamba_config.yaml's
    keys (target recorded by ModelPT), NemotronH's squared ReLU, and GPT
    keys that model ignores (position embedding, tying, bias)."""
    lines = run_keys(tp) + [
        "position_embedding_type: rope",
        "hybrid_override_pattern: %s" % a["pattern"],
        "num_layers: %d" % a["L"],
        "gated_linear_unit: false",
        "add_bias_linear: false",
        "bias: true",
        "share_embeddings_and_output_weights: true",
        "vocab_size: %d" % a["V"],
        "hidden_size: %d" % a["H"],
        "ffn_hidden_size: %d" % a["F"],
        "num_attention_heads: %d" % a["heads"],
        "num_query_groups: %d" % a["groups"],
        "mamba_ssm_ngroups: %d" % a["ngroups"],
        "mamba_state_dim: %d" % a["state"],
        "mamba_head_dim: %d" % a["headdim"],
        "kv_channels: %s" % (a.get("kv") or "null"),
        "apply_query_key_layer_scaling: true",
        "normalization: RMSNorm",
        "layernorm_epsilon: 1.0e-05",
        "activation: %s" % a.get("activation", "squared-relu"),
        "make_vocab_size_divisible_by: 128",
        "precision: %s" % precision,
        "dist_ckpt_format: zarr",
    ] + sentencepiece_keys(tokenizer) + [
        "target: nemo.collections.nlp.models.language_modeling.megatron_mamba_model.MegatronMambaModel",
    ] + (["mamba_num_heads: %d" % a["mamba_heads"]] if a.get("mamba_heads") else []) + [
        "nemo_version: 2.0.0",
    ]
    return "\n".join(lines) + "\n"


def model_config_from_hf(nemo, tp, tokenizer, precision):
    """model_config.yaml for hfmap.to_megatron's fields, with the keys
    NeMo 1's HF importers set on top of megatron_{llama,gpt}_config.yaml."""
    def val(v):
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            m, e, x = repr(v).partition("e")
            return (m if "." in m else m + ".0") + e + x  # YAML 1.1 floats need the dot: 1.0e-05
        return str(v)
    fields = [
        ("mcore_gpt", True), ("micro_batch_size", 1), ("global_batch_size", 8),
        ("tensor_model_parallel_size", tp), ("pipeline_model_parallel_size", 1),
        ("encoder_seq_length", nemo["seq"]), ("max_position_embeddings", nemo["seq"]),
    ]
    fields += [(k, nemo[k]) for k in (
        "num_layers", "hidden_size", "ffn_hidden_size", "num_attention_heads", "num_query_groups", "kv_channels",
        "init_method_std", "normalization", "layernorm_epsilon", "activation", "bias", "position_embedding_type")]
    if nemo["rotary_base"] is not None:
        fields += [("rotary_base", nemo["rotary_base"]), ("rotary_percentage", nemo["rotary_percentage"])]
    fields += [
        ("share_embeddings_and_output_weights", nemo["share_embeddings_and_output_weights"]),
        ("make_vocab_size_divisible_by", 128), ("precision", precision),
        ("transformer_engine", True), ("dist_ckpt_format", "torch_dist"),
    ]
    if nemo.get("qkv_bias"):
        fields.append(("qkv_bias", True))
    if nemo.get("rotary_interleaved"):
        fields.append(("rotary_interleaved", True))
    for k in ("name", "openai_gelu", "apply_embedding_scaling", "bias_activation_fusion", "layernorm_zero_centered_gamma"):
        if k in nemo:
            fields.append((k, nemo[k]))
    if nemo.get("scale_positional_embedding"):
        fields += [(k, nemo[k]) for k in ("scale_positional_embedding", "scale_factor", "low_freq_factor",
                                          "high_freq_factor", "old_context_len")]
    if "window_size" in nemo:
        fields.append(("window_size", "[%d, %d]" % tuple(nemo["window_size"])))
    if "num_moe_experts" in nemo:
        fields += [("num_moe_experts", nemo["num_moe_experts"]), ("moe_router_topk", nemo["moe_router_topk"]),
                   ("moe_router_pre_softmax", False)]
    lines = ["%s: %s" % (k, val(v)) for k, v in fields]
    if "mcore_customization_config" in nemo:
        lines.append("mcore_customization_config:")
        lines += ["  %s: %s" % (k, val(v)) for k, v in nemo["mcore_customization_config"].items()]
    lines += sentencepiece_keys(tokenizer)
    return "\n".join(lines) + "\n"


GPT2_ARTIFACTS = ("5c3b0d4e9a8f47a2b1c6d7e8f9a0b1c2_gpt2-vocab.json", "9e8d7c6b5a4f43e2a1b0c9d8e7f6a5b4_gpt2-merges.txt")


def megatron_tokenizer(artifacts):
    """The tokenizer block of NeMo 1's megatron_gpt_config.yaml, with the
    vocabulary and merges given as artifacts."""
    return "\n".join([
        "tokenizer:",
        "  library: megatron",
        "  type: GPT2BPETokenizer",
        "  model: null",
        "  vocab_file: nemo:%s" % artifacts[0],
        "  merge_file: nemo:%s" % artifacts[1],
        "  delimiter: null",
        "  sentencepiece_legacy: false",
    ]) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--arch", default="llama", choices=sorted(ARCHS))
    ap.add_argument("--backend", default="torch_dist", choices=["torch_dist", "zarr"])
    ap.add_argument("--form", default="nemo", choices=["nemo", "gzip", "dir", "weights"])
    ap.add_argument("--tp", type=int, default=1)
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--paths", default="v113")
    ap.add_argument("--mcore", action="store_true")
    ap.add_argument("--tokenizer", default="", help="a sentencepiece model file to store as the artifact")
    ap.add_argument("--gpt2-vocab", default="", metavar="VOCAB_JSON",
                    help="with --gpt2-merges: store a GPT-2 vocab.json and merges.txt as the artifacts of "
                         "megatron_gpt_config.yaml's default tokenizer (library megatron, type GPT2BPETokenizer)")
    ap.add_argument("--gpt2-merges", default="", metavar="MERGES_TXT")
    ap.add_argument("--local", action="store_true",
                    help="Megatron-Core's local (non-TransformerEngine) layer spec: no extra states; dense norms "
                         "under their module names (input_layernorm, pre_mlp_layernorm), MoE's pre_mlp_layernorm "
                         "as its keys map saves it (mlp.linear_fc1.layer_norm_*); expected.pt names them as NeMo 2 loads them")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"],
                    help="the parameters' dtype (NeMo 1 wrote fp16 and fp32 checkpoints too)")
    ap.add_argument("--dims", default="", help="L,H,F,heads,groups,V to override the architecture's sizes")
    ap.add_argument("--no-expected", action="store_true", help="skip expected.pt (for big benchmark checkpoints)")
    ap.add_argument("--from-hf", default="", metavar="DIR",
                    help="convert the HF checkpoint in DIR (hfmodel.py's) as NeMo 1's importers do, "
                         "instead of random tensors; --arch, --dtype, --dims are then taken from it")
    ap.add_argument("--zero-centered", action="store_true",
                    help="with --from-hf, a Gemma's norms as Hugging Face stores them (w, "
                         "layernorm_zero_centered_gamma on) rather than as NeMo 1's importer (1 + w)")
    args = ap.parse_args()

    dims = [int(x) for x in args.dims.split(",")] if args.dims else None
    art = "0123456789abcdef0123456789abcdef_tokenizer.model"
    if args.from_hf:
        import hfmap
        _, tensors, nemo = hfmap.to_megatron(args.from_hf, tp=args.tp, seed=args.seed + 1, zero_centered=args.zero_centered)
        pieces = [Piece("model." + k, v, c) for k, v, c in tensors]
        objects = te_objects(nemo["num_layers"], nemo.get("num_moe_experts", 0))
        if "pattern" in nemo:
            objects = mamba_objects(nemo["pattern"])
        if nemo.get("name") == "megatron_gemma2":
            # Gemma 2's attention is no TransformerEngine module.
            objects = {k: v for k, v in objects.items() if "core_attention" not in k}
        precision = {torch.bfloat16: "bf16", torch.float16: "16", torch.float32: "32"}[nemo["params_dtype"]]
        if "pattern" in nemo:
            a = dict(L=nemo["num_layers"], H=nemo["hidden_size"], F=nemo["ffn_hidden_size"],
                     heads=nemo["num_attention_heads"], groups=nemo["num_query_groups"], V=nemo["vocab_size"],
                     kv=nemo["kv_channels"], pattern=nemo["pattern"], state=nemo["state"], headdim=nemo["headdim"],
                     ngroups=nemo["ngroups"], mamba_heads=nemo["mamba_heads"], activation=nemo["activation"])
            config_text = mamba_config(a, args.tp, "nemo:" + art, precision)
        else:
            config_text = model_config_from_hf(nemo, args.tp, "nemo:" + art, precision)
        if not args.tokenizer:
            args.tokenizer = os.path.join(args.from_hf, "tokenizer.model")
    else:
        pieces, objects = build(args.arch, tp=args.tp, dtype=getattr(torch, args.dtype), seed=args.seed, dims=dims)
        config_text = model_config(args.arch, tp=args.tp, tokenizer="nemo:" + art, dims=dims,
                                   precision={"bfloat16": "bf16", "float16": "16", "float32": "32"}[args.dtype])
    renamed = {}  # stored key -> the key NeMo 2 loads it under
    if args.local:
        pieces, objects, renamed = local_spec(pieces)
    if args.gpt2_vocab:
        # As NeMo 1 registers them: "<uuid hex>_<base name>" next to the
        # config, referenced with the nemo: prefix.
        config_text = config_text[:config_text.index("tokenizer:\n")] + megatron_tokenizer(GPT2_ARTIFACTS)
    src = os.path.join(args.out, "extracted")
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    weights = os.path.join(src, "model_weights")
    if args.backend == "torch_dist":
        write_torch_dist(weights, pieces, objects, ranks=args.ranks, mcore=args.mcore)
    else:
        write_zarr(weights, pieces, objects)
    with open(os.path.join(src, "model_config.yaml"), "w") as f:
        f.write(config_text)
    if args.gpt2_vocab:
        shutil.copy(args.gpt2_vocab, os.path.join(src, GPT2_ARTIFACTS[0]))
        shutil.copy(args.gpt2_merges, os.path.join(src, GPT2_ARTIFACTS[1]))
    elif args.tokenizer:
        shutil.copy(args.tokenizer, os.path.join(src, art))
    else:
        with open(os.path.join(src, art), "wb") as f:
            f.write(small_sentencepiece())
    if not args.no_expected:
        expected = collections.OrderedDict((renamed.get(pc.key, pc.key), pc.value) for pc in pieces)
        torch.save({"tensors": expected, "objects": {k: v.getvalue() for k, v in objects.items()}},
                   os.path.join(args.out, "expected.pt"))
    if args.form in ("nemo", "gzip"):
        path = os.path.join(args.out, "model.nemo")
        with tarfile.open(path, "w:") as t:
            t.add(src, arcname=".")
        if args.form == "gzip":
            import gzip
            with open(path, "rb") as f, gzip.open(path + ".gz", "wb") as g:
                shutil.copyfileobj(f, g)
            os.remove(path)
        shutil.rmtree(src)


if __name__ == "__main__":
    main()

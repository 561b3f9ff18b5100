"""Test-only: maps a Hugging Face checkpoint onto Megatron-Core GPT tensors.

Shared by nemo1fixture.py --from-hf (host torch 1.13) and nemo2fromhf.py
(current torch), so it uses nothing but plain torch. The safetensors files
are parsed by hand (8-byte little-endian header length, JSON header, raw
bytes), so no safetensors library is needed.

The mapping follows NeMo's own HF importers:
  llama:    scripts/checkpoint_converters/convert_llama_hf_to_nemo.py,
            nemo/collections/llm/gpt/model/llama.py (HFLlamaImporter)
  mixtral:  scripts/checkpoint_converters/convert_mixtral_hf_to_nemo.py,
            nemo/collections/llm/gpt/model/mixtral.py (HFMixtralImporter)
  nemotron: nemo/collections/llm/gpt/model/nemotron.py (HFNemotronImporter)
  gpt:      scripts/checkpoint_converters/convert_starcoder_hf_to_nemo.py,
            nemo/collections/llm/gpt/model/starcoder.py (HFStarcoderImporter)
  nemotronh: nemo/collections/llm/gpt/model/ssm.py (HFNemotronHImporter), with
            Megatron-Core's MambaStack/MambaMixer sharded keys (a key per
            layer, in_proj as z, x, B, C, dt and conv1d as x, B, C)
and the layer-stacked keys of Megatron's TransformerBlock.sharded_state_dict
(decoder.layers.<name> with a leading layer axis) and SequentialMLP's
(decoder.layers.mlp.experts.experts.<name> with a layer and an expert axis).
"""
import glob
import json
import os

import torch

ST_DTYPES = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32, "F64": torch.float64,
             "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
             "U8": torch.uint8, "BOOL": torch.bool}
MODEL_TYPES = {"llama": "llama", "mistral": "mistral", "mixtral": "mixtral", "qwen2": "qwen2", "starcoder2": "starcoder2",
               "nemotron": "nemotron", "gpt_bigcode": "gpt", "gemma": "gemma", "gemma2": "gemma2", "glm": "glm",
               "nemotron_h": "nemotronh"}


def window_size(sliding_window):
    """Megatron's window_size for Hugging Face's sliding_window w: (w - 1, 0),
    since Megatron (TransformerEngine, Gemma 2's get_swa) attends to the keys
    from left back through the query, inclusive, and transformers to w keys
    through the query. NeMo's own importers write (w, 0), one key more than
    the Hugging Face model attended to; the fixtures use the exact window,
    so that the NeMo 1 model computes what the Hugging Face one does."""
    return [sliding_window - 1, 0]


def read_safetensors(path):
    """{name: tensor} of one .safetensors file."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = bytearray(f.read())  # writable, so frombuffer does not warn
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        dt = ST_DTYPES[info["dtype"]]
        t = torch.frombuffer(data, dtype=dt, count=(hi - lo) // torch.tensor([], dtype=dt).element_size(),
                             offset=lo) if hi > lo else torch.empty(0, dtype=dt)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def read_hf(d):
    """(config.json as a dict, {name: tensor} of every *.safetensors in d)."""
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    sd = {}
    for p in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        sd.update(read_safetensors(p))
    return cfg, sd


def rope(cfg, key, default):
    """A rope setting: transformers 5 keeps it in rope_parameters, 4.x at top level."""
    rp = cfg.get("rope_parameters") or {}
    return rp.get(key, cfg.get(key, default))


def padded_vocab(v, tp, divisible_by=128):
    """Megatron's _vocab_size_with_padding: a multiple of divisible_by * tp."""
    m = divisible_by * tp
    return -(-v // m) * m


def pad_rows(t, rows, seed):
    """t with random rows appended up to rows, as a NeMo 1 trained model's
    padded vocabulary has (trained, not zero: the export must drop them)."""
    if t.shape[0] == rows:
        return t
    g = torch.Generator().manual_seed(seed)
    extra = (torch.randn((rows - t.shape[0],) + tuple(t.shape[1:]), generator=g) * 0.02).to(t.dtype)
    return torch.cat([t, extra])


def interleave_qkv(q, k, v, heads, groups, kv):
    """Megatron's fused linear_qkv rows: per query group, its q heads then
    its k head then its v head (as convert_llama_hf_to_nemo.py builds it)."""
    per = heads // groups
    q = q.reshape(groups, per * kv, *q.shape[1:])
    k = k.reshape(groups, kv, *k.shape[1:])
    v = v.reshape(groups, kv, *v.shape[1:])
    return torch.cat([q, k, v], dim=1).reshape(-1, *q.shape[2:])


def to_megatron(hfdir, tp=1, seed=1, divisible_by=128, zero_centered=False):
    """Returns (arch, tensors, nemo) for the HF checkpoint in hfdir:
    tensors is a list of (megatron_key, global_value, chunk_sizes) without
    the "model."/"module." prefix, layer-stacked, the vocabulary padded to a
    multiple of divisible_by * tp; chunk_sizes split it as a TP=tp save does. nemo is
    the model fields a NeMo 1 model_config.yaml would have. A Gemma's norm
    weights are stored as NeMo 1's importer stores them, 1 + w with
    layernorm_zero_centered_gamma off, unless zero_centered (w with it on,
    as NeMo 2 and Gemma 2 store them)."""
    cfg, sd = read_hf(hfdir)
    arch = MODEL_TYPES[cfg["model_type"]]
    out = []

    def stack(fmt, L):
        return torch.stack([sd[fmt % l] for l in range(L)])

    if arch == "nemotronh":
        return arch, *nemotronh_to_megatron(cfg, sd, tp, seed, divisible_by)
    if arch == "starcoder2":
        # convert_starcoder2_hf_to_nemo.py: q/k/v weights and biases
        # interleaved per query group, every linear and norm with a bias.
        L, H, heads = cfg["num_hidden_layers"], cfg["hidden_size"], cfg["num_attention_heads"]
        groups = cfg.get("num_key_value_heads") or heads
        kv, F, V = H // heads, cfg["intermediate_size"], cfg["vocab_size"]
        Vp = padded_vocab(V, tp, divisible_by)
        qkv_rows = (heads + 2 * groups) * kv
        pre = "model.layers.%d."

        def qkv(kind):
            return torch.stack([interleave_qkv(*(sd[pre % l + "self_attn.%s_proj.%s" % (x, kind)] for x in "qkv"),
                                               heads, groups, kv) for l in range(L)])
        out += [
            ("embedding.word_embeddings.weight", pad_rows(sd["model.embed_tokens.weight"], Vp, seed), (Vp // tp, H)),
            ("decoder.layers.self_attention.linear_qkv.layer_norm_weight", stack(pre + "input_layernorm.weight", L), (1, H)),
            ("decoder.layers.self_attention.linear_qkv.layer_norm_bias", stack(pre + "input_layernorm.bias", L), (1, H)),
            ("decoder.layers.self_attention.linear_qkv.weight", qkv("weight"), (1, qkv_rows // tp, H)),
            ("decoder.layers.self_attention.linear_qkv.bias", qkv("bias"), (1, qkv_rows // tp)),
            ("decoder.layers.self_attention.linear_proj.weight", stack(pre + "self_attn.o_proj.weight", L), (1, H, H // tp)),
            ("decoder.layers.self_attention.linear_proj.bias", stack(pre + "self_attn.o_proj.bias", L), (1, H)),
            ("decoder.layers.mlp.linear_fc1.layer_norm_weight", stack(pre + "post_attention_layernorm.weight", L), (1, H)),
            ("decoder.layers.mlp.linear_fc1.layer_norm_bias", stack(pre + "post_attention_layernorm.bias", L), (1, H)),
            ("decoder.layers.mlp.linear_fc1.weight", stack(pre + "mlp.c_fc.weight", L), (1, F // tp, H)),
            ("decoder.layers.mlp.linear_fc1.bias", stack(pre + "mlp.c_fc.bias", L), (1, F // tp)),
            ("decoder.layers.mlp.linear_fc2.weight", stack(pre + "mlp.c_proj.weight", L), (1, H, F // tp)),
            ("decoder.layers.mlp.linear_fc2.bias", stack(pre + "mlp.c_proj.bias", L), (1, H)),
            ("decoder.final_layernorm.weight", sd["model.norm.weight"], (H,)),
            ("decoder.final_layernorm.bias", sd["model.norm.bias"], (H,)),
        ]
        tie = cfg.get("tie_word_embeddings", True)
        if not tie:
            out.append(("output_layer.weight", pad_rows(sd["lm_head.weight"], Vp, seed + 1), (Vp // tp, H)))
        nemo = dict(num_layers=L, hidden_size=H, ffn_hidden_size=F, num_attention_heads=heads,
                    num_query_groups=groups, kv_channels=None, seq=cfg["max_position_embeddings"],
                    normalization="layernorm", layernorm_epsilon=cfg["norm_epsilon"],
                    activation="gelu", bias=True, position_embedding_type="rope",
                    rotary_base=rope(cfg, "rope_theta", 10000.0), rotary_percentage=1.0,
                    share_embeddings_and_output_weights=tie)
        if cfg.get("sliding_window"):
            nemo["window_size"] = window_size(cfg["sliding_window"])
    elif arch == "gpt":
        L, H, heads, F = cfg["n_layer"], cfg["n_embd"], cfg["n_head"], cfg["n_inner"] or 4 * cfg["n_embd"]
        groups = 1 if cfg.get("multi_query", True) else heads
        kv = H // heads
        V = cfg["vocab_size"]
        Vp = padded_vocab(V, tp, divisible_by)
        qkv_rows = (heads + 2 * groups) * kv
        pre = "transformer.h.%d."
        # c_attn with multi_query=False is viewed per head as [q_h, k_h, v_h]
        # (GPTBigCodeAttention.forward): Megatron's layout with groups == heads.
        out += [
            ("embedding.word_embeddings.weight", pad_rows(sd["transformer.wte.weight"], Vp, seed), (Vp // tp, H)),
            ("embedding.position_embeddings.weight", sd["transformer.wpe.weight"], tuple(sd["transformer.wpe.weight"].shape)),
            ("decoder.layers.self_attention.linear_qkv.layer_norm_weight", stack(pre + "ln_1.weight", L), (1, H)),
            ("decoder.layers.self_attention.linear_qkv.layer_norm_bias", stack(pre + "ln_1.bias", L), (1, H)),
            ("decoder.layers.self_attention.linear_qkv.weight", stack(pre + "attn.c_attn.weight", L), (1, qkv_rows // tp, H)),
            ("decoder.layers.self_attention.linear_qkv.bias", stack(pre + "attn.c_attn.bias", L), (1, qkv_rows // tp)),
            ("decoder.layers.self_attention.linear_proj.weight", stack(pre + "attn.c_proj.weight", L), (1, H, H // tp)),
            ("decoder.layers.self_attention.linear_proj.bias", stack(pre + "attn.c_proj.bias", L), (1, H)),
            ("decoder.layers.mlp.linear_fc1.layer_norm_weight", stack(pre + "ln_2.weight", L), (1, H)),
            ("decoder.layers.mlp.linear_fc1.layer_norm_bias", stack(pre + "ln_2.bias", L), (1, H)),
            ("decoder.layers.mlp.linear_fc1.weight", stack(pre + "mlp.c_fc.weight", L), (1, F // tp, H)),
            ("decoder.layers.mlp.linear_fc1.bias", stack(pre + "mlp.c_fc.bias", L), (1, F // tp)),
            ("decoder.layers.mlp.linear_fc2.weight", stack(pre + "mlp.c_proj.weight", L), (1, H, F // tp)),
            ("decoder.layers.mlp.linear_fc2.bias", stack(pre + "mlp.c_proj.bias", L), (1, H)),
            ("decoder.final_layernorm.weight", sd["transformer.ln_f.weight"], (H,)),
            ("decoder.final_layernorm.bias", sd["transformer.ln_f.bias"], (H,)),
        ]
        if not cfg.get("tie_word_embeddings", True):
            out.append(("output_layer.weight", pad_rows(sd["lm_head.weight"], Vp, seed + 1), (Vp // tp, H)))
        nemo = dict(num_layers=L, hidden_size=H, ffn_hidden_size=F, num_attention_heads=heads,
                    num_query_groups=groups, kv_channels=None, seq=cfg["n_positions"],
                    normalization="layernorm", layernorm_epsilon=cfg["layer_norm_epsilon"],
                    activation="gelu", bias=True, position_embedding_type="learned_absolute",
                    rotary_base=None, rotary_percentage=1.0,
                    share_embeddings_and_output_weights=cfg.get("tie_word_embeddings", True))
    else:
        L, H, heads = cfg["num_hidden_layers"], cfg["hidden_size"], cfg["num_attention_heads"]
        groups = cfg.get("num_key_value_heads") or heads
        kv = cfg.get("head_dim") or H // heads
        F = cfg["intermediate_size"]
        V = cfg["vocab_size"]
        Vp = padded_vocab(V, tp, divisible_by)
        qkv_rows = (heads + 2 * groups) * kv
        pre = "model.layers.%d."
        qkv = torch.stack([interleave_qkv(sd[pre % l + "self_attn.q_proj.weight"], sd[pre % l + "self_attn.k_proj.weight"],
                                          sd[pre % l + "self_attn.v_proj.weight"], heads, groups, kv) for l in range(L)])
        gemma = arch in ("gemma", "gemma2")
        shift = 1.0 if arch == "gemma" and not zero_centered else 0.0

        def norm(fmt):
            # convert_gemma_hf_to_nemo.py adds 1 to every norm weight.
            t = stack(fmt, L) if "%d" in fmt else sd[fmt]
            return (t.float() + shift).to(t.dtype) if shift else t
        out += [
            ("embedding.word_embeddings.weight", pad_rows(sd["model.embed_tokens.weight"], Vp, seed), (Vp // tp, H)),
            ("decoder.layers.self_attention.linear_qkv.layer_norm_weight", norm(pre + "input_layernorm.weight"), (1, H)),
        ]
        if arch == "nemotron":
            out.append(("decoder.layers.self_attention.linear_qkv.layer_norm_bias", stack(pre + "input_layernorm.bias", L), (1, H)))
        if arch in ("qwen2", "glm"):
            # q/k/v biases, interleaved per query group like the weights.
            bias = torch.stack([interleave_qkv(sd[pre % l + "self_attn.q_proj.bias"], sd[pre % l + "self_attn.k_proj.bias"],
                                               sd[pre % l + "self_attn.v_proj.bias"], heads, groups, kv) for l in range(L)])
            out.append(("decoder.layers.self_attention.linear_qkv.bias", bias, (1, qkv_rows // tp)))
        out += [
            ("decoder.layers.self_attention.linear_qkv.weight", qkv, (1, qkv_rows // tp, H)),
            ("decoder.layers.self_attention.linear_proj.weight", stack(pre + "self_attn.o_proj.weight", L), (1, H, heads * kv // tp)),
        ]
        if arch == "mixtral":
            E = cfg["num_local_experts"]
            ex = pre + "block_sparse_moe.experts.%d."

            def experts(fn):
                return torch.stack([torch.stack([fn(l, e) for e in range(E)]) for l in range(L)])
            out += [
                ("decoder.layers.pre_mlp_layernorm.weight", stack(pre + "post_attention_layernorm.weight", L), (1, H)),
                ("decoder.layers.mlp.router.weight", stack(pre + "block_sparse_moe.gate.weight", L), (1, E, H)),
                ("decoder.layers.mlp.experts.experts.linear_fc1.weight",
                 experts(lambda l, e: torch.cat([sd[ex % (l, e) + "w1.weight"], sd[ex % (l, e) + "w3.weight"]])),
                 (1, 1, F // tp, H)),
                ("decoder.layers.mlp.experts.experts.linear_fc2.weight",
                 experts(lambda l, e: sd[ex % (l, e) + "w2.weight"]), (1, 1, H, F // tp)),
            ]
        elif arch == "gemma2":
            # convert_gemma2_hf_to_nemo.py: the four norms of a layer.
            out += [
                ("decoder.layers.self_attention.linear_proj.post_layernorm.weight", norm(pre + "post_attention_layernorm.weight"), (1, H)),
                ("decoder.layers.mlp.linear_fc1.layer_norm_weight", norm(pre + "pre_feedforward_layernorm.weight"), (1, H)),
                ("decoder.layers.mlp.linear_fc1.weight", torch.stack([torch.cat([sd[pre % l + "mlp.gate_proj.weight"], sd[pre % l + "mlp.up_proj.weight"]])
                                                                       for l in range(L)]), (1, F // tp, H)),
                ("decoder.layers.mlp.linear_fc2.weight", stack(pre + "mlp.down_proj.weight", L), (1, H, F // tp)),
                ("decoder.layers.mlp.linear_fc2.post_layernorm.weight", norm(pre + "post_feedforward_layernorm.weight"), (1, H)),
            ]
        else:
            out.append(("decoder.layers.mlp.linear_fc1.layer_norm_weight", norm(pre + "post_attention_layernorm.weight"), (1, H)))
            if arch == "nemotron":
                out.append(("decoder.layers.mlp.linear_fc1.layer_norm_bias", stack(pre + "post_attention_layernorm.bias", L), (1, H)))
                fc1 = stack(pre + "mlp.up_proj.weight", L)
            elif arch == "glm":  # GlmMLP's gate_up_proj is already [gate; up]
                fc1 = stack(pre + "mlp.gate_up_proj.weight", L)
            else:  # SwiGLU: [gate; up]
                fc1 = torch.stack([torch.cat([sd[pre % l + "mlp.gate_proj.weight"], sd[pre % l + "mlp.up_proj.weight"]])
                                   for l in range(L)])
            out += [
                ("decoder.layers.mlp.linear_fc1.weight", fc1, (1, F // tp, H)),
                ("decoder.layers.mlp.linear_fc2.weight", stack(pre + "mlp.down_proj.weight", L), (1, H, F // tp)),
            ]
        out.append(("decoder.final_layernorm.weight", norm("model.norm.weight"), (H,)))
        if arch == "nemotron":
            out.append(("decoder.final_layernorm.bias", sd["model.norm.bias"], (H,)))
        tie = cfg.get("tie_word_embeddings", gemma)
        if not tie:
            out.append(("output_layer.weight", pad_rows(sd["lm_head.weight"], Vp, seed + 1), (Vp // tp, H)))
        nemo = dict(num_layers=L, hidden_size=H, ffn_hidden_size=F, num_attention_heads=heads,
                    num_query_groups=groups, kv_channels=kv if kv * heads != H else None,
                    seq=cfg["max_position_embeddings"],
                    normalization={"nemotron": "layernorm1p"}.get(arch, "rmsnorm"),
                    layernorm_epsilon=cfg["norm_eps"] if arch == "nemotron" else cfg["rms_norm_eps"],
                    activation={"nemotron": "squared-relu", "gemma": "fast-geglu", "gemma2": "fast-geglu"}.get(arch, "fast-swiglu"),
                    bias=False,
                    position_embedding_type="rope", rotary_base=rope(cfg, "rope_theta", 10000.0),
                    rotary_percentage=rope(cfg, "partial_rotary_factor", 0.5 if arch == "nemotron" else 1.0),
                    share_embeddings_and_output_weights=tie)
        if arch in ("qwen2", "glm"):
            nemo["qkv_bias"] = True
        if arch == "glm":
            # convert_chatglm_hf_to_nemo.py: RoPE on interleaved pairs.
            nemo["rotary_interleaved"] = True
        if arch == "mixtral":
            nemo.update(num_moe_experts=cfg["num_local_experts"], moe_router_topk=cfg["num_experts_per_tok"])
        rope_type = rope(cfg, "rope_type", None) or (cfg.get("rope_scaling") or {}).get("rope_type")
        if rope_type == "llama3":
            # NeMo 1's Llama 3.1 importer: scale_positional_embedding with
            # apply_rope_scaling's parameters (mcore_model_customize).
            sc = dict(cfg.get("rope_scaling") or {}, **(cfg.get("rope_parameters") or {}))
            nemo.update(scale_positional_embedding=True, scale_factor=float(sc["factor"]),
                        low_freq_factor=float(sc["low_freq_factor"]), high_freq_factor=float(sc["high_freq_factor"]),
                        old_context_len=int(sc["original_max_position_embeddings"]))
        if arch == "mistral":
            nemo["window_size"] = window_size(cfg["sliding_window"])
        if gemma:
            # megatron_gemma{,2}_config.yaml with the importers' settings.
            nemo.update(openai_gelu=True, apply_embedding_scaling=True, bias_activation_fusion=False,
                        layernorm_zero_centered_gamma=arch == "gemma2" or zero_centered)
        if arch == "gemma2":
            nemo["name"] = "megatron_gemma2"
            nemo["mcore_customization_config"] = dict(
                query_pre_attn_scalar=cfg["query_pre_attn_scalar"],
                attn_logit_softcapping=float(cfg["attn_logit_softcapping"]),
                final_logit_softcapping=float(cfg["final_logit_softcapping"]))
            nemo["window_size"] = window_size(cfg["sliding_window"])
    nemo["init_method_std"] = cfg.get("initializer_range", 0.02)
    nemo["vocab_size"] = V
    nemo["params_dtype"] = out[0][1].dtype
    return arch, out, nemo


BLOCK_SYMBOLS = {"mamba": "M", "attention": "*", "mlp": "-"}


def nemotronh_to_megatron(cfg, sd, tp, seed, divisible_by):
    """(tensors, nemo) of a NemotronH checkpoint: HFNemotronHImporter's
    mapping (every block's norm fused into its first linear layer, q/k/v
    interleaved per query group), saved as MambaStack saves it: a key per
    layer, the mixer's in_proj split z, x, B, C, dt and conv1d x, B, C in
    the order of Hugging Face's rows, each TP-chunked on its first axis."""
    pattern = cfg.get("hybrid_override_pattern") or "".join(BLOCK_SYMBOLS[b] for b in cfg["layers_block_type"])
    H, heads, F, V = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"], cfg["vocab_size"]
    groups = cfg.get("num_key_value_heads") or heads
    kv = cfg.get("head_dim") or H // heads
    nh, hd, G, S = cfg["mamba_num_heads"], cfg["mamba_head_dim"], cfg["n_groups"], cfg["ssm_state_size"]
    inner = nh * hd
    Vp = padded_vocab(V, tp, divisible_by)

    def hf(name):
        for pre in ("backbone.", "model."):
            for n in (name, name.replace("embeddings.", "embedding.")):
                if pre + n in sd:
                    return sd[pre + n]
        raise KeyError(name)

    out = []

    def rows(key, t):  # TP-chunked on the first axis
        out.append((key, t, (t.shape[0] // tp,) + tuple(t.shape[1:])))

    def cols(key, t):  # TP-chunked on the second axis (row-parallel linears)
        out.append((key, t, (t.shape[0], t.shape[1] // tp)))

    def whole(key, t):
        out.append((key, t, tuple(t.shape)))

    rows("embedding.word_embeddings.weight", pad_rows(hf("embeddings.weight"), Vp, seed))
    for i, sym in enumerate(pattern):
        h, m = "layers.%d." % i, "decoder.layers.%d." % i
        if sym == "M":
            whole(m + "mixer.in_proj.layer_norm_weight", hf(h + "norm.weight"))
            z, x, b, c, dt = torch.split(hf(h + "mixer.in_proj.weight"), [inner, inner, G * S, G * S, nh])
            for part, t in (("z", z), ("x", x), ("B", b), ("C", c), ("dt", dt)):
                rows(m + "mixer.in_proj.weight." + part, t.clone())
            for kind in ("weight", "bias"):
                x, b, c = torch.split(hf(h + "mixer.conv1d." + kind), [inner, G * S, G * S])
                for part, t in (("x", x), ("B", b), ("C", c)):
                    rows(m + "mixer.conv1d.%s.%s" % (kind, part), t.clone())
            for name in ("A_log", "D", "dt_bias", "norm.weight"):
                rows(m + "mixer." + name, hf(h + "mixer." + name))
            cols(m + "mixer.out_proj.weight", hf(h + "mixer.out_proj.weight"))
        elif sym == "*":
            whole(m + "self_attention.linear_qkv.layer_norm_weight", hf(h + "norm.weight"))
            rows(m + "self_attention.linear_qkv.weight",
                 interleave_qkv(*(hf(h + "mixer.%s_proj.weight" % x) for x in "qkv"), heads, groups, kv))
            cols(m + "self_attention.linear_proj.weight", hf(h + "mixer.o_proj.weight"))
        else:
            whole(m + "mlp.linear_fc1.layer_norm_weight", hf(h + "norm.weight"))
            rows(m + "mlp.linear_fc1.weight", hf(h + "mixer.up_proj.weight"))
            cols(m + "mlp.linear_fc2.weight", hf(h + "mixer.down_proj.weight"))
    whole("decoder.final_norm.weight", hf("norm_f.weight"))
    rows("output_layer.weight", pad_rows(sd["lm_head.weight"], Vp, seed + 1))
    nemo = dict(num_layers=len(pattern), hidden_size=H, ffn_hidden_size=F, num_attention_heads=heads,
                num_query_groups=groups, kv_channels=kv if kv * heads != H else None,
                seq=cfg["max_position_embeddings"], layernorm_epsilon=cfg["layer_norm_epsilon"],
                activation={"relu2": "squared-relu", "silu": "swiglu"}[cfg["mlp_hidden_act"]],
                pattern=pattern, ngroups=G, state=S, headdim=hd, mamba_heads=nh,
                init_method_std=cfg.get("initializer_range", 0.02), vocab_size=Vp, params_dtype=out[0][1].dtype)
    return out, nemo

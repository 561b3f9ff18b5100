"""Lists every __init__ field of NeMo 2 config classes, with its default.

Reads the Python sources without importing them (NeMo and Megatron-Core
need CUDA, TransformerEngine, ...): parses the dataclasses with `ast` and
resolves inheritance the way `dataclasses` does (base fields first, in
declaration order; a redeclared field keeps its place and takes the new
default). Writes one <Class>.tsv per class: `name<TAB>default`, the default
as Python's repr, or `ref:<module>.<name>` for a class, function, enum
member or torch dtype (see REFS).

Usage:
    python3 extract_configs.py <NeMo checkout> <Megatron-LM checkout> <out dir>

with NVIDIA/NeMo at 8cfedd7203462cb251a914e700e5605444277561 and
NVIDIA/Megatron-LM at b615e731080e83703ff3e93b11d3a9bc5bb281c3 (the commit
NeMo's requirements/manifest.json pins).
"""

import ast
import os
import sys

# Defaults that are names rather than literals, as the Python objects they
# evaluate to: module where defined + qualified name.
REFS = {
    "torch.float32": "ref:torch.float32",
    "torch.bfloat16": "ref:torch.bfloat16",
    "F.gelu": "ref:torch._C._nn.gelu",  # a builtin: torch.nn.functional.gelu is torch._C._nn.gelu
    "F.silu": "ref:torch.nn.functional.silu",
    "squared_relu": "ref:nemo.collections.llm.fn.activation.squared_relu",
    "AttnBackend.auto": "ref:megatron.core.transformer.enums.AttnBackend.auto",
    "AttnBackend.flash": "ref:megatron.core.transformer.enums.AttnBackend.flash",
    "openai_gelu": "ref:nemo.collections.llm.fn.activation.openai_gelu",
    "gemma2_layer_spec": "ref:nemo.collections.llm.gpt.model.gemma2.gemma2_layer_spec",
    "default_layer_spec": "ref:nemo.collections.llm.gpt.model.base.default_layer_spec",
    "gpt_forward_step": "ref:nemo.collections.llm.gpt.model.base.gpt_forward_step",
    "gpt_data_step": "ref:nemo.collections.llm.gpt.model.base.gpt_data_step",
    "ssm_forward_step": "ref:nemo.collections.llm.gpt.model.ssm.ssm_forward_step",
    # A ModuleSpec instance (ssm.py imports it under this name).
    "default_mamba_stack_spec": "ref:megatron.core.models.mamba.mamba_layer_specs.mamba_stack_spec",
    # NemotronHConfigBase's activation: squared ReLU as a lambda; recorded
    # as NeMo's named function of the same computation.
    "lambda x: torch.pow(F.relu(x), 2)": "ref:nemo.collections.llm.fn.activation.squared_relu",
    # True when apex's fused_weight_gradient_mlp_cuda imports, as in NeMo's
    # container (NeMo's example model.yaml records true).
    "_grad_accum_fusion_available": "True",
}

FILES = [
    ("megatron", "megatron/core/model_parallel_config.py"),
    ("megatron", "megatron/core/transformer/transformer_config.py"),
    ("nemo", "nemo/collections/llm/gpt/model/base.py"),
    ("nemo", "nemo/collections/llm/gpt/model/llama.py"),
    ("nemo", "nemo/collections/llm/gpt/model/mistral.py"),
    ("nemo", "nemo/collections/llm/gpt/model/mixtral.py"),
    ("nemo", "nemo/collections/llm/gpt/model/nemotron.py"),
    ("nemo", "nemo/collections/llm/gpt/model/qwen2.py"),
    ("nemo", "nemo/collections/llm/gpt/model/starcoder2.py"),
    ("nemo", "nemo/collections/llm/gpt/model/gemma.py"),
    ("nemo", "nemo/collections/llm/gpt/model/gemma2.py"),
    ("nemo", "nemo/collections/llm/gpt/model/chatglm.py"),
    ("nemo", "nemo/collections/llm/gpt/model/baichuan.py"),
    ("nemo", "nemo/collections/llm/gpt/model/starcoder.py"),
    ("nemo", "nemo/collections/llm/gpt/model/ssm.py"),
]

CLASSES = [
    "GPTConfig", "LlamaConfig", "Llama2Config7B", "Llama2Config13B", "Llama2Config70B", "Llama3Config", "Llama3Config8B",
    "Llama3Config70B", "Llama31Config", "MistralConfig7B", "MixtralConfig", "MixtralConfig8x7B", "MixtralConfig8x22B",
    "NemotronConfig", "Nemotron3Config8B", "Nemotron3Config22B", "Nemotron4Config15B", "Nemotron4Config340B",
    "Qwen2Config", "Starcoder2Config",
    "GemmaConfig", "Gemma2Config", "ChatGLMConfig", "Baichuan2Config", "StarcoderConfig",
    "Gemma2Config2B", "Gemma2Config9B", "Gemma2Config27B",
    "ChatGLM2Config6B", "ChatGLM3Config6B", "Baichuan2Config7B", "StarcoderConfig15B",
    "SSMConfig", "NemotronHConfigBase", "NemotronHConfig4B", "NemotronHConfig8B", "NemotronHConfig47B",
    "NemotronHConfig56B",
]


def default_repr(node):
    if node is None:
        raise ValueError("field without default")
    if isinstance(node, ast.Call) and ast.unparse(node.func) in ("field", "dataclasses.field"):
        for kw in node.keywords:
            if kw.arg == "default_factory":
                body = kw.value.body if isinstance(kw.value, ast.Lambda) else kw.value
                if ast.unparse(body) in REFS:
                    return REFS[ast.unparse(body)]
                return repr(ast.literal_eval(body))
            if kw.arg == "default":
                return default_repr(kw.value)
        raise ValueError("field() without default: " + ast.unparse(node))
    src = ast.unparse(node)
    if src in REFS:
        return REFS[src]
    return repr(ast.literal_eval(node))


def main(nemo, megatron, out):
    roots = {"nemo": nemo, "megatron": megatron}
    classes = {}
    for root, path in FILES:
        with open(os.path.join(roots[root], path)) as f:
            tree = ast.parse(f.read())
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, node)

    def resolve(name):
        node = classes[name]
        order, fields = [], {}
        for base in node.bases:
            b = ast.unparse(base)
            if b in classes:
                o, m = resolve(b)
                for n in o:
                    if n not in fields:
                        order.append(n)
                    fields[n] = m[n]
        for st in node.body:
            if not (isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name)):
                continue
            if "ClassVar" in ast.unparse(st.annotation):
                continue
            if isinstance(st.value, ast.Call) and any(
                    kw.arg == "init" and ast.unparse(kw.value) == "False" for kw in st.value.keywords):
                continue
            n = st.target.id
            if n not in fields:
                order.append(n)
            fields[n] = default_repr(st.value)
        return order, fields

    for name in CLASSES:
        order, fields = resolve(name)
        with open(os.path.join(out, name + ".tsv"), "w") as f:
            for n in order:
                f.write(f"{n}\t{fields[n]}\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])

"""Writes the golden fiddle JSON files in this directory with the real fiddle.

Usage (fiddle is not a test dependency; see README.md):

    PYTHONPATH=<fiddle checkout>:<dir with a libcst stand-in> \
        /usr/bin/python3 gen_golden.py <output dir>

The NeMo, torch and nemo_run classes the trees name are stand-ins created
here in memory with the constructor signatures of the real ones (argument
order matters: fiddle orders a Config's arguments by signature). Objects are
captured the way NeMo's IOMixin captures them (nemo/lightning/io/mixin.py:
_io_transform_args binds the call to __init__ and passes the bound
arguments, var-keyword dict included, to fdl.Config), torch dtypes are
registered constants and builtin functions are written as NeMo's patched
serializer writes them (nemo/lightning/io/fdl_torch.py).
"""

import dataclasses
import enum
import inspect
import math
import os
import sys
import types

import fiddle as fdl
from fiddle._src import config as config_lib
from fiddle._src.experimental import serialization


def module(name):
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        n = ".".join(parts[:i])
        if n not in sys.modules:
            sys.modules[n] = types.ModuleType(n)
            if i > 1:
                setattr(sys.modules[".".join(parts[: i - 1])], parts[i - 1], sys.modules[n])
    return sys.modules[name]


def place(obj, path):
    mod, _, name = path.rpartition(".")
    obj.__module__ = mod
    obj.__name__ = name
    obj.__qualname__ = name
    setattr(module(mod), name, obj)
    return obj


# torch stand-ins: dtypes registered as constants, as fdl_torch.enable does.
class dtype:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "torch." + self.name


place(dtype, "torch.dtype")
for _n in ("bfloat16", "float32"):
    setattr(module("torch"), _n, dtype(_n))
    serialization.register_constant("torch", _n, compare_by_identity=True)


def silu(x):
    return x


place(silu, "torch.nn.functional.silu")


# NeMo's patch: builtin functions become pyrefs before anything else.
_original = serialization.Serialization._serialize


def _patched(self, value, current_path, all_paths=None):
    if isinstance(value, types.BuiltinFunctionType):
        return self._pyref(value, current_path)
    return _original(self, value, current_path, all_paths)


serialization.Serialization._serialize = _patched


class AttnBackend(enum.Enum):
    flash = 1
    auto = 5


place(AttnBackend, "megatron.core.transformer.enums.AttnBackend")


def capture(cls, *args, **kwargs):
    """IOMixin's capture: bind to __init__, keep what was given."""
    sig = inspect.signature(cls.__init__)
    bound = sig.bind_partial(None, *args, **kwargs).arguments
    bound.pop(next(iter(sig.parameters)))
    return fdl.Config(cls, **bound)


@dataclasses.dataclass
class Llama3Config8B:
    # The fields around the ones set, in TransformerConfig's order.
    fp16: bool = False
    bf16: bool = False
    params_dtype: object = None
    num_layers: int = 0
    attention_backend: object = None
    activation_func: object = None
    fp8: object = None
    fp8_recipe: str = "delayed"
    fp8_margin: int = 0
    fp8_interval: int = 1
    fp8_amax_history_len: int = 1
    fp8_amax_compute_algo: str = "most_recent"
    rotary_base: int = 500000
    window_size: object = None


place(Llama3Config8B, "nemo.collections.llm.gpt.model.llama.Llama3Config8B")


class LlamaModel:
    def __init__(self, config=None, optim=None, tokenizer=None, model_transform=None, model_context_managers=[]):
        pass


place(LlamaModel, "nemo.collections.llm.gpt.model.llama.LlamaModel")


class SentencePieceTokenizer:
    def __init__(self, model_path, special_tokens=None, legacy=False, ignore_extra_whitespaces=True,
                 chat_template=None, trim_spm_separator_after_special_token=True, spm_separator="\u2581"):
        pass


place(SentencePieceTokenizer, "nemo.collections.common.tokenizers.sentencepiece_tokenizer.SentencePieceTokenizer")


class MegatronMixedPrecision:
    def __init__(self, precision, params_dtype=None, pipeline_dtype=None, autocast_dtype=None,
                 autocast_enabled=False, grad_reduce_in_fp32=True):
        pass


place(MegatronMixedPrecision, "nemo.lightning.pytorch.plugins.mixed_precision.MegatronMixedPrecision")


class MegatronStrategy:
    def __init__(self, tensor_model_parallel_size=1, ckpt_load_optimizer=True, ddp="megatron",
                 ckpt_async_save=True, setup_optimizers=True, **kwargs):
        pass


place(MegatronStrategy, "nemo.lightning.pytorch.strategies.megatron_strategy.MegatronStrategy")


class Trainer:
    def __init__(self, *, accelerator="auto", strategy="auto", devices="auto", num_nodes=1):
        pass


place(Trainer, "nemo.lightning.pytorch.trainer.Trainer")


@dataclasses.dataclass
class TrainerContext:
    model: object
    trainer: object
    extra: dict = dataclasses.field(default_factory=dict)


place(TrainerContext, "nemo.lightning.io.pl.TrainerContext")


class RunConfig(fdl.Config):
    pass


place(RunConfig, "nemo_run.config.Config")


def trainer_context():
    """The context NeMo's convert_nemo1_to_nemo2.py dumps for Llama-3-8B."""
    bf16 = sys.modules["torch"].bfloat16
    config = capture(Llama3Config8B, bf16=True, params_dtype=bf16, fp8="hybrid", fp8_amax_history_len=1024,
                     fp8_amax_compute_algo="max")
    model = capture(LlamaModel, config, tokenizer=None)
    model.tokenizer = capture(SentencePieceTokenizer, model_path="0123abcd_tokenizer.model",
                              special_tokens=None, legacy=False, chat_template=None)
    plugins = RunConfig(MegatronMixedPrecision, precision="bf16-mixed", params_dtype=bf16, pipeline_dtype=bf16,
                        autocast_enabled=False, grad_reduce_in_fp32=True)
    strategy = capture(MegatronStrategy, ddp="pytorch", setup_optimizers=False, plugins=plugins)
    trainer = capture(Trainer, devices=1, accelerator="cpu", strategy=strategy)
    return capture(TrainerContext, trainer=trainer, model=model, extra={})


def shared():
    """Shared objects, every container and leaf kind, odd strings and floats."""
    shared_list = [1, 2.5, "x"]
    shared_cfg = capture(SentencePieceTokenizer, model_path="caf\u00e9 \"q\" 'a'\n\u2581\U0001f600")
    d = {"a": shared_list, "b": shared_list, 3: (), "t": (1, (2,)), "cfg": shared_cfg, "cfg2": shared_cfg}
    floats = [0.0, -0.0, 1.0, 1e-05, 0.0001, 1e16, 1e15, 123456789.125, 1.5e-07, -2.75, 1e300, 0.008944,
              math.inf, -math.inf]
    partial = fdl.Partial(SentencePieceTokenizer, model_path=None)
    return {
        "dict": d,
        "again": d,
        "floats": floats,
        "ints": [0, -1, 2**62, True, False, None],
        "enum": AttnBackend.auto,
        "enums": [AttnBackend.auto, AttnBackend.flash],
        "fn": silu,
        "fn2": [silu, sys.modules["torch"].bfloat16],
        "builtin": __import__("_json").scanstring,
        "partial": partial,
        "empty": {},
        "emptylist": [],
    }


def main(out):
    for name, tree in (("trainer_context", trainer_context()), ("shared", shared())):
        with open(os.path.join(out, name + ".json"), "w") as f:
            f.write(serialization.dump_json(tree))


if __name__ == "__main__":
    main(sys.argv[1])

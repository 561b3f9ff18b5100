"""Test-only: writes a small random Hugging Face checkpoint with transformers.

Runs under a current transformers (the sid chroot's python), not the host's.

    python3 hfmodel.py OUT --arch llama|mixtral|nemotron|gpt [--seed N] [--gpt2 VOCAB MERGES]

writes OUT/hf/ (config.json, model.safetensors, generation_config.json,
tokenizer.model) with save_pretrained, in bfloat16, and OUT/tokenizer.model
(the same SentencePiece model, for the NeMo 1 artifact). With --gpt2 the
model's tokenizer is GPT-2's over the two files instead, saved to hf/ by
transformers (tokenizer.json, tokenizer_config.json) and no tokenizer.model.
"""
import argparse
import os
import shutil

import torch
import transformers

from spfixture import small_sentencepiece

ARCHS = ("llama", "llama31", "mistral", "mixtral", "qwen2", "starcoder2", "nemotron", "gpt", "starcoder", "gemma", "gemma2", "glm",
         "nemotronh")


def config(arch, vocab, bos, eos):
    common = dict(vocab_size=vocab, bos_token_id=bos, eos_token_id=eos, dtype=torch.bfloat16)
    if arch == "llama":
        return transformers.LlamaConfig(
            hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5,
            rope_theta=500000.0, tie_word_embeddings=False, **common)
    if arch == "llama31":
        # Llama 3.1's RoPE scaling, with an original context short enough
        # that the frequencies it changes matter within hfcheck's prompt.
        return transformers.LlamaConfig(
            hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5,
            rope_theta=500000.0, tie_word_embeddings=False,
            rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                          "high_freq_factor": 4.0, "original_max_position_embeddings": 16}, **common)
    if arch == "mistral":
        # A window shorter than hfcheck's 16-token prompt, so a lost
        # sliding window shows in the logits.
        return transformers.MistralConfig(
            hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5,
            rope_theta=1000000.0, sliding_window=6, tie_word_embeddings=False, **common)
    if arch == "mixtral":
        return transformers.MixtralConfig(
            hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, num_local_experts=4, num_experts_per_tok=2,
            max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=1000000.0,
            tie_word_embeddings=False, **common)
    if arch == "qwen2":
        return transformers.Qwen2Config(
            hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6,
            rope_theta=1000000.0, tie_word_embeddings=False, use_sliding_window=False, **common)
    if arch == "starcoder2":
        # The tanh GeLU is what NeMo 1's default fused bias GeLU computes.
        return transformers.Starcoder2Config(
            hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=256, norm_epsilon=1e-5, rope_theta=100000.0,
            hidden_act="gelu_pytorch_tanh", sliding_window=6, use_bias=True, tie_word_embeddings=False, **common)
    if arch == "nemotron":
        return transformers.NemotronConfig(
            hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=256, norm_eps=1e-5, hidden_act="relu2",
            rope_theta=10000.0, partial_rotary_factor=0.5, tie_word_embeddings=False, **common)
    if arch == "glm":
        # GLM-4's class, ChatGLM's computation: q/k/v biases, RoPE on
        # interleaved pairs of half of each head.
        return transformers.GlmConfig(
            hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, head_dim=16, max_position_embeddings=256, rms_norm_eps=1e-5,
            rope_theta=10000.0, partial_rotary_factor=0.5, attention_bias=True, tie_word_embeddings=False,
            pad_token_id=None, **common)
    if arch == "starcoder":
        # bigcode/starcoder's shape: multi-query attention, untied output.
        return transformers.GPTBigCodeConfig(
            n_embd=48, n_inner=192, n_layer=2, n_head=6, multi_query=True, n_positions=128,
            activation_function="gelu_pytorch_tanh", layer_norm_epsilon=1e-5, scale_attn_weights=True,
            tie_word_embeddings=False, **common)
    if arch == "gemma":
        # head_dim other than hidden/heads, as Gemma's 7B has.
        return transformers.GemmaConfig(
            hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, head_dim=24, max_position_embeddings=256, rms_norm_eps=1e-6,
            rope_theta=10000.0, hidden_act="gelu_pytorch_tanh", tie_word_embeddings=True, **common)
    if arch == "gemma2":
        # Caps and a window small enough to matter on hfcheck's 16-token
        # prompt; the windowed layers are NeMo's (1-based even), not
        # transformers' default, so that NeMo's model is this one.
        return transformers.Gemma2Config(
            hidden_size=64, intermediate_size=160, num_hidden_layers=4, num_attention_heads=4,
            num_key_value_heads=2, head_dim=24, max_position_embeddings=256, rms_norm_eps=1e-6,
            rope_theta=10000.0, hidden_activation="gelu_pytorch_tanh", query_pre_attn_scalar=20,
            attn_logit_softcapping=5.0, final_logit_softcapping=3.0, sliding_window=6,
            layer_types=["full_attention", "sliding_attention"] * 2, tie_word_embeddings=True, **common)
    if arch == "nemotronh":
        # A Mamba-2 / attention / MLP hybrid in NemotronH's layout (head
        # width, mixer heads and groups all their own); the scan's chunk is
        # Megatron-Core's (128), which the export writes: the chunked scan
        # rounds differently with another.
        return transformers.NemotronHConfig(
            hidden_size=64, intermediate_size=96, hybrid_override_pattern="M*-M-", num_attention_heads=4,
            num_key_value_heads=2, head_dim=16, mamba_num_heads=8, mamba_head_dim=16, ssm_state_size=16,
            n_groups=2, conv_kernel=4, expand=2, chunk_size=128, layer_norm_epsilon=1e-5, mlp_hidden_act="relu2",
            max_position_embeddings=256, tie_word_embeddings=False, use_mamba_kernels=False, **common)
    if arch == "gpt":
        return transformers.GPTBigCodeConfig(
            n_embd=48, n_inner=192, n_layer=3, n_head=6, multi_query=False, n_positions=128,
            activation_function="gelu_pytorch_tanh", layer_norm_epsilon=1e-5, scale_attn_weights=True,
            tie_word_embeddings=True, **common)
    raise ValueError(arch)


def byte_level_tokenizer():
    """A small real byte-level BPE tokenizer (Qwen2's kind), trained here."""
    import random
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    rng = random.Random(11)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 8))) for _ in range(300)]
    lines = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(500)]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=["<|endoftext|>", "<|im_start|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer)
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>",
                                                bos_token="<|im_start|>", pad_token="<|endoftext|>")


def gpt2_tokenizer(vocab, merges):
    """GPT-2's tokenizer over a vocab.json and merges.txt, built by the
    tokenizers library from the two files alone (BPE.from_file, GPT-2's
    byte-level pre-tokenizer and decoder, <|endoftext|> special)."""
    from tokenizers import Tokenizer, decoders, pre_tokenizers
    from tokenizers.models import BPE
    tok = Tokenizer(BPE.from_file(vocab, merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    eot = "<|endoftext|>"
    tok.add_special_tokens([eot])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=eot, eos_token=eot, unk_token=eot)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--arch", required=True, choices=ARCHS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gpt2", nargs=2, metavar=("VOCAB_JSON", "MERGES_TXT"),
                    help="give the model this GPT-2 tokenizer (saved to hf/ as a fast tokenizer) "
                         "instead of the SentencePiece one")
    args = ap.parse_args()

    import sentencepiece as spm
    sp_bytes = small_sentencepiece(llama=True)
    sp = spm.SentencePieceProcessor(model_proto=sp_bytes)
    hftok = byte_level_tokenizer() if args.arch == "qwen2" else None
    if args.gpt2:
        hftok = gpt2_tokenizer(*args.gpt2)
    if hftok is not None:
        # Qwen2's own tokenizer class is a byte-level BPE: transformers
        # loads any qwen2 tokenizer as one, so the model gets a real one.
        cfg = config(args.arch, len(hftok), hftok.bos_token_id, hftok.eos_token_id)
    else:
        cfg = config(args.arch, sp.get_piece_size(), sp.bos_id(), sp.eos_id())
    torch.manual_seed(args.seed)
    model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
    # from_config's init leaves norms at exactly 1 (or 0): perturb every
    # tensor so that a swapped or dropped tensor shows in the logits.
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.add_(torch.randn_like(p) * 0.02)
            if args.arch == "gemma" and "norm" in name:
                # NeMo 1's Gemma importer stores 1 + w in bfloat16, which
                # rounds most small w: keep to the w it keeps exactly.
                p.copy_(((p.float() + 1).to(torch.bfloat16).float() - 1).to(p.dtype))
    model.eval()

    hf = os.path.join(args.out, "hf")
    shutil.rmtree(hf, ignore_errors=True)
    model.save_pretrained(hf)
    if not args.gpt2:
        with open(os.path.join(hf, "tokenizer.model"), "wb") as f:
            f.write(sp_bytes)
        shutil.copy(os.path.join(hf, "tokenizer.model"), os.path.join(args.out, "tokenizer.model"))
    if hftok is not None:
        hftok.save_pretrained(hf)
    print("wrote %s (%s, vocab %d)" % (hf, type(model).__name__, cfg.vocab_size))


if __name__ == "__main__":
    main()

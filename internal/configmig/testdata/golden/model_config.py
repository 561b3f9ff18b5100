"""NeMo 2.0 training script migrated by nemo-migrate from model_config.yaml.

Each argument's comment names the NeMo 1.0 YAML key it comes from; "NeMo 1.0 default"
marks a value the YAML left out, written because NeMo 2.0's default differs.
Check the warnings below before running. YAML keys with no NeMo 2.0
counterpart are listed at the end of the file.
"""

# Check before running:
# - dist_ckpt_parallel_save: dist_ckpt_parallel_save is not set, so NeMo 1.0 used False; the script
#   passes ckpt_parallel_save=False because NeMo 2.0's default is True
# - dist_ckpt_parallel_load: dist_ckpt_parallel_load is not set, so NeMo 1.0 used False; the script
#   passes ckpt_parallel_load=False because NeMo 2.0's default is True
# - line 4, model_config: 2 model settings absent from the YAML are written with NeMo 1.0's defaults
#   because GPTConfig's differ (marked "NeMo 1.0 default")
# - line 29, tokenizer.model: tokenizer.model is
#   "nemo:c4a3cd3e2a9f4f8c8a7a2a3e4b1e0e4f_2b_tokenizer.model", a file stored inside a .nemo
#   archive; extract it (nemo-migrate convert copies it to the checkpoint's context/) and give its
#   path
# - line 38, optim.sched: NeMo 1.0 derived the scheduler's max_steps from the epochs and dataset
#   size at run time; set max_steps

from lightning.pytorch.loggers import TensorBoardLogger
from megatron.core.optimizer import OptimizerConfig
from nemo import lightning as nl
from nemo.collections import llm
from nemo.collections.llm.gpt.model.base import GPTConfig, GPTModel
from nemo.collections.nlp.modules.common.tokenizer_utils import get_nmt_tokenizer
import torch
import torch.nn.functional as F


def main():
    tokenizer = get_nmt_tokenizer(
        library="sentencepiece",  # tokenizer.library
        model_name=None,  # tokenizer.type
        tokenizer_model="nemo:c4a3cd3e2a9f4f8c8a7a2a3e4b1e0e4f_2b_tokenizer.model",  # tokenizer.model
        vocab_file=None,  # tokenizer.vocab_file
        merges_file=None,  # tokenizer.merge_file
        legacy=False,  # tokenizer.sentencepiece_legacy
    )
    model = GPTModel(
        config=GPTConfig(
            seq_length=2048,  # encoder_seq_length
            num_layers=24,  # num_layers
            hidden_size=2048,  # hidden_size
            ffn_hidden_size=5440,  # ffn_hidden_size
            num_attention_heads=16,  # num_attention_heads
            init_method_std=0.014,  # init_method_std
            hidden_dropout=0.0,  # hidden_dropout
            attention_dropout=0.0,  # attention_dropout
            share_embeddings_and_output_weights=False,  # share_embeddings_and_output_weights
            rotary_percent=0.5,  # rotary_percentage
            add_bias_linear=False,  # bias
            normalization="LayerNorm",  # normalization: 'layernorm1p'
            layernorm_zero_centered_gamma=True,  # normalization: 'layernorm1p'; layernorm1p is LayerNorm with zero-centred gamma
            activation_func=F.silu,  # activation: 'fast-swiglu'
            gated_linear_unit=True,  # activation: 'fast-swiglu'; gated when the activation's name ends in glu
            position_embedding_type="rope",  # position_embedding_type
            bias_activation_fusion=True,  # NeMo 1.0 default, bias_activation_fusion not set; GPTConfig's default differs
            gradient_accumulation_fusion=False,  # NeMo 1.0 default, gradient_accumulation_fusion not set; GPTConfig's default differs
        ),
        tokenizer=tokenizer,
    )
    data = llm.PreTrainingDataModule(
        paths=["/data/pretrain_text_document"],  # data.data_prefix
        seq_length=2048,  # data.seq_length
        micro_batch_size=4,  # micro_batch_size
        global_batch_size=256,  # global_batch_size
        tokenizer=tokenizer,
    )
    # NeMo 2.0 always saves distributed (torch_dist) checkpoints: the non-distributed checkpoints of
    # NeMo 1.0 (model_weights.ckpt, mp_rank_*) are gone. Convert old checkpoints with `nemo-migrate
    # convert`.
    strategy = nl.MegatronStrategy(
        tensor_model_parallel_size=1,  # tensor_model_parallel_size
        pipeline_model_parallel_size=1,  # pipeline_model_parallel_size
        ckpt_parallel_save=False,  # NeMo 1.0 default, dist_ckpt_parallel_save not set; NeMo 2.0 defaults to True
        ckpt_parallel_load=False,  # NeMo 1.0 default, dist_ckpt_parallel_load not set; NeMo 2.0 defaults to True
    )
    precision = nl.MegatronMixedPrecision(
        precision="bf16-mixed",  # precision: 'bf16'
        params_dtype=torch.bfloat16,  # megatron_amp_O2: True; megatron_amp_O2: half-precision parameters, fp32 main weights in the optimizer
    )
    trainer = nl.Trainer(
        strategy=strategy,
        plugins=precision,
    )
    optim = nl.MegatronOptimizerModule(
        config=OptimizerConfig(
            optimizer="adam",  # optim.name: 'distributed_fused_adam'
            use_distributed_optimizer=True,  # optim.name: 'distributed_fused_adam'
            lr=0.0001,  # optim.lr
            weight_decay=0.1,  # optim.weight_decay
            adam_beta1=0.9,  # optim.betas.0
            adam_beta2=0.98,  # optim.betas.1
        ),
        lr_scheduler=nl.lr_scheduler.CosineAnnealingScheduler(  # optim.sched.name
            warmup_steps=500,  # optim.sched.warmup_steps
            constant_steps=50000,  # optim.sched.constant_steps
            min_lr=1e-05,  # optim.sched.min_lr
        ),
    )
    logger = nl.NeMoLogger(
        ckpt=nl.ModelCheckpoint(),
        # exp_manager.create_tensorboard_logger is not set: NeMo 1.0 created a TensorBoard logger by
        # default.
        tensorboard=TensorBoardLogger(
            save_dir="tb_logs",  # NeMoLogger puts it under the log directory
        ),
    )
    resume = nl.AutoResume()
    llm.pretrain(
        model=model,
        data=data,
        trainer=trainer,
        log=logger,
        resume=resume,
        optim=optim,
    )


if __name__ == "__main__":
    main()


# YAML keys with no NeMo 2.0 counterpart:
# - line 4, mcore_gpt: NeMo 2.0 models are always Megatron-Core models
# - line 10, max_position_embeddings: GPTConfig sizes the position embeddings from seq_length
# - line 46, target: NeMo 2.0 names the model class in the script (llm.GPTModel, ...)
# - line 47, nemo_version: records the NeMo version that wrote the file

"""NeMo 2.0 training script migrated by nemo-migrate from llama_pretrain.yaml.

Each argument's comment names the NeMo 1.0 YAML key it comes from; "NeMo 1.0 default"
marks a value the YAML left out, written because NeMo 2.0's default differs.
Check the warnings below before running. YAML keys with no NeMo 2.0
counterpart are listed at the end of the file.
"""

# Check before running:
# - model.dist_ckpt_parallel_save: model.dist_ckpt_parallel_save is not set, so NeMo 1.0 used False;
#   the script passes ckpt_parallel_save=False because NeMo 2.0's default is True
# - model.dist_ckpt_parallel_load: model.dist_ckpt_parallel_load is not set, so NeMo 1.0 used False;
#   the script passes ckpt_parallel_load=False because NeMo 2.0's default is True
# - line 21, exp_manager.checkpoint_callback_params.async_save:
#   exp_manager.checkpoint_callback_params.async_save=False is kept explicitly: NeMo 2.0 changed the
#   default of ckpt_async_save to True
# - line 23, model: 3 model settings absent from the YAML are written with NeMo 1.0's defaults
#   because LlamaConfig's differ (marked "NeMo 1.0 default")
# - line 64, model.optim.sched: CosineAnnealingScheduler defaults to warmup_steps=750 and
#   constant_steps=80000; the script writes NeMo 1.0's 0 for the ones the YAML leaves out

from lightning.pytorch.loggers import TensorBoardLogger
from megatron.core.optimizer import OptimizerConfig
from nemo import lightning as nl
from nemo.collections import llm
from nemo.collections.llm.gpt.model.llama import LlamaConfig, LlamaModel
from nemo.collections.nlp.modules.common.tokenizer_utils import get_nmt_tokenizer
import torch
import torch.nn.functional as F


def main():
    tokenizer = get_nmt_tokenizer(
        library="huggingface",  # model.tokenizer.library
        model_name="meta-llama/Meta-Llama-3-8B",  # model.tokenizer.type
        use_fast=True,  # model.tokenizer.use_fast
    )
    model = LlamaModel(
        # The architecture is that of Llama3Config8B(); that class also brings its own defaults for
        # the settings not written here.
        config=LlamaConfig(
            seq_length=8192,  # model.encoder_seq_length
            num_layers=32,  # model.num_layers
            hidden_size=4096,  # model.hidden_size
            ffn_hidden_size=14336,  # model.ffn_hidden_size
            num_attention_heads=32,  # model.num_attention_heads
            num_query_groups=8,  # model.num_query_groups
            init_method_std=0.01,  # model.init_method_std
            layernorm_epsilon=1e-05,  # model.layernorm_epsilon
            share_embeddings_and_output_weights=False,  # model.share_embeddings_and_output_weights
            rotary_base=500000,  # model.rotary_base
            add_bias_linear=False,  # model.bias
            normalization="RMSNorm",  # model.normalization: 'rmsnorm'
            activation_func=F.silu,  # model.activation: 'swiglu'
            gated_linear_unit=True,  # model.activation: 'swiglu'; gated when the activation's name ends in glu
            position_embedding_type="rope",  # model.position_embedding_type
            hidden_dropout=0.1,  # NeMo 1.0 default, model.hidden_dropout not set; LlamaConfig's default differs
            attention_dropout=0.1,  # NeMo 1.0 default, model.attention_dropout not set; LlamaConfig's default differs
            gradient_accumulation_fusion=False,  # NeMo 1.0 default, model.gradient_accumulation_fusion not set; LlamaConfig's default differs
        ),
        tokenizer=tokenizer,
    )
    data = llm.PreTrainingDataModule(
        paths={"train": [1.0, "/data/llama/train_text_document"], "validation": ["/data/llama/val_text_document"], "test": ["/data/llama/test_text_document"]},  # model.data.data_prefix
        seq_length=8192,  # model.data.seq_length
        micro_batch_size=1,  # model.micro_batch_size
        global_batch_size=512,  # model.global_batch_size
        num_workers=8,  # model.data.num_workers
        tokenizer=tokenizer,
    )
    # NeMo 2.0 always saves distributed (torch_dist) checkpoints: the non-distributed checkpoints of
    # NeMo 1.0 (model_weights.ckpt, mp_rank_*) are gone. Convert old checkpoints with `nemo-migrate
    # convert`.
    strategy = nl.MegatronStrategy(
        tensor_model_parallel_size=4,  # model.tensor_model_parallel_size
        pipeline_model_parallel_size=2,  # model.pipeline_model_parallel_size
        virtual_pipeline_model_parallel_size=4,  # model.virtual_pipeline_model_parallel_size
        context_parallel_size=2,  # model.context_parallel_size
        sequence_parallel=True,  # model.sequence_parallel
        ckpt_parallel_save=False,  # NeMo 1.0 default, model.dist_ckpt_parallel_save not set; NeMo 2.0 defaults to True
        ckpt_parallel_load=False,  # NeMo 1.0 default, model.dist_ckpt_parallel_load not set; NeMo 2.0 defaults to True
        ckpt_async_save=False,  # exp_manager.checkpoint_callback_params.async_save; NeMo 2.0 defaults to True
    )
    precision = nl.MegatronMixedPrecision(
        precision="bf16-mixed",  # trainer.precision
        params_dtype=torch.bfloat16,  # model.megatron_amp_O2: True; megatron_amp_O2: half-precision parameters, fp32 main weights in the optimizer
    )
    trainer = nl.Trainer(
        devices=8,  # trainer.devices
        num_nodes=16,  # trainer.num_nodes
        max_steps=1000000,  # trainer.max_steps
        val_check_interval=2000,  # trainer.val_check_interval
        limit_val_batches=32,  # trainer.limit_val_batches
        log_every_n_steps=20,  # trainer.log_every_n_steps
        strategy=strategy,
        plugins=precision,
    )
    optim = nl.MegatronOptimizerModule(
        config=OptimizerConfig(
            optimizer="adam",  # model.optim.name: 'mcore_distributed_optim'
            use_distributed_optimizer=True,  # model.optim.name: 'mcore_distributed_optim'
            lr=0.0003,  # model.optim.lr
            weight_decay=0.1,  # model.optim.weight_decay
            adam_beta1=0.9,  # model.optim.betas.0
            adam_beta2=0.95,  # model.optim.betas.1
            adam_eps=1e-08,  # model.optim.eps
            clip_grad=1.0,  # trainer.gradient_clip_val; NeMo 2.0 clips in Megatron-Core's optimizer; Trainer(gradient_clip_val=...) is an error with MegatronMixedPrecision
        ),
        lr_scheduler=nl.lr_scheduler.CosineAnnealingScheduler(  # model.optim.sched.name
            max_steps=1000000,  # trainer.max_steps; NeMo 1.0 gave the scheduler trainer.max_steps
            warmup_steps=2000,  # model.optim.sched.warmup_steps
            constant_steps=0,  # NeMo 1.0 default, model.optim.sched.constant_steps not set; CosineAnnealingScheduler defaults to 80000
            min_lr=3e-05,  # model.optim.sched.min_lr
        ),
    )
    logger = nl.NeMoLogger(
        name="llama3_8b",  # exp_manager.name
        log_dir="/results/llama3_8b",  # exp_manager.exp_dir
        ckpt=nl.ModelCheckpoint(
            save_top_k=3,  # exp_manager.checkpoint_callback_params.save_top_k
        ),
        # exp_manager.create_tensorboard_logger is not set: NeMo 1.0 created a TensorBoard logger by
        # default.
        tensorboard=TensorBoardLogger(
            save_dir="tb_logs",  # NeMoLogger puts it under the log directory
        ),
    )
    resume = nl.AutoResume(
        resume_if_exists=True,  # exp_manager.resume_if_exists
    )
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
# - line 3, name: the run's name; NeMoLogger(name=...) takes exp_manager.name
# - line 24, model.mcore_gpt: NeMo 2.0 models are always Megatron-Core models

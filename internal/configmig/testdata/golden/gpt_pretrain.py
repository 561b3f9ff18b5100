"""NeMo 2.0 training script migrated by nemo-migrate from gpt_pretrain.yaml.

Each argument's comment names the NeMo 1.0 YAML key it comes from; "NeMo 1.0 default"
marks a value the YAML left out, written because NeMo 2.0's default differs.
Check the warnings below before running. YAML keys with no NeMo 2.0
counterpart are listed at the end of the file.
"""

# Check before running:
# - model.dist_ckpt_parallel_load: model.dist_ckpt_parallel_load is not set, so NeMo 1.0 used False;
#   the script passes ckpt_parallel_load=False because NeMo 2.0's default is True
# - line 124, model.dist_ckpt_assume_constant_structure: NeMo 1.0 never read
#   model.dist_ckpt_assume_constant_structure, so the old runs used False; NeMo 2.0 applies True

import os

from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from megatron.core.distributed import DistributedDataParallelConfig
from megatron.core.optimizer import OptimizerConfig
from nemo import lightning as nl
from nemo.collections import llm
from nemo.collections.llm.gpt.model.base import GPTConfig, GPTModel
from nemo.collections.nlp.modules.common.tokenizer_utils import get_nmt_tokenizer
from nemo.lightning.pytorch.callbacks import GarbageCollectionCallback, NsysCallback
import torch
import torch.nn.functional as F


def main():
    tokenizer = get_nmt_tokenizer(
        library="sentencepiece",  # model.tokenizer.library
        model_name=None,  # model.tokenizer.type
        tokenizer_model="/models/tokenizers/spm_256k.model",  # model.tokenizer.model
        vocab_file=None,  # model.tokenizer.vocab_file
        merges_file=None,  # model.tokenizer.merge_file
        delimiter=None,  # model.tokenizer.delimiter
        legacy=True,  # NeMo 1.0 default, model.tokenizer.sentencepiece_legacy not set; for a sentencepiece tokenizer; get_nmt_tokenizer defaults to False
    )
    model = GPTModel(
        config=GPTConfig(
            seq_length=4096,  # model.encoder_seq_length
            num_layers=24,  # model.num_layers
            hidden_size=2048,  # model.hidden_size
            ffn_hidden_size=8192,  # model.ffn_hidden_size
            num_attention_heads=16,  # model.num_attention_heads
            num_query_groups=None,  # model.num_query_groups
            kv_channels=None,  # model.kv_channels
            init_method_std=0.014,  # model.init_method_std
            hidden_dropout=0.0,  # model.hidden_dropout
            attention_dropout=0.0,  # model.attention_dropout
            layernorm_epsilon=1e-05,  # model.layernorm_epsilon
            make_vocab_size_divisible_by=128,  # model.make_vocab_size_divisible_by
            share_embeddings_and_output_weights=False,  # model.share_embeddings_and_output_weights
            rotary_percent=0.5,  # model.rotary_percentage
            add_bias_linear=False,  # model.bias
            fp32_residual_connection=False,  # model.fp32_residual_connection
            fp16_lm_cross_entropy=False,  # model.fp16_lm_cross_entropy
            masked_softmax_fusion=True,  # model.masked_softmax_fusion
            bias_activation_fusion=True,  # model.bias_activation_fusion
            bias_dropout_fusion=True,  # model.bias_dropout_add_fusion
            persist_layer_norm=True,  # model.persist_layer_norm
            apply_rope_fusion=True,  # model.apply_rope_fusion
            gradient_accumulation_fusion=True,  # model.gradient_accumulation_fusion
            recompute_granularity="selective",  # model.activations_checkpoint_granularity
            recompute_method=None,  # model.activations_checkpoint_method
            recompute_num_layers=None,  # model.activations_checkpoint_num_layers
            use_cpu_initialization=False,  # model.use_cpu_initialization
            cpu_offloading=False,  # model.cpu_offloading
            cpu_offloading_num_layers=23,  # model.cpu_offloading_num_layers
            normalization="LayerNorm",  # model.normalization: 'layernorm1p'
            layernorm_zero_centered_gamma=True,  # model.normalization: 'layernorm1p'; layernorm1p is LayerNorm with zero-centred gamma
            activation_func=F.silu,  # model.activation: 'fast-swiglu'
            gated_linear_unit=True,  # model.activation: 'fast-swiglu'; gated when the activation's name ends in glu
            position_embedding_type="rope",  # model.position_embedding_type
            apply_query_key_layer_scaling=False,  # model.apply_query_key_layer_scaling: True; NeMo 1.0 turned it off outside fp16
        ),
        tokenizer=tokenizer,
    )
    data = llm.PreTrainingDataModule(
        paths=[0.7, "/data/pile/pile_00_text_document", 0.3, "/data/pile/pile_01_text_document"],  # model.data.data_prefix
        seq_length=4096,  # model.data.seq_length
        micro_batch_size=2,  # model.micro_batch_size
        global_batch_size=1024,  # model.global_batch_size
        rampup_batch_size=None,  # model.rampup_batch_size
        num_workers=4,  # model.data.num_workers
        split="980,10,10",  # model.data.splits_string
        index_mapping_dir=os.environ.get("INDEX_CACHE", "/tmp/index_cache"),  # model.data.index_mapping_dir: ${oc.env:INDEX_CACHE,/tmp/index_cache}; read from the environment when the script runs, as NeMo 1.0 did
        reset_position_ids=False,  # model.data.reset_position_ids
        reset_attention_mask=False,  # model.data.reset_attention_mask
        eod_mask_loss=False,  # model.data.eod_mask_loss
        dataloader_type="single",  # model.data.dataloader_type
        seed=1234,  # model.seed
        tokenizer=tokenizer,
    )
    # NeMo 2.0 always saves distributed (torch_dist) checkpoints: the non-distributed checkpoints of
    # NeMo 1.0 (model_weights.ckpt, mp_rank_*) are gone. Convert old checkpoints with `nemo-migrate
    # convert`.
    strategy = nl.MegatronStrategy(
        tensor_model_parallel_size=2,  # model.tensor_model_parallel_size
        pipeline_model_parallel_size=2,  # model.pipeline_model_parallel_size
        virtual_pipeline_model_parallel_size=None,  # model.virtual_pipeline_model_parallel_size
        context_parallel_size=1,  # model.context_parallel_size
        sequence_parallel=True,  # model.sequence_parallel
        save_ckpt_format="torch_dist",  # model.dist_ckpt_format
        ckpt_load_directly_on_device=True,  # model.dist_ckpt_load_on_device
        ckpt_parallel_save=True,  # model.dist_ckpt_parallel_save
        ckpt_parallel_load=False,  # NeMo 1.0 default, model.dist_ckpt_parallel_load not set; NeMo 2.0 defaults to True
        ckpt_torch_dist_multiproc=2,  # model.dist_ckpt_torch_dist_multiproc
        ckpt_assume_constant_structure=True,  # model.dist_ckpt_assume_constant_structure
        ckpt_parallel_save_optim=True,  # model.dist_ckpt_parallel_dist_opt
        ckpt_load_strictness="log_all",  # model.dist_ckpt_load_strictness
        ckpt_async_save=True,  # exp_manager.checkpoint_callback_params.async_save
        ddp=DistributedDataParallelConfig(
            check_for_nan_in_grad=True,  # as MegatronStrategy's default ddp="megatron"
            overlap_grad_reduce=True,  # model.optim.overlap_grad_sync
            overlap_param_gather=True,  # model.optim.overlap_param_sync
        ),
    )
    precision = nl.MegatronMixedPrecision(
        precision="bf16-mixed",  # trainer.precision: 'bf16'
        params_dtype=torch.bfloat16,  # model.megatron_amp_O2: True; megatron_amp_O2: half-precision parameters, fp32 main weights in the optimizer
        fp8="hybrid",  # model.fp8: True (with model.fp8_e4m3, model.fp8_hybrid); fp8_hybrid is True
        fp8_margin=0,  # model.fp8_margin
        fp8_amax_history_len=1024,  # model.fp8_amax_history_len
        fp8_amax_compute_algo="max",  # model.fp8_amax_compute_algo
    )
    callbacks = [
        NsysCallback(  # model.nsys_profile.enabled
            start_step=10,  # model.nsys_profile.start_step
            end_step=12,  # model.nsys_profile.end_step
            ranks=[0, 8],  # model.nsys_profile.ranks
            gen_shape=False,  # model.nsys_profile.gen_shape
        ),
        GarbageCollectionCallback(
            gc_interval_train=100,  # model.gc_interval
            gc_interval_val=100,  # model.gc_interval
        ),
    ]
    trainer = nl.Trainer(
        devices=8,  # trainer.devices
        num_nodes=4,  # trainer.num_nodes
        accelerator="gpu",  # trainer.accelerator
        use_distributed_sampler=False,  # trainer.use_distributed_sampler
        max_epochs=-1,  # trainer.max_epochs
        max_steps=300000,  # trainer.max_steps
        log_every_n_steps=10,  # trainer.log_every_n_steps
        val_check_interval=2000,  # trainer.val_check_interval
        limit_val_batches=32,  # trainer.limit_val_batches
        limit_test_batches=50,  # trainer.limit_test_batches
        accumulate_grad_batches=1,  # trainer.accumulate_grad_batches
        num_sanity_val_steps=0,  # trainer.num_sanity_val_steps
        benchmark=False,  # trainer.benchmark
        enable_model_summary=False,  # trainer.enable_model_summary
        max_time="00:03:50:00",  # exp_manager.max_time_per_run; exp_manager stopped the run after this time
        strategy=strategy,
        plugins=precision,
        callbacks=callbacks,
    )
    optim = nl.MegatronOptimizerModule(
        config=OptimizerConfig(
            optimizer="adam",  # model.optim.name: 'distributed_fused_adam'
            use_distributed_optimizer=True,  # model.optim.name: 'distributed_fused_adam'
            lr=0.0002,  # model.optim.lr
            weight_decay=0.1,  # model.optim.weight_decay
            adam_beta1=0.9,  # model.optim.betas.0
            adam_beta2=0.95,  # model.optim.betas.1
            clip_grad=1.0,  # trainer.gradient_clip_val; NeMo 2.0 clips in Megatron-Core's optimizer; Trainer(gradient_clip_val=...) is an error with MegatronMixedPrecision
        ),
        lr_scheduler=nl.lr_scheduler.CosineAnnealingScheduler(  # model.optim.sched.name
            max_steps=300000,  # trainer.max_steps; NeMo 1.0 gave the scheduler trainer.max_steps
            warmup_steps=3000,  # model.optim.sched.warmup_ratio: 0.01; int(warmup_ratio x max_steps), as NeMo 1.0 computed it
            constant_steps=0,  # model.optim.sched.constant_steps
            min_lr=2e-05,  # model.optim.sched.min_lr
        ),
    )
    logger = nl.NeMoLogger(
        name="gpt_2b_pretrain",  # exp_manager.name
        log_dir="/results/gpt_2b",  # exp_manager.exp_dir
        explicit_log_dir=None,  # exp_manager.explicit_log_dir
        ckpt=nl.ModelCheckpoint(  # exp_manager.create_checkpoint_callback
            monitor="val_loss",  # exp_manager.checkpoint_callback_params.monitor
            save_top_k=5,  # exp_manager.checkpoint_callback_params.save_top_k
            mode="min",  # exp_manager.checkpoint_callback_params.mode
            filename="gpt_2b_pretrain--{val_loss:.2f}-{step}-{consumed_samples}",  # exp_manager.checkpoint_callback_params.filename
        ),
        tensorboard=TensorBoardLogger(  # exp_manager.create_tensorboard_logger
            save_dir="tb_logs",  # NeMoLogger puts it under the log directory
        ),
        wandb=WandbLogger(  # exp_manager.create_wandb_logger
            project="gpt-pretraining",  # exp_manager.wandb_logger_kwargs.project
            name="gpt_2b_pretrain_tp2",  # exp_manager.wandb_logger_kwargs.name
        ),
    )
    resume = nl.AutoResume(
        resume_if_exists=True,  # exp_manager.resume_if_exists
        resume_ignore_no_checkpoint=True,  # exp_manager.resume_ignore_no_checkpoint
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


# Interpolations nemo-migrate could not resolve:
# - line 152, model.data.index_mapping_dir: ${oc.env:INDEX_CACHE,/tmp/index_cache}: it reads the
#   environment variable INDEX_CACHE, which nemo-migrate does not read at conversion time


# YAML keys with no NeMo 2.0 counterpart:
# - line 4, defaults: Hydra's list of config files to compose; nemo-migrate reads the file as it is
# - line 7, name: the run's name; NeMoLogger(name=...) takes exp_manager.name
# - line 14, trainer.logger: NeMoLogger (log= of llm.pretrain) attaches the loggers in NeMo 2.0
# - line 15, trainer.enable_checkpointing: NeMoLogger(ckpt=nl.ModelCheckpoint(...)) adds
#   checkpointing in NeMo 2.0; NeMo 1.0 set this False because exp_manager did it
# - line 40, exp_manager.resume_from_checkpoint: null: nothing to resume from
# - line 46, exp_manager.checkpoint_callback_params.always_save_nemo: NeMo 2.0 writes no .nemo
#   files: each checkpoint is a directory with weights/ and context/
#   (ModelCheckpoint(save_context_on_train_end=...))
# - line 47, exp_manager.checkpoint_callback_params.save_nemo_on_train_end: NeMo 2.0 writes no .nemo
#   files: each checkpoint is a directory with weights/ and context/
#   (ModelCheckpoint(save_context_on_train_end=...))
# - line 49, exp_manager.checkpoint_callback_params.model_parallel_size: NeMo 2.0 takes the
#   model-parallel layout from MegatronStrategy
# - line 51, exp_manager.log_step_timing: NeMo 2.0's progress printer reports step times; NeMoLogger
#   has no such argument
# - line 55, model.restore_from_path: null: no weights to restore
# - line 56, model.mcore_gpt: NeMo 2.0 models are always Megatron-Core models
# - line 68, model.max_position_embeddings: GPTConfig sizes the position embeddings from seq_length
# - line 74, model.use_scaled_init_method: Megatron-Core always scales the output-layer
#   initialisation by the number of layers
# - line 77, model.ffn_dropout: Megatron-Core has no separate feed-forward dropout
# - line 83, model.pre_process: NeMo 2.0 sets pre_process and post_process per pipeline stage itself
# - line 84, model.post_process: NeMo 2.0 sets pre_process and post_process per pipeline stage
#   itself
# - line 88, model.transformer_block_type: Megatron-Core layers are pre-LayerNorm (pre_ln) only
# - line 93, model.resume_from_checkpoint: exp_manager.resume_from_checkpoint carries the checkpoint
#   to resume (nl.AutoResume)
# - line 103, model.native_amp_init_scale: the loss scaler exists only in fp16 (precision 16); this
#   config trains in bf16-mixed
# - line 104, model.native_amp_growth_interval: the loss scaler exists only in fp16 (precision 16);
#   this config trains in bf16-mixed
# - line 105, model.hysteresis: the loss scaler exists only in fp16 (precision 16); this config
#   trains in bf16-mixed
# - line 109, model.grad_allreduce_chunk_size_mb: Megatron-Core's DDP sizes its own buckets
#   (DistributedDataParallelConfig.bucket_size)
# - line 117, model.onnx_safe: ONNX export is not part of NeMo 2.0 training
# - line 118, model.gradient_as_bucket_view: Megatron-Core's DDP always keeps gradients in its
#   contiguous buffer
# - line 132, model.transformer_engine: NeMo 2.0 builds Transformer Engine layers by default
# - line 137, model.fp8_interval: Transformer Engine dropped the amax update interval;
#   MegatronMixedPrecision has no such argument
# - line 140, model.reduce_amax: NeMo 2.0 always reduces amax across the data-parallel group
# - line 141, model.ub_tp_comm_overlap: off; NeMo 2.0 turns it on with
#   MegatronCommOverlapCallback(tp_comm_overlap=True)
# - line 153, model.data.data_impl: Megatron-Core's GPTDataset reads indexed (mmap) .bin/.idx files
#   only
# - line 156, model.data.skip_warmup: Megatron-Core's GPTDataset decides this itself;
#   PreTrainingDataModule has no such argument
# - line 179, model.optim.bucket_cap_mb: Megatron-Core's optimizer (OptimizerConfig) has no such
#   setting; its distributed optimizer manages its own buffers

"""NeMo 2.0 training script migrated by nemo-migrate from mamba_pretrain.yaml.

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
# - exp_manager.checkpoint_callback_params.async_save:
#   exp_manager.checkpoint_callback_params.async_save is not set, so NeMo 1.0 used False; the script
#   passes ckpt_async_save=False because NeMo 2.0's default is True
# - line 66, model.optim.sched: CosineAnnealingScheduler defaults to warmup_steps=750 and
#   constant_steps=80000; the script writes NeMo 1.0's 0 for the ones the YAML leaves out

from lightning.pytorch.loggers import TensorBoardLogger
from megatron.core.optimizer import OptimizerConfig
from nemo import lightning as nl
from nemo.collections import llm
from nemo.collections.llm.fn.activation import squared_relu
from nemo.collections.llm.gpt.model.ssm import MambaModel, SSMConfig
from nemo.collections.nlp.modules.common.tokenizer_utils import get_nmt_tokenizer


def main():
    tokenizer = get_nmt_tokenizer(
        library="huggingface",  # model.tokenizer.library
        model_name="EleutherAI/gpt-neox-20b",  # model.tokenizer.type
        tokenizer_model=None,  # model.tokenizer.model
        vocab_file=None,  # model.tokenizer.vocab_file
        merges_file=None,  # model.tokenizer.merge_file
        use_fast=True,  # model.tokenizer.use_fast
    )
    model = MambaModel(
        config=SSMConfig(
            seq_length=8192,  # model.encoder_seq_length
            num_layers=8,  # model.num_layers
            hidden_size=1024,  # model.hidden_size
            ffn_hidden_size=4096,  # model.ffn_hidden_size
            num_attention_heads=8,  # model.num_attention_heads
            num_query_groups=4,  # model.num_query_groups
            hidden_dropout=0.0,  # model.hidden_dropout
            attention_dropout=0.0,  # model.attention_dropout
            layernorm_epsilon=1e-05,  # model.layernorm_epsilon
            make_vocab_size_divisible_by=128,  # model.make_vocab_size_divisible_by
            bias_activation_fusion=False,  # model.bias_activation_fusion
            normalization="RMSNorm",  # model.normalization
            activation_func=squared_relu,  # model.activation: 'squared-relu'
            gated_linear_unit=False,  # model.gated_linear_unit
            add_bias_linear=False,  # model.add_bias_linear
            hybrid_override_pattern="M-M*-M-M",  # model.hybrid_override_pattern
            mamba_num_groups=4,  # model.mamba_ssm_ngroups
            mamba_state_dim=64,  # model.mamba_state_dim
        ),
        tokenizer=tokenizer,
    )
    data = llm.PreTrainingDataModule(
        paths=[1.0, "/data/pile_text_document"],  # model.data.data_prefix
        seq_length=8192,  # model.data.seq_length
        micro_batch_size=1,  # model.micro_batch_size
        global_batch_size=64,  # model.global_batch_size
        split="980,10,10",  # model.data.splits_string
        tokenizer=tokenizer,
    )
    # NeMo 2.0 always saves distributed (torch_dist) checkpoints: the non-distributed checkpoints of
    # NeMo 1.0 (model_weights.ckpt, mp_rank_*) are gone. Convert old checkpoints with `nemo-migrate
    # convert`.
    strategy = nl.MegatronStrategy(
        tensor_model_parallel_size=2,  # model.tensor_model_parallel_size
        pipeline_model_parallel_size=1,  # model.pipeline_model_parallel_size
        ckpt_parallel_save=False,  # NeMo 1.0 default, model.dist_ckpt_parallel_save not set; NeMo 2.0 defaults to True
        ckpt_parallel_load=False,  # NeMo 1.0 default, model.dist_ckpt_parallel_load not set; NeMo 2.0 defaults to True
        ckpt_async_save=False,  # NeMo 1.0 default, exp_manager.checkpoint_callback_params.async_save not set; NeMo 2.0 defaults to True
    )
    precision = nl.MegatronMixedPrecision(
        precision="bf16-mixed",  # trainer.precision: 'bf16'
    )
    trainer = nl.Trainer(
        devices=8,  # trainer.devices
        num_nodes=2,  # trainer.num_nodes
        max_steps=1000,  # trainer.max_steps
        strategy=strategy,
        plugins=precision,
    )
    optim = nl.MegatronOptimizerModule(
        config=OptimizerConfig(
            optimizer="adam",  # model.optim.name: 'distributed_fused_adam'
            use_distributed_optimizer=True,  # model.optim.name: 'distributed_fused_adam'
            lr=0.0003,  # model.optim.lr
            weight_decay=0.1,  # model.optim.weight_decay
            adam_beta1=0.9,  # model.optim.betas.0
            adam_beta2=0.95,  # model.optim.betas.1
            clip_grad=1.0,  # trainer.gradient_clip_val; NeMo 2.0 clips in Megatron-Core's optimizer; Trainer(gradient_clip_val=...) is an error with MegatronMixedPrecision
        ),
        lr_scheduler=nl.lr_scheduler.CosineAnnealingScheduler(  # model.optim.sched.name
            max_steps=1000,  # trainer.max_steps; NeMo 1.0 gave the scheduler trainer.max_steps
            warmup_steps=100,  # model.optim.sched.warmup_steps
            constant_steps=0,  # NeMo 1.0 default, model.optim.sched.constant_steps not set; CosineAnnealingScheduler defaults to 80000
            min_lr=3e-05,  # model.optim.sched.min_lr
        ),
    )
    logger = nl.NeMoLogger(
        name="megatron_mamba",  # exp_manager.name
        ckpt=nl.ModelCheckpoint(
            save_top_k=2,  # exp_manager.checkpoint_callback_params.save_top_k
        ),
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
# - line 4, name: the run's name; NeMoLogger(name=...) takes exp_manager.name
# - line 19, model.mcore_gpt: NeMo 2.0 models are always Megatron-Core models
# - line 25, model.max_position_embeddings: SSMConfig sizes the position embeddings from seq_length
# - line 26, model.position_embedding_type: MegatronMambaModel builds no position embedding
# - line 37, model.bias: MegatronMambaModel reads add_bias_linear instead
# - line 38, model.share_embeddings_and_output_weights: MegatronMambaModel's output layer is untied
# - line 39, model.vocab_size: MambaModel sizes the embedding from the tokenizer, padded to
#   make_vocab_size_divisible_by

"""NeMo 2.0 training script migrated by nemo-migrate from mixtral_pretrain.yaml.

Each argument's comment names the NeMo 1.0 YAML key it comes from; "NeMo 1.0 default"
marks a value the YAML left out, written because NeMo 2.0's default differs.
Check the warnings below before running. YAML keys with no NeMo 2.0
counterpart are listed at the end of the file.
"""

# Check before running:
# - model.dist_ckpt_parallel_save: model.dist_ckpt_parallel_save is not set, so NeMo 1.0 used False;
#   the script passes ckpt_parallel_save=False because NeMo 2.0's default is True
# - exp_manager.checkpoint_callback_params.async_save:
#   exp_manager.checkpoint_callback_params.async_save is not set, so NeMo 1.0 used False; the script
#   passes ckpt_async_save=False because NeMo 2.0's default is True
# - line 18, model: 2 model settings absent from the YAML are written with NeMo 1.0's defaults
#   because MixtralConfig's differ (marked "NeMo 1.0 default")
# - line 48, model.dist_ckpt_format: the zarr checkpoint format is deprecated in NeMo 2.0 (it loads,
#   but saving zarr will go away); consider save_ckpt_format="torch_dist"
# - line 52, model.tokenizer.model: model.tokenizer.model is
#   "nemo:5d5ee6a1a4f84c2fa0a5c5b6f0a2e9c3_tokenizer.model", a file stored inside a .nemo archive;
#   extract it (nemo-migrate convert copies it to the checkpoint's context/) and give its path

from megatron.core.optimizer import OptimizerConfig
from nemo import lightning as nl
from nemo.collections import llm
from nemo.collections.llm.gpt.model.mixtral import MixtralConfig, MixtralModel
from nemo.collections.nlp.modules.common.tokenizer_utils import get_nmt_tokenizer
import torch
import torch.nn.functional as F


def main():
    tokenizer = get_nmt_tokenizer(
        library="sentencepiece",  # model.tokenizer.library
        tokenizer_model="nemo:5d5ee6a1a4f84c2fa0a5c5b6f0a2e9c3_tokenizer.model",  # model.tokenizer.model
        legacy=False,  # model.tokenizer.sentencepiece_legacy
    )
    model = MixtralModel(
        # The architecture is that of MixtralConfig8x7B(); that class also brings its own defaults
        # for the settings not written here.
        config=MixtralConfig(
            seq_length=4096,  # model.encoder_seq_length
            num_layers=32,  # model.num_layers
            hidden_size=4096,  # model.hidden_size
            ffn_hidden_size=14336,  # model.ffn_hidden_size
            num_attention_heads=32,  # model.num_attention_heads
            num_query_groups=8,  # model.num_query_groups
            hidden_dropout=0.0,  # model.hidden_dropout
            attention_dropout=0.0,  # model.attention_dropout
            share_embeddings_and_output_weights=False,  # model.share_embeddings_and_output_weights
            rotary_base=1000000.0,  # model.rotary_base
            add_bias_linear=False,  # model.bias
            num_moe_experts=8,  # model.num_moe_experts
            moe_router_topk=2,  # model.moe_router_topk
            moe_router_load_balancing_type="aux_loss",  # model.moe_router_load_balancing_type
            moe_token_dispatcher_type="alltoall",  # model.moe_token_dispatcher_type
            moe_grouped_gemm=True,  # model.moe_grouped_gemm
            normalization="RMSNorm",  # model.normalization: 'rmsnorm'
            activation_func=F.silu,  # model.activation: 'swiglu'
            gated_linear_unit=True,  # model.activation: 'swiglu'; gated when the activation's name ends in glu
            position_embedding_type="rope",  # model.position_embedding_type
            gradient_accumulation_fusion=False,  # NeMo 1.0 default, model.gradient_accumulation_fusion not set; MixtralConfig's default differs
            moe_aux_loss_coeff=0.0,  # NeMo 1.0 default, model.moe_aux_loss_coeff not set; MixtralConfig's default differs
            max_position_embeddings=32768,  # model.max_position_embeddings
        ),
        tokenizer=tokenizer,
    )
    data = llm.PreTrainingDataModule(
        paths="/data/mixtral/corpus_text_document",  # model.data.data_prefix
        seq_length=4096,  # model.encoder_seq_length
        micro_batch_size=1,  # model.micro_batch_size
        global_batch_size=256,  # model.global_batch_size
        split="99,1,0",  # model.data.splits_string
        tokenizer=tokenizer,
    )
    # NeMo 2.0 always saves distributed (torch_dist) checkpoints: the non-distributed checkpoints of
    # NeMo 1.0 (model_weights.ckpt, mp_rank_*) are gone. Convert old checkpoints with `nemo-migrate
    # convert`.
    strategy = nl.MegatronStrategy(
        tensor_model_parallel_size=2,  # model.tensor_model_parallel_size
        pipeline_model_parallel_size=4,  # model.pipeline_model_parallel_size
        sequence_parallel=True,  # model.sequence_parallel
        expert_model_parallel_size=8,  # model.expert_model_parallel_size
        moe_extended_tp=False,  # model.moe_extended_tp
        save_ckpt_format="zarr",  # model.dist_ckpt_format
        ckpt_parallel_save=False,  # NeMo 1.0 default, model.dist_ckpt_parallel_save not set; NeMo 2.0 defaults to True
        ckpt_parallel_load=True,  # model.dist_ckpt_parallel_load
        ckpt_async_save=False,  # NeMo 1.0 default, exp_manager.checkpoint_callback_params.async_save not set; NeMo 2.0 defaults to True
    )
    precision = nl.MegatronMixedPrecision(
        precision="bf16-mixed",  # trainer.precision: 'bf16'
        params_dtype=torch.bfloat16,  # model.megatron_amp_O2: True; megatron_amp_O2: half-precision parameters, fp32 main weights in the optimizer
    )
    trainer = nl.Trainer(
        devices=8,  # trainer.devices
        num_nodes=8,  # trainer.num_nodes
        max_steps=250000,  # trainer.max_steps
        strategy=strategy,
        plugins=precision,
    )
    optim = nl.MegatronOptimizerModule(
        config=OptimizerConfig(
            optimizer="adam",  # model.optim.name: 'distributed_fused_adam'
            use_distributed_optimizer=True,  # model.optim.name: 'distributed_fused_adam'
            lr=0.0001,  # model.optim.lr
            weight_decay=0.0,  # NeMo 1.0 default, model.optim.weight_decay not set; NeMo 1.0's optimizers default to 0; OptimizerConfig to 0.01
            adam_beta1=0.9,  # model.optim.betas.0
            adam_beta2=0.95,  # model.optim.betas.1
            clip_grad=1.0,  # trainer.gradient_clip_val; NeMo 2.0 clips in Megatron-Core's optimizer; Trainer(gradient_clip_val=...) is an error with MegatronMixedPrecision
        ),
        lr_scheduler=nl.lr_scheduler.CosineAnnealingScheduler(  # model.optim.sched.name
            max_steps=250000,  # trainer.max_steps; NeMo 1.0 gave the scheduler trainer.max_steps
            warmup_steps=500,  # model.optim.sched.warmup_steps
            constant_steps=1000,  # model.optim.sched.constant_steps
            min_lr=0.0,  # NeMo 1.0 default, model.optim.sched.min_lr not set; CosineAnnealingScheduler defaults to 6e-05
        ),
    )
    logger = nl.NeMoLogger(
        name="mixtral_8x7b",  # exp_manager.name
        ckpt=nl.ModelCheckpoint(
            save_top_k=1,  # exp_manager.checkpoint_callback_params.save_top_k
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
# - line 3, name: the run's name; NeMoLogger(name=...) takes exp_manager.name
# - line 14, exp_manager.create_tensorboard_logger: off
# - line 19, model.mcore_gpt: NeMo 2.0 models are always Megatron-Core models

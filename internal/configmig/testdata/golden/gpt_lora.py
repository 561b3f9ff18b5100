"""NeMo 2.0 training script migrated by nemo-migrate from gpt_lora.yaml.

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
# - line 32, model.restore_from_path: NeMo 2.0 cannot read /models/llama_7b.nemo; convert it first:
#   nemo-migrate convert --input_path /models/llama_7b.nemo --output_path /models/llama_7b_nemo2
#   --model_id auto
# - line 52, model.data.train_ds.file_names: FineTuningDataModule reads /data/squad/training.jsonl;
#   rename or link /data/squad/train.jsonl
# - line 60, model.data.validation_ds.max_seq_length: model.data.validation_ds.max_seq_length
#   differs from train_ds; FineTuningDataModule uses the training value

from lightning.pytorch.loggers import TensorBoardLogger
from megatron.core.optimizer import OptimizerConfig
from nemo import lightning as nl
from nemo.collections import llm
from nemo.lightning.io import load_context
import torch


def main():
    # The YAML has no architecture: the model comes from the checkpoint being fine-tuned.
    model = load_context(
        path="/models/llama_7b_nemo2/context",  # model.restore_from_path: '/models/llama_7b.nemo'; the model of the converted checkpoint
        subpath="model",
    )
    data = llm.FineTuningDataModule(
        dataset_root="/data/squad",  # model.data.train_ds.file_names: ['/data/squad/train.jsonl']; the directory of the training file
        seq_length=2048,  # model.data.train_ds.max_seq_length
        micro_batch_size=4,  # model.micro_batch_size
        global_batch_size=32,  # model.global_batch_size
        seed=1234,  # model.seed
        num_workers=0,  # model.data.train_ds.num_workers
        dataset_kwargs=dict(
            label_key="answer",  # model.data.train_ds.label_key
            truncation_field="context",  # model.data.train_ds.truncation_field
            prompt_template="Context: {context} Question: {question} Answer: {answer}",  # model.data.train_ds.prompt_template
        ),  # passed to the SFT dataset of every split
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
        precision="bf16-mixed",  # trainer.precision
        params_dtype=torch.bfloat16,  # model.megatron_amp_O2: True; megatron_amp_O2: half-precision parameters, fp32 main weights in the optimizer
    )
    trainer = nl.Trainer(
        devices=2,  # trainer.devices
        num_nodes=1,  # trainer.num_nodes
        accelerator="gpu",  # trainer.accelerator
        max_steps=2000,  # trainer.max_steps
        val_check_interval=200,  # trainer.val_check_interval
        limit_val_batches=1.0,  # trainer.limit_val_batches
        strategy=strategy,
        plugins=precision,
    )
    optim = nl.MegatronOptimizerModule(
        config=OptimizerConfig(
            optimizer="adam",  # model.optim.name: 'adamw'
            use_distributed_optimizer=False,  # model.optim.name: 'adamw'
            lr=0.0001,  # model.optim.lr
            adam_beta1=0.9,  # model.optim.betas.0
            adam_beta2=0.98,  # model.optim.betas.1
            clip_grad=0.5,  # trainer.gradient_clip_val; NeMo 2.0 clips in Megatron-Core's optimizer; Trainer(gradient_clip_val=...) is an error with MegatronMixedPrecision
        ),
        lr_scheduler=nl.lr_scheduler.WarmupAnnealingScheduler(  # model.optim.sched.name
            max_steps=2000,  # trainer.max_steps; NeMo 1.0 gave the scheduler trainer.max_steps
            warmup_steps=0,  # NeMo 1.0 default, model.optim.sched.warmup_steps not set; NeMo 2.0 defaults to 750
            min_lr=0.0,  # model.optim.sched.min_lr
        ),
    )
    logger = nl.NeMoLogger(
        name="lora_lora",  # exp_manager.name
        log_dir="/results/lora",  # exp_manager.exp_dir
        ckpt=nl.ModelCheckpoint(
            monitor="val_loss",  # exp_manager.checkpoint_callback_params.monitor
            save_top_k=2,  # exp_manager.checkpoint_callback_params.save_top_k
        ),
        # exp_manager.create_tensorboard_logger is not set: NeMo 1.0 created a TensorBoard logger by
        # default.
        tensorboard=TensorBoardLogger(
            save_dir="tb_logs",  # NeMoLogger puts it under the log directory
        ),
    )
    resume = nl.AutoResume(
        restore_config=nl.RestoreConfig(
            path="/models/llama_7b_nemo2",  # model.restore_from_path: '/models/llama_7b.nemo'; the .nemo converted to NeMo 2.0
        ),
        resume_if_exists=True,  # exp_manager.resume_if_exists
    )
    peft = llm.peft.LoRA(  # model.peft.peft_scheme, model.peft.lora_tuning.variant
        target_modules=["linear_qkv", "linear_fc1", "linear_fc2"],  # model.peft.lora_tuning.target_modules: ['attention_qkv', 'mlp'] (with model.peft.lora_tuning.layer_selection); NeMo 1.0 module names translated
        dim=16,  # model.peft.lora_tuning.adapter_dim
        alpha=16,  # model.peft.lora_tuning.alpha
        dropout=0.05,  # model.peft.lora_tuning.adapter_dropout
        dropout_position="post",  # NeMo 1.0 default, model.peft.lora_tuning.dropout_position not set; LoRA defaults to 'pre'
        lora_A_init_method="xavier",  # model.peft.lora_tuning.column_init_method
        lora_B_init_method="zero",  # model.peft.lora_tuning.row_init_method
    )
    llm.finetune(
        model=model,
        data=data,
        trainer=trainer,
        log=logger,
        resume=resume,
        optim=optim,
        peft=peft,
    )


if __name__ == "__main__":
    main()


# YAML keys with no NeMo 2.0 counterpart:
# - line 3, name: the run's name; NeMoLogger(name=...) takes exp_manager.name
# - line 10, trainer.logger: NeMoLogger (log= of llm.finetune) attaches the loggers in NeMo 2.0
# - line 11, trainer.enable_checkpointing: NeMoLogger(ckpt=nl.ModelCheckpoint(...)) adds
#   checkpointing in NeMo 2.0; NeMo 1.0 set this False because exp_manager did it
# - line 24, exp_manager.checkpoint_callback_params.always_save_nemo: NeMo 2.0 writes no .nemo
#   files: each checkpoint is a directory with weights/ and context/
#   (ModelCheckpoint(save_context_on_train_end=...))
# - line 36, model.peft.restore_from_path: NeMo 1.0 adapter checkpoints cannot be loaded by NeMo 2.0
# - line 46, model.peft.lora_tuning.weight_tying: NeMo 2.0's LoRA does not tie adapter weights
#   across layers
# - line 47, model.peft.lora_tuning.position_embedding_strategy: NeMo 2.0's LoRA does not tie
#   adapter weights across layers
# - line 48, model.peft.adapter_tuning: used only with peft_scheme adapter; this config uses "lora"
# - line 58, model.data.validation_ds: FineTuningDataModule reads validation.jsonl from dataset_root
#   with train_ds's dataset settings; NeMo 1.0's evaluation options (metric, names,
#   tokens_to_generate, write_predictions_to_file) have no counterpart

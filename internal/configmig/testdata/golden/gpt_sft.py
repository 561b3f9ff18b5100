"""NeMo 2.0 training script migrated by nemo-migrate from gpt_sft.yaml.

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
# - line 26, exp_manager.checkpoint_callback_params.monitor: NeMo 1.0 logged the validation loss as
#   validation_loss; NeMo 2.0 logs it as val_loss, which the script monitors
# - line 47, model.restore_from_path: NeMo 2.0 cannot read /models/gpt_8b.nemo; convert it first:
#   nemo-migrate convert --input_path /models/gpt_8b.nemo --output_path /models/gpt_8b_nemo2
#   --model_id auto
# - line 86, model.data.validation_ds.max_seq_length: model.data.validation_ds.max_seq_length
#   differs from train_ds; FineTuningDataModule uses the training value
# - line 99, model.optim.sched: CosineAnnealingScheduler defaults to warmup_steps=750 and
#   constant_steps=80000; the script writes NeMo 1.0's 0 for the ones the YAML leaves out

from lightning.pytorch.callbacks import EarlyStopping
from lightning.pytorch.loggers import TensorBoardLogger
from megatron.core.optimizer import OptimizerConfig
from nemo import lightning as nl
from nemo.collections import llm
from nemo.lightning.io import load_context
import torch


def main():
    # The YAML has no architecture: the model comes from the checkpoint being fine-tuned.
    model = load_context(
        path="/models/gpt_8b_nemo2/context",  # model.restore_from_path: '/models/gpt_8b.nemo'; the model of the converted checkpoint
        subpath="model",
    )
    # The fine-tuning YAML overrides these settings of the checkpoint's model config:
    model.config.hidden_dropout = 0.1  # model.hidden_dropout
    model.config.attention_dropout = 0.1  # model.attention_dropout
    model.config.recompute_granularity = "full"  # model.activations_checkpoint_granularity
    model.config.recompute_method = "uniform"  # model.activations_checkpoint_method
    model.config.recompute_num_layers = 1  # model.activations_checkpoint_num_layers
    data = llm.FineTuningDataModule(
        dataset_root="/data/sft",  # model.data.train_ds.file_names: ['/data/sft/training.jsonl']; the directory of the training file
        seq_length=4096,  # model.data.train_ds.max_seq_length
        micro_batch_size=1,  # model.data.train_ds.micro_batch_size
        global_batch_size=64,  # model.data.train_ds.global_batch_size
        seed=42,  # model.seed
        memmap_workers=4,  # model.data.train_ds.memmap_workers
        num_workers=2,  # model.data.train_ds.num_workers
        pin_memory=True,  # model.data.train_ds.pin_memory
        dataset_kwargs=dict(
            add_bos=False,  # model.data.train_ds.add_bos
            add_eos=True,  # model.data.train_ds.add_eos
            add_sep=False,  # model.data.train_ds.add_sep
            label_key="output",  # model.data.train_ds.label_key
            truncation_field="input",  # model.data.train_ds.truncation_field
            prompt_template="<extra_id_0>System\n\n<extra_id_1>User\n{input}\n<extra_id_1>Assistant\n{output}",  # model.data.train_ds.prompt_template
            min_seq_length=1,  # model.data.train_ds.min_seq_length
            answer_only_loss=True,  # model.answer_only_loss
            chat=False,  # model.data.chat
        ),  # passed to the SFT dataset of every split
    )
    # NeMo 2.0 always saves distributed (torch_dist) checkpoints: the non-distributed checkpoints of
    # NeMo 1.0 (model_weights.ckpt, mp_rank_*) are gone. Convert old checkpoints with `nemo-migrate
    # convert`.
    strategy = nl.MegatronStrategy(
        tensor_model_parallel_size=4,  # model.tensor_model_parallel_size
        pipeline_model_parallel_size=1,  # model.pipeline_model_parallel_size
        sequence_parallel=True,  # model.sequence_parallel
        ckpt_parallel_save=False,  # NeMo 1.0 default, model.dist_ckpt_parallel_save not set; NeMo 2.0 defaults to True
        ckpt_parallel_load=False,  # NeMo 1.0 default, model.dist_ckpt_parallel_load not set; NeMo 2.0 defaults to True
        ckpt_async_save=False,  # NeMo 1.0 default, exp_manager.checkpoint_callback_params.async_save not set; NeMo 2.0 defaults to True
    )
    precision = nl.MegatronMixedPrecision(
        precision="16-mixed",  # trainer.precision: 16
        params_dtype=torch.float32,  # model.megatron_amp_O2: False; without megatron_amp_O2 the parameters stay fp32
        autocast_enabled=True,  # model.megatron_amp_O2: False; NeMo 1.0 autocast the forward pass when megatron_amp_O2 was off
        fp16_initial_loss_scale=65536,  # model.native_amp_init_scale
        fp16_loss_scale_window=500,  # model.native_amp_growth_interval
    )
    callbacks = [
        EarlyStopping(  # exp_manager.create_early_stopping_callback
            monitor="val_loss",  # exp_manager.early_stopping_callback_params.monitor
            mode="min",  # exp_manager.early_stopping_callback_params.mode
            min_delta=0.001,  # exp_manager.early_stopping_callback_params.min_delta
            patience=10,  # exp_manager.early_stopping_callback_params.patience
            verbose=True,  # exp_manager.early_stopping_callback_params.verbose
            strict=False,  # exp_manager.early_stopping_callback_params.strict
        ),
    ]
    trainer = nl.Trainer(
        devices=8,  # trainer.devices
        accelerator="gpu",  # trainer.accelerator
        num_nodes=1,  # trainer.num_nodes
        use_distributed_sampler=False,  # trainer.use_distributed_sampler
        max_epochs=3,  # trainer.max_epochs
        max_steps=-1,  # trainer.max_steps
        log_every_n_steps=10,  # trainer.log_every_n_steps
        val_check_interval=0.25,  # trainer.val_check_interval
        strategy=strategy,
        plugins=precision,
        callbacks=callbacks,
    )
    optim = nl.MegatronOptimizerModule(
        config=OptimizerConfig(
            optimizer="adam",  # model.optim.name: 'fused_adam'
            use_distributed_optimizer=False,  # model.optim.name: 'fused_adam'
            lr=5e-06,  # model.optim.lr
            weight_decay=0.01,  # model.optim.weight_decay
            adam_beta1=0.9,  # model.optim.betas.0
            adam_beta2=0.98,  # model.optim.betas.1
            clip_grad=0.0,  # trainer.gradient_clip_val: None; None: no clipping
        ),
        lr_scheduler=nl.lr_scheduler.CosineAnnealingScheduler(  # model.optim.sched.name
            max_steps=5000,  # model.optim.sched.max_steps
            warmup_steps=100,  # model.optim.sched.warmup_steps
            constant_steps=0,  # NeMo 1.0 default, model.optim.sched.constant_steps not set; CosineAnnealingScheduler defaults to 80000
            min_lr=5e-07,  # model.optim.sched.min_lr
        ),
    )
    logger = nl.NeMoLogger(
        name="sft_chat",  # exp_manager.name
        log_dir=None,  # exp_manager.exp_dir
        explicit_log_dir="/results/sft",  # exp_manager.explicit_log_dir
        ckpt=nl.ModelCheckpoint(  # exp_manager.create_checkpoint_callback
            monitor="val_loss",  # exp_manager.checkpoint_callback_params.monitor: 'validation_loss'; the validation loss, as NeMo 2.0 logs it
            save_top_k=1,  # exp_manager.checkpoint_callback_params.save_top_k
            mode="min",  # exp_manager.checkpoint_callback_params.mode
            filename="sft_chat--{val_loss:.3f}-{step}",  # exp_manager.checkpoint_callback_params.filename: 'sft_chat--{validation_loss:.3f}-{step}'; named with the metric NeMo 2.0 logs
        ),
        # exp_manager.create_tensorboard_logger is not set: NeMo 1.0 created a TensorBoard logger by
        # default.
        tensorboard=TensorBoardLogger(
            save_dir="tb_logs",  # NeMoLogger puts it under the log directory
        ),
    )
    resume = nl.AutoResume(
        restore_config=nl.RestoreConfig(
            path="/models/gpt_8b_nemo2",  # model.restore_from_path: '/models/gpt_8b.nemo'; the .nemo converted to NeMo 2.0
        ),
    )
    llm.finetune(
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
# - line 11, trainer.logger: NeMoLogger (log= of llm.finetune) attaches the loggers in NeMo 2.0
# - line 12, trainer.enable_checkpointing: NeMoLogger(ckpt=nl.ModelCheckpoint(...)) adds
#   checkpointing in NeMo 2.0; NeMo 1.0 set this False because exp_manager did it
# - line 29, exp_manager.checkpoint_callback_params.save_nemo_on_train_end: NeMo 2.0 writes no .nemo
#   files: each checkpoint is a directory with weights/ and context/
#   (ModelCheckpoint(save_context_on_train_end=...))
# - line 31, exp_manager.checkpoint_callback_params.model_parallel_size: NeMo 2.0 takes the
#   model-parallel layout from MegatronStrategy
# - line 45, model.global_batch_size: model.data.train_ds.global_batch_size carries it
# - line 46, model.micro_batch_size: model.data.train_ds.micro_batch_size carries it
# - line 48, model.resume_from_checkpoint: exp_manager.resume_from_checkpoint carries the checkpoint
#   to resume (nl.AutoResume)
# - line 67, model.data.train_ds.shuffle: FineTuningDataModule's sampler shuffles the training split
# - line 73, model.data.train_ds.drop_last: FineTuningDataModule's Megatron sampler drops incomplete
#   global batches
# - line 74, model.data.train_ds.concat_sampling_probabilities: FineTuningDataModule reads a single
#   training.jsonl; it does not blend files
# - line 81, model.data.validation_ds: FineTuningDataModule reads validation.jsonl from dataset_root
#   with train_ds's dataset settings; NeMo 1.0's evaluation options (metric, names,
#   tokens_to_generate, write_predictions_to_file) have no counterpart

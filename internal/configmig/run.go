package configmig

import (
	"path"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/omegaconf"
)

// data: model.data -> llm.PreTrainingDataModule or llm.FineTuningDataModule.
func (g *mig) data() {
	d := g.mk("data")
	if g.m.Recipe == "finetune" {
		g.sftData()
		return
	}
	if g.section("data") == nil {
		c := &Call{Func: "llm.MockDataModule", Imports: []string{impLLM}}
		g.seqAndBatch(c, "")
		g.warn(d, "the config has no model.data section; the script trains on llm.MockDataModule's random tokens")
		g.m.Data = c
		return
	}
	c := &Call{Func: "llm.PreTrainingDataModule", Imports: []string{impLLM}}
	if g.has(d + ".data_prefix") {
		c.add(g.fromKey("paths", d+".data_prefix"))
	} else {
		g.warn(d, "model.data has no data_prefix; PreTrainingDataModule needs paths")
	}
	g.seqAndBatch(c, d)
	c.add(g.fromKey("num_workers", d+".num_workers"),
		g.fromKey("split", d+".splits_string"),
		g.fromKey("index_mapping_dir", d+".index_mapping_dir"),
		g.fromKey("reset_position_ids", d+".reset_position_ids"),
		g.fromKey("reset_attention_mask", d+".reset_attention_mask"),
		g.fromKey("eod_mask_loss", d+".eod_mask_loss"),
		g.fromKey("num_dataset_builder_threads", d+".num_dataset_builder_threads"),
		g.fromKey("dataloader_type", d+".dataloader_type"),
		g.fromKey("mmap_bin_files", d+".mmap_bin_files"),
		g.fromKey("pin_memory", d+".pin_memory"),
		g.fromKey("persistent_workers", d+".persistent_workers"),
		g.fromKey("seed", g.mk("seed")))
	if s := g.str(d + ".data_impl"); s != "" && s != "mmap" {
		g.warn(d+".data_impl", "data_impl %q: Megatron-Core's datasets read only indexed (mmap) .bin/.idx files", s)
	}
	g.skip(d+".data_impl", "Megatron-Core's GPTDataset reads indexed (mmap) .bin/.idx files only")
	g.skipRest(d, "Megatron-Core's GPTDataset decides this itself; PreTrainingDataModule has no such argument")
	if g.m.Tokenizer != nil {
		c.add(constArg("tokenizer", expr("tokenizer"), ""))
	} else {
		g.warn(g.mk("tokenizer"), "the config names no tokenizer; PreTrainingDataModule falls back to the GPT-2 BPE tokenizer")
	}
	g.m.Data = c
}

// seqAndBatch adds seq_length and the batch sizes, from the data section
// d or the model section.
func (g *mig) seqAndBatch(c *Call, d string) {
	if d != "" && g.has(d+".seq_length") {
		c.add(g.fromKey("seq_length", d+".seq_length"))
	} else {
		c.add(g.fromKey("seq_length", g.mk("encoder_seq_length")))
	}
	c.add(g.fromKey("micro_batch_size", g.mk("micro_batch_size")),
		g.fromKey("global_batch_size", g.mk("global_batch_size")),
		g.fromKey("rampup_batch_size", g.mk("rampup_batch_size")))
}

// sftKwargs are the train_ds keys that FineTuningDataModule passes to the
// SFT dataset through dataset_kwargs.
var sftKwargs = []string{"add_bos", "add_eos", "add_sep", "label_key", "truncation_field", "pad_to_max_length",
	"index_mapping_dir", "prompt_template", "truncation_method", "global_sample_mapping", "min_seq_length",
	"pad_seq_length_to_mult", "output_original_text"}

func (g *mig) sftData() {
	d := g.mk("data")
	tr := d + ".train_ds"
	c := &Call{Func: "llm.FineTuningDataModule", Imports: []string{impLLM}}
	root := ""
	for _, split := range []string{"train_ds", "validation_ds", "test_ds"} {
		fp := d + "." + split + ".file_names"
		n := g.get(fp)
		if n == nil {
			continue
		}
		var files []string
		switch {
		case n.Kind == omegaconf.String && n.Unresolved == nil:
			files = []string{n.Str}
		case n.Kind == omegaconf.List && !containsUnresolved(n):
			for _, it := range n.Items {
				if it.Kind == omegaconf.String {
					files = append(files, it.Str)
				}
			}
		}
		want := map[string]string{"train_ds": "training.jsonl", "validation_ds": "validation.jsonl", "test_ds": "test.jsonl"}[split]
		if len(files) == 0 {
			if split == "train_ds" {
				a := g.fromKey("dataset_root", fp)
				a.Note = "the directory that holds training.jsonl and validation.jsonl"
				c.add(a)
			} else {
				g.skip(fp, "FineTuningDataModule reads "+want+" from dataset_root")
			}
			continue
		}
		dir := path.Dir(files[0])
		if split == "train_ds" {
			root = dir
			c.add(g.derived("dataset_root", fp, strLit(dir), "the directory of the training file"))
		} else {
			g.skip(fp, "FineTuningDataModule reads "+want+" from dataset_root")
			if root != "" && dir != root {
				g.warn(fp, "%s is in %s, not in dataset_root %s; FineTuningDataModule reads %s/%s", split, dir, root, root, want)
			}
		}
		if len(files) > 1 {
			g.warn(fp, "%d files: FineTuningDataModule reads one %s; concatenate them (concat_sampling_probabilities has no counterpart)", len(files), want)
		}
		if path.Base(files[0]) != want {
			g.warn(fp, "FineTuningDataModule reads %s/%s; rename or link %s", dir, want, files[0])
		}
	}
	if g.has(tr + ".max_seq_length") {
		c.add(g.fromKey("seq_length", tr+".max_seq_length"))
	} else {
		c.add(g.fromKey("seq_length", g.mk("encoder_seq_length")))
	}
	for _, k := range []string{"micro_batch_size", "global_batch_size"} {
		if g.has(tr + "." + k) {
			c.add(g.fromKey(k, tr+"."+k))
			if n, t := g.get(g.mk(k)), g.get(tr+"."+k); n != nil && !g.used[g.mk(k)] {
				if omegaconf.Equal(n, t) {
					g.skip(g.mk(k), "model.data.train_ds."+k+" carries it")
				} else {
					g.skip(g.mk(k), "NeMo 1.0's SFT used model.data.train_ds."+k)
				}
			}
		} else {
			c.add(g.fromKey(k, g.mk(k)))
		}
	}
	c.add(g.fromKey("rampup_batch_size", g.mk("rampup_batch_size")),
		g.fromKey("seed", g.mk("seed")),
		g.fromKey("memmap_workers", tr+".memmap_workers"),
		g.fromKey("num_workers", tr+".num_workers"),
		g.fromKey("pin_memory", tr+".pin_memory"),
		g.fromKey("persistent_workers", tr+".persistent_workers"))
	kw := &Call{Func: "dict"}
	for _, k := range sftKwargs {
		kw.add(g.fromKey(k, tr+"."+k))
	}
	kw.add(g.fromKey("answer_only_loss", g.mk("answer_only_loss")),
		g.fromKey("chat", d+".chat"))
	if len(kw.Args) > 0 {
		c.add(constArg("dataset_kwargs", kw, "passed to the SFT dataset of every split"))
	}
	// Validation and test splits share the training split's settings.
	for _, split := range []string{"validation_ds", "test_ds"} {
		sp := d + "." + split
		sec := g.get(sp)
		if sec == nil || sec.Kind != omegaconf.Map {
			continue
		}
		want := map[string]string{"validation_ds": "validation.jsonl", "test_ds": "test.jsonl"}[split]
		g.skip(sp, "FineTuningDataModule reads "+want+" from dataset_root with train_ds's dataset settings; "+
			"NeMo 1.0's evaluation options (metric, names, tokens_to_generate, write_predictions_to_file) have no counterpart")
		for _, e := range sec.Entries {
			k := sp + "." + e.Key
			t := g.get(tr + "." + e.Key)
			switch {
			case e.Key == "file_names" || t == nil || omegaconf.Equal(t, e.Value):
			case e.Key == "micro_batch_size" || e.Key == "global_batch_size" || e.Key == "max_seq_length" || contains(sftKwargs, e.Key):
				g.warn(k, "%s differs from train_ds; FineTuningDataModule uses the training value", k)
			}
		}
	}
	g.skip(tr+".concat_sampling_probabilities", "FineTuningDataModule reads a single training.jsonl; it does not blend files")
	g.skip(tr+".shuffle", "FineTuningDataModule's sampler shuffles the training split")
	g.skip(tr+".drop_last", "FineTuningDataModule's Megatron sampler drops incomplete global batches")
	g.skip(d+".chat_prompt_tokens", "NeMo 2.0 chat datasets take special tokens from the tokenizer's chat template")
	g.skipRest(d, "FineTuningDataModule has no such argument")
	if g.m.Tokenizer != nil {
		c.add(constArg("tokenizer", expr("tokenizer"), ""))
	}
	g.m.Data = c
}

// logger: exp_manager -> nl.NeMoLogger with nl.ModelCheckpoint and the
// TensorBoard, W&B, MLflow and Neptune loggers.
func (g *mig) logger() {
	em := "exp_manager"
	c := &Call{Func: "nl.NeMoLogger", Imports: []string{impNL}}
	if g.has(em + ".name") {
		c.add(g.fromKey("name", em+".name"))
	} else if g.has("name") {
		c.add(g.fromKey("name", "name"))
	}
	c.add(g.fromKey("log_dir", em+".exp_dir"),
		g.fromKey("explicit_log_dir", em+".explicit_log_dir"),
		g.fromKey("version", em+".version"),
		g.fromKey("use_datetime_version", em+".use_datetime_version"),
		g.fromKey("log_local_rank_0_only", em+".log_local_rank_0_only"),
		g.fromKey("log_global_rank_0_only", em+".log_global_rank_0_only"),
		g.fromKey("files_to_copy", em+".files_to_copy"))

	if on, ok := g.truthy(em + ".create_checkpoint_callback"); !ok || on {
		ck := g.checkpoint()
		g.from(ck, em+".create_checkpoint_callback")
		c.add(constArg("ckpt", ck, ""))
	}

	tb := &Call{Func: "TensorBoardLogger", Imports: []string{impLoggers + "TensorBoardLogger"}}
	if on, ok := g.truthy(em + ".create_tensorboard_logger"); !ok || on {
		g.from(tb, em+".create_tensorboard_logger")
		tb.add(constArg("save_dir", strLit("tb_logs"), "NeMoLogger puts it under the log directory"))
		g.passThrough(tb, em+".summary_writer_kwargs", nil)
		if !g.has(em + ".create_tensorboard_logger") {
			tb.Note = "exp_manager.create_tensorboard_logger is not set: NeMo 1.0 created a TensorBoard logger by default."
		}
		c.add(constArg("tensorboard", tb, ""))
	} else {
		g.skip(em+".create_tensorboard_logger", "off")
		g.skip(em+".summary_writer_kwargs", "the TensorBoard logger is off")
	}
	if on, _ := g.truthy(em + ".create_wandb_logger"); on {
		w := &Call{Func: "WandbLogger", Imports: []string{impLoggers + "WandbLogger"}}
		g.from(w, em+".create_wandb_logger")
		g.passThrough(w, em+".wandb_logger_kwargs", nil)
		c.add(constArg("wandb", w, ""))
	} else {
		g.skip(em+".create_wandb_logger", "off")
		g.skip(em+".wandb_logger_kwargs", "the W&B logger is off (create_wandb_logger is not True)")
	}
	var extra List
	for _, l := range []struct{ flag, kwargs, class string }{
		{"create_mlflow_logger", "mlflow_logger_kwargs", "MLFlowLogger"},
		{"create_neptune_logger", "neptune_logger_kwargs", "NeptuneLogger"},
	} {
		if on, _ := g.truthy(em + "." + l.flag); on {
			x := &Call{Func: l.class, Imports: []string{impLoggers + l.class}}
			g.from(x, em+"."+l.flag)
			g.passThrough(x, em+"."+l.kwargs, nil)
			extra = append(extra, x)
		} else {
			g.skip(em+"."+l.flag, "off")
			g.skip(em+"."+l.kwargs, "the logger is off ("+l.flag+" is not True)")
		}
	}
	if len(extra) > 0 {
		c.add(constArg("extra_loggers", extra, ""))
	}
	for _, l := range []string{"clearml", "dllogger"} {
		flag := "create_" + l + "_logger"
		if on, _ := g.truthy(em + "." + flag); on {
			g.warn(em+"."+flag, "NeMo 2.0 has no built-in %s logger; add one to NeMoLogger(extra_loggers=[...])", l)
			g.skip(em+"."+flag, "no built-in NeMo 2.0 counterpart")
		} else {
			g.skip(em+"."+flag, "off")
		}
		g.skip(em+"."+l+"_logger_kwargs", "no built-in NeMo 2.0 counterpart")
	}
	for k, r := range map[string]string{
		"resume_from_checkpoint":              "",
		"log_step_timing":                     "NeMo 2.0's progress printer reports step times; NeMoLogger has no such argument",
		"step_timing_kwargs":                  "NeMo 2.0's progress printer reports step times; NeMoLogger has no such argument",
		"log_delta_step_timing":               "NeMo 2.0's progress printer reports step times; NeMoLogger has no such argument",
		"ema":                                 "NeMo 2.0's NeMoLogger has no EMA; add an EMA callback yourself",
		"seconds_to_sleep":                    "NeMo 2.0 does not stagger rank start-up",
		"disable_validation_on_resume":        "NeMo 2.0's trainer decides validation on resume",
		"create_straggler_detection_callback": "add nvidia-resiliency-ext's straggler detection callback yourself",
		"straggler_detection_params":          "add nvidia-resiliency-ext's straggler detection callback yourself",
		"create_fault_tolerance_callback":     "NeMo 2.0 configures fault tolerance through nemo_run, not the logger",
		"fault_tolerance":                     "NeMo 2.0 configures fault tolerance through nemo_run, not the logger",
		"log_tflops_per_sec_per_gpu":          "NeMo 2.0 reports throughput with nemo.lightning.pytorch.callbacks.FLOPsMeasurementCallback",
		"create_ipl_epoch_stopper_callback":   "no NeMo 2.0 counterpart",
		"ipl_epoch_stopper_callback_params":   "no NeMo 2.0 counterpart",
	} {
		if r != "" {
			g.skip(em+"."+k, r)
		}
	}
	g.skipRest(em, "an exp_manager setting with no NeMoLogger counterpart")
	g.m.Logger = c
}

// checkpoint: exp_manager.checkpoint_callback_params -> nl.ModelCheckpoint.
func (g *mig) checkpoint() *Call {
	cp := "exp_manager.checkpoint_callback_params"
	c := &Call{Func: "nl.ModelCheckpoint", Imports: []string{impNL}}
	for _, k := range []string{"monitor", "verbose", "save_last", "save_top_k", "save_weights_only", "mode",
		"every_n_epochs", "every_n_train_steps", "save_on_train_epoch_end", "dirpath", "filename", "auto_insert_metric_name"} {
		c.add(g.fromKey(k, cp+"."+k))
	}
	old := g.monitor(c, cp)
	g.checkpointFilename(c, cp+".filename", old)
	nemo := "NeMo 2.0 writes no .nemo files: each checkpoint is a directory with weights/ and context/ (ModelCheckpoint(save_context_on_train_end=...))"
	for _, k := range []string{"always_save_nemo", "save_nemo_on_train_end", "save_best_model", "postfix", "prefix"} {
		g.skip(cp+"."+k, nemo)
	}
	g.skip(cp+".model_parallel_size", "NeMo 2.0 takes the model-parallel layout from MegatronStrategy")
	g.skip(cp+".save_last_n_optim_states", "no NeMo 2.0 counterpart")
	g.skip(cp+".filepath", "deprecated in NeMo 1.0; use dirpath and filename")
	g.skip(cp+".train_time_interval", "pass a datetime.timedelta to ModelCheckpoint(train_time_interval=...) yourself")
	g.skipRest(cp, "nl.ModelCheckpoint has no such argument")
	return c
}

// nemo2Metrics are the metrics a NeMo 2.0 GPT run logs under names a
// callback can monitor: MegatronStrategy logs val_loss,
// reduced_train_loss, global_step and step, the optimizer module lr, the
// data sampler consumed_samples.
var nemo2Metrics = []string{"val_loss", "reduced_train_loss", "global_step", "step", "lr", "consumed_samples"}

// monitor makes the monitor argument of c (ModelCheckpoint or
// EarlyStopping, made from the YAML section sec) name a metric NeMo 2.0
// logs. NeMo 1.0's SFT logged the validation loss as validation_loss and
// its metric as validation_<name> (megatron_gpt_finetuning_config.yaml
// monitors validation_${model.data.validation_ds.metric.name}); NeMo 2.0
// logs val_loss, and a callback monitoring a metric nothing logs fails at
// the first validation. It returns the YAML's metric when it replaced it,
// else "".
func (g *mig) monitor(c *Call, sec string) string {
	p := sec + ".monitor"
	s := g.str(p)
	if s == "" || contains(nemo2Metrics, s) || c.arg("monitor") == nil {
		return ""
	}
	c.add(g.derived("monitor", p, strLit("val_loss"), "the validation loss, as NeMo 2.0 logs it"))
	if strings.Contains(s, "loss") {
		g.warn(p, "NeMo 1.0 logged the validation loss as %s; NeMo 2.0 logs it as val_loss, which the script monitors", s)
		return s
	}
	g.warn(p, "NeMo 2.0 does not compute %s during training (it logs val_loss); the script monitors val_loss instead", s)
	if g.str(sec+".mode") == "max" {
		c.add(g.derived("mode", sec+".mode", strLit("min"), "val_loss is better when lower"))
		g.warn(sec+".mode", "mode max was for %s; a loss is better when lower, so the script uses mode min", s)
	}
	return s
}

// checkpointFilename rewrites the metric names in a ModelCheckpoint
// filename template ("{validation_loss:.3f}") to the names NeMo 2.0 logs:
// old, the monitor the YAML named, becomes val_loss. Lightning writes 0
// for a name nothing logs, so other unknown names are only warned about.
func (g *mig) checkpointFilename(c *Call, p, old string) {
	s := g.str(p)
	if s == "" || c.arg("filename") == nil {
		return
	}
	var b strings.Builder
	var unknown []string
	rest := s
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i+1])
		rest = rest[i+1:]
		j := strings.IndexAny(rest, ":}")
		if j < 0 {
			b.WriteString(rest)
			break
		}
		name := rest[:j]
		switch {
		case name == old && old != "":
			name = "val_loss"
		case name != "epoch" && !contains(nemo2Metrics, name) && !contains(unknown, name):
			unknown = append(unknown, name)
		}
		b.WriteString(name)
		rest = rest[j:]
	}
	if t := b.String(); t != s {
		c.add(g.derived("filename", p, strLit(t), "named with the metric NeMo 2.0 logs"))
	}
	if len(unknown) > 0 {
		g.warn(p, "the checkpoint filename names %s, which NeMo 2.0 does not log (Lightning writes 0 for it)", strings.Join(unknown, ", "))
	}
}

// resume: exp_manager resume flags and model.restore_from_path ->
// nl.AutoResume (with nl.RestoreConfig).
func (g *mig) resume() {
	em := "exp_manager"
	c := &Call{Func: "nl.AutoResume", Imports: []string{impNL}}
	rp := g.mk("restore_from_path")
	if n := g.get(rp); n != nil {
		switch {
		case n.Kind == omegaconf.Null:
			g.skip(rp, "null: no weights to restore")
		case n.Kind == omegaconf.String && n.Unresolved == nil:
			conv := nemo2Path(n.Str)
			rc := &Call{Func: "nl.RestoreConfig", Imports: []string{impNL}}
			rc.add(g.derived("path", rp, strLit(conv), "the .nemo converted to NeMo 2.0"))
			c.add(constArg("restore_config", rc, ""))
			g.warn(rp, "NeMo 2.0 cannot read %s; convert it first: nemo-migrate convert --input_path %s --output_path %s --model_id auto", n.Str, n.Str, conv)
		default:
			rc := &Call{Func: "nl.RestoreConfig", Imports: []string{impNL}}
			rc.add(g.fromKey("path", rp))
			c.add(constArg("restore_config", rc, ""))
		}
	} else if g.m.Recipe == "finetune" {
		g.warn(rp, "fine-tuning without model.restore_from_path starts from random weights")
	}
	c.add(g.fromKey("resume_if_exists", em+".resume_if_exists"),
		g.fromKey("resume_past_end", em+".resume_past_end"),
		g.fromKey("resume_ignore_no_checkpoint", em+".resume_ignore_no_checkpoint"))
	rc := em + ".resume_from_checkpoint"
	if n := g.get(rc); n != nil && n.Kind != omegaconf.Null {
		a := g.fromKey("resume_from_path", rc)
		c.add(a)
		if a.Unresolved == nil && !a.Missing {
			g.warn(rc, "resume_from_checkpoint names a NeMo 1.0 checkpoint; AutoResume(resume_from_path=...) needs a NeMo 2.0 checkpoint directory (convert it with nemo-migrate convert)")
		}
	} else if n != nil {
		g.skip(rc, "null: nothing to resume from")
	}
	g.m.Resume = c
}

// topLevel explains the keys outside the sections.
func (g *mig) topLevel() {
	const modelRest = "nemo-migrate knows no NeMo 2.0 counterpart for this model key (it is not a Megatron-Core TransformerConfig field under this name)"
	if g.model == "" {
		g.skipRest("", modelRest)
		return
	}
	if g.has("exp_manager.name") || !g.has("name") {
		g.skip("name", "the run's name; NeMoLogger(name=...) takes exp_manager.name")
	}
	if n := g.get("defaults"); n != nil {
		g.skip("defaults", "Hydra's list of config files to compose; nemo-migrate reads the file as it is")
		if n.Kind == omegaconf.List {
			for _, it := range n.Items {
				if it.Kind == omegaconf.String && it.Str == "_self_" {
					continue
				}
				if it.Kind == omegaconf.Map && len(it.Entries) == 1 && strings.HasPrefix(it.Entries[0].Key, "optional ") {
					continue // composes only when the group is chosen
				}
				g.warn("defaults", "Hydra would compose more files into this config (%s); migrate the composed config (python script.py --cfg job) to include them", strings.TrimSpace(omegaconf.PyRepr(it)))
				break
			}
		}
	}
	g.skip("s3_checkpointing", "NeMo 2.0 has no S3 checkpoint settings in its training API")
	g.skip("hydra", "Hydra's own settings")
	g.skip("cluster_type", "NeMo 2.0 takes the cluster from its launcher (nemo_run)")
	g.skip("do_training", "the script always trains")
	g.skip("do_testing", "call trainer.test yourself after llm."+g.m.Recipe)
	g.skip("inference", "NeMo 1.0's generation settings for evaluating after training; NeMo 2.0 generates with llm.generate")
	g.skipRest(g.model, modelRest)
	g.skipRest("", "a top-level key outside the trainer, exp_manager and model sections")
}

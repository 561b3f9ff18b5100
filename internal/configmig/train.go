package configmig

import (
	"fmt"
	"math"

	"github.com/nemo-migrate/nemo-migrate/internal/omegaconf"
	"github.com/nemo-migrate/nemo-migrate/internal/pyrepr"
)

// parallelKeys are model keys that became MegatronStrategy arguments.
var parallelKeys = []struct{ key, arg string }{
	{"tensor_model_parallel_size", ""}, {"pipeline_model_parallel_size", ""},
	{"virtual_pipeline_model_parallel_size", ""}, {"microbatch_group_size_per_vp_stage", ""},
	{"context_parallel_size", ""}, {"sequence_parallel", ""},
	{"expert_model_parallel_size", ""}, {"expert_tensor_parallel_size", ""}, {"moe_extended_tp", ""},
	{"num_layers_in_first_pipeline_stage", ""}, {"num_layers_in_last_pipeline_stage", ""},
	{"account_for_embedding_in_pipeline_split", ""}, {"account_for_loss_in_pipeline_split", ""},
	{"pipeline_model_parallel_layout", ""}, {"pipeline_model_parallel_comm_backend", ""},
	{"use_tp_pp_dp_mapping", ""}, {"num_distributed_optimizer_instances", ""},
	{"use_te_rng_tracker", ""}, {"nccl_communicator_config_path", ""}, {"sharp", "use_sharp"},
}

// ckptRows are NeMo 1.0's distributed-checkpoint settings and the
// MegatronStrategy arguments that replaced them, with the default each
// side used (nil: None). NeMo 1.0's defaults are DistributedCheckpointIO.
// from_config's, which apply when the YAML lacks the key.
var ckptRows = []struct {
	key, arg     string
	nemo1, nemo2 any
}{
	{"dist_ckpt_format", "save_ckpt_format", "torch_dist", "torch_dist"},
	{"dist_ckpt_load_on_device", "ckpt_load_directly_on_device", true, true},
	{"dist_ckpt_parallel_save", "ckpt_parallel_save", false, true},
	{"dist_ckpt_parallel_save_within_dp", "ckpt_parallel_save_within_dp", false, false},
	{"dist_ckpt_parallel_load", "ckpt_parallel_load", false, true},
	{"dist_ckpt_torch_dist_multiproc", "ckpt_torch_dist_multiproc", nil, nil},
	{"dist_ckpt_assume_constant_structure", "ckpt_assume_constant_structure", false, false},
	{"dist_ckpt_parallel_dist_opt", "ckpt_parallel_save_optim", true, true},
	{"dist_ckpt_load_strictness", "ckpt_load_strictness", nil, nil},
}

const asyncSaveKey = "exp_manager.checkpoint_callback_params.async_save"

func litOf(v any) Lit {
	switch v := v.(type) {
	case bool:
		return boolLit(v)
	case string:
		return strLit(v)
	}
	return noneLit()
}

func pyOf(v any) string {
	switch v := v.(type) {
	case bool:
		if v {
			return "True"
		}
		return "False"
	case string:
		return pyrepr.Str(v)
	}
	return "None"
}

// strategy: parallelism and distributed checkpointing -> nl.MegatronStrategy.
func (g *mig) strategy() {
	c := &Call{Func: "nl.MegatronStrategy", Imports: []string{impNL},
		Note: "NeMo 2.0 always saves distributed (torch_dist) checkpoints: the non-distributed checkpoints of NeMo 1.0 " +
			"(model_weights.ckpt, mp_rank_*) are gone. Convert old checkpoints with `nemo-migrate convert`."}
	for _, k := range parallelKeys {
		arg := k.arg
		if arg == "" {
			arg = k.key
		}
		c.add(g.fromKey(arg, g.mk(k.key)))
	}
	type row struct {
		path, arg    string
		nemo1, nemo2 any
	}
	rows := make([]row, 0, len(ckptRows)+1)
	for _, r := range ckptRows {
		rows = append(rows, row{g.mk(r.key), r.arg, r.nemo1, r.nemo2})
	}
	if !g.bare() {
		rows = append(rows, row{asyncSaveKey, "ckpt_async_save", false, true})
	}
	for _, r := range rows {
		if !g.has(r.path) {
			if r.nemo1 != r.nemo2 {
				c.add(g.dflt(r.arg, r.path, litOf(r.nemo1), fmt.Sprintf("NeMo 2.0 defaults to %s", pyOf(r.nemo2))))
				g.warn(r.path, "%s is not set, so NeMo 1.0 used %s; the script passes %s=%s because NeMo 2.0's default is %s",
					r.path, pyOf(r.nemo1), r.arg, pyOf(r.nemo1), pyOf(r.nemo2))
			}
			continue
		}
		a := g.fromKey(r.arg, r.path)
		c.add(a)
		l, ok := a.Value.(Lit)
		if !ok || a.Missing {
			continue
		}
		if r.nemo1 != r.nemo2 && !omegaconf.Equal(l.N, litOf(r.nemo2).N) {
			a.Note = fmt.Sprintf("NeMo 2.0 defaults to %s", pyOf(r.nemo2))
			g.warn(r.path, "%s=%s is kept explicitly: NeMo 2.0 changed the default of %s to %s", r.path, omegaconf.PyRepr(l.N), r.arg, pyOf(r.nemo2))
		}
		switch r.arg {
		case "save_ckpt_format":
			if l.N.Kind == omegaconf.String && l.N.Str == "zarr" {
				g.warn(r.path, "the zarr checkpoint format is deprecated in NeMo 2.0 (it loads, but saving zarr will go away); consider save_ckpt_format=\"torch_dist\"")
			}
		case "ckpt_assume_constant_structure":
			if l.N.Kind == omegaconf.Bool && l.N.Bool {
				g.warn(r.path, "NeMo 1.0 never read %s, so the old runs used False; NeMo 2.0 applies True", r.path)
			}
		}
	}
	if v, ok := g.truthy(g.mk("fsdp")); ok && v {
		g.warn(g.mk("fsdp"), "fsdp is True: NeMo 1.0 saved non-distributed FSDP checkpoints; the script uses MegatronStrategy, set up FSDP (MegatronStrategy(fsdp=...) or nl.FSDP2Strategy) yourself")
	}
	o := g.mk("optim")
	if g.has(o+".overlap_grad_sync") || g.has(o+".overlap_param_sync") {
		ddp := &Call{Func: "DistributedDataParallelConfig", Imports: []string{impDDPConfig}}
		ddp.add(constArg("check_for_nan_in_grad", boolLit(true), "as MegatronStrategy's default ddp=\"megatron\""),
			g.fromKey("overlap_grad_reduce", o+".overlap_grad_sync"),
			g.fromKey("overlap_param_gather", o+".overlap_param_sync"))
		c.add(constArg("ddp", ddp, ""))
	}
	g.m.Strategy = c
}

// precisionKey is where the training precision is set.
func (g *mig) precisionKey() string {
	if g.model == "" {
		return "precision"
	}
	return "trainer.precision"
}

// precisionName maps NeMo 1.0 / Lightning precision values to
// MegatronMixedPrecision's: "16-mixed", "bf16-mixed" or "32".
func (g *mig) precisionName() (string, bool) {
	n := g.get(g.precisionKey())
	if n == nil {
		return "32", true
	}
	var s string
	switch n.Kind {
	case omegaconf.Int:
		s = n.Int.String()
	case omegaconf.String:
		s = n.Str
	default:
		return "", false
	}
	switch s {
	case "16", "16-mixed", "fp16", "fp16-mixed":
		return "16-mixed", true
	case "bf16", "bf16-mixed":
		return "bf16-mixed", true
	case "32", "32-true", "fp32":
		return "32", true
	}
	return "", false
}

func (g *mig) isFP16() bool {
	s, _ := g.precisionName()
	return s == "16-mixed"
}

var fp8Keys = []struct{ key, arg string }{
	{"fp8_margin", ""}, {"fp8_amax_history_len", ""}, {"fp8_amax_compute_algo", ""}, {"fp8_wgrad", ""},
	{"fp8_dot_product_attention", ""}, {"fp8_multi_head_attention", ""}, {"fp8_recipe", ""},
	{"fp8_params", "fp8_param_gather"}, {"fp8_param_gather", ""}, {"first_last_layers_bf16", ""},
	{"num_layers_at_start_in_bf16", ""}, {"num_layers_at_end_in_bf16", ""},
}

// precision: trainer.precision, megatron_amp_O2, native AMP scaling and
// fp8 -> nl.MegatronMixedPrecision.
func (g *mig) precision() {
	c := &Call{Func: "nl.MegatronMixedPrecision", Imports: []string{impNL}}
	pk := g.precisionKey()
	name, ok := g.precisionName()
	switch {
	case !g.has(pk):
		c.add(g.dflt("precision", pk, strLit("32"), "Lightning's default: NeMo 1.0 trained in fp32 without trainer.precision"))
	case ok:
		c.add(g.derived("precision", pk, strLit(name), ""))
	default:
		c.add(g.fromKey("precision", pk))
		g.warn(pk, "precision %s has no MegatronMixedPrecision counterpart (16-mixed, bf16-mixed, 32)", omegaconf.PyRepr(g.get(pk)))
	}
	if g.model != "" && g.has(g.mk("precision")) {
		g.skip(g.mk("precision"), "trainer.precision sets the precision")
	}
	half := name == "16-mixed" || name == "bf16-mixed"
	o2 := g.mk("megatron_amp_O2")
	if g.has(o2) {
		v, _ := g.truthy(o2)
		switch {
		case half && v:
			dt := "torch.bfloat16"
			if name == "16-mixed" {
				dt = "torch.float16"
			}
			c.add(g.derived("params_dtype", o2, expr(dt, impTorch), "megatron_amp_O2: half-precision parameters, fp32 main weights in the optimizer"))
		case half:
			c.add(g.derived("params_dtype", o2, expr("torch.float32", impTorch), "without megatron_amp_O2 the parameters stay fp32"))
			c.add(g.derived("autocast_enabled", o2, boolLit(true), "NeMo 1.0 autocast the forward pass when megatron_amp_O2 was off"))
		default:
			g.from(c, o2)
		}
	}
	amp := []struct{ key, arg string }{{"native_amp_init_scale", "fp16_initial_loss_scale"},
		{"native_amp_growth_interval", "fp16_loss_scale_window"}, {"hysteresis", "fp16_hysteresis"}}
	for _, k := range amp {
		if name == "16-mixed" {
			c.add(g.fromKey(k.arg, g.mk(k.key)))
		} else {
			g.skip(g.mk(k.key), "the loss scaler exists only in fp16 (precision 16); this config trains in "+name)
		}
	}
	fp8 := g.mk("fp8")
	on, _ := g.truthy(fp8)
	if !on {
		off := "fp8 is off (model.fp8 is not True); MegatronMixedPrecision(fp8=None) is the default"
		g.skip(fp8, off)
		for _, k := range append(fp8Keys, struct{ key, arg string }{"fp8_e4m3", ""}, struct{ key, arg string }{"fp8_hybrid", ""}) {
			g.skip(g.mk(k.key), off)
		}
	} else {
		e4m3, _ := g.truthy(g.mk("fp8_e4m3"))
		hybrid, _ := g.truthy(g.mk("fp8_hybrid"))
		var a *Arg
		switch {
		case e4m3:
			a = g.derived("fp8", fp8, strLit("e4m3"), "fp8_e4m3 is True")
		case hybrid:
			a = g.derived("fp8", fp8, strLit("hybrid"), "fp8_hybrid is True")
		default:
			a = g.fromKey("fp8", fp8)
			g.warn(fp8, "fp8 is True but neither fp8_e4m3 nor fp8_hybrid is: NeMo 1.0 refused to start; set fp8=\"e4m3\" or \"hybrid\"")
		}
		g.uses(a, g.mk("fp8_e4m3"), g.mk("fp8_hybrid"))
		c.add(a)
		for _, k := range fp8Keys {
			arg := k.arg
			if arg == "" {
				arg = k.key
			}
			c.add(g.fromKey(arg, g.mk(k.key)))
		}
	}
	g.m.Precision = c
}

// lightningTrainerArgs are Lightning Trainer arguments passed on as is.
var lightningTrainerArgs = []string{
	"accelerator", "devices", "num_nodes", "max_epochs", "min_epochs", "max_steps", "min_steps", "max_time",
	"limit_train_batches", "limit_val_batches", "limit_test_batches", "limit_predict_batches", "overfit_batches",
	"val_check_interval", "check_val_every_n_epoch", "num_sanity_val_steps", "log_every_n_steps",
	"accumulate_grad_batches", "enable_progress_bar", "enable_model_summary", "deterministic", "benchmark",
	"inference_mode", "use_distributed_sampler", "detect_anomaly", "barebones", "sync_batchnorm",
	"reload_dataloaders_every_n_epochs", "default_root_dir", "fast_dev_run",
}

// trainer: trainer.* -> nl.Trainer (a Lightning Trainer).
func (g *mig) trainer() {
	c := &Call{Func: "nl.Trainer", Imports: []string{impNL}}
	names := map[string]string{}
	for _, a := range lightningTrainerArgs {
		names[a] = a
	}
	g.passThrough(c, "trainer", names)
	if c.arg("use_distributed_sampler") == nil {
		c.add(g.derived("use_distributed_sampler", "trainer.replace_sampler_ddp", Lit{g.get("trainer.replace_sampler_ddp")}, "the old Lightning name"))
	}
	if c.arg("max_time") == nil {
		c.add(g.derived("max_time", "exp_manager.max_time_per_run", Lit{g.get("exp_manager.max_time_per_run")}, "exp_manager stopped the run after this time"))
	}
	if v, ok := g.truthy("exp_manager.create_checkpoint_callback"); ok && !v {
		c.add(g.derived("enable_checkpointing", "exp_manager.create_checkpoint_callback", boolLit(false), "no checkpoints"))
	}
	if n, ok := g.int64At("trainer.accumulate_grad_batches"); ok && n != 1 {
		g.warn("trainer.accumulate_grad_batches", "NeMo 2.0 derives gradient accumulation from global_batch_size / (micro_batch_size x data-parallel size); keep accumulate_grad_batches at 1")
	}
	g.skip("trainer.logger", "NeMoLogger (log= of llm."+g.m.Recipe+") attaches the loggers in NeMo 2.0")
	g.skip("trainer.enable_checkpointing", "NeMoLogger(ckpt=nl.ModelCheckpoint(...)) adds checkpointing in NeMo 2.0; NeMo 1.0 set this False because exp_manager did it")
	g.skip("trainer.gradient_clip_algorithm", "Megatron-Core's optimizer clips by norm only")
	for _, k := range []string{"strategy", "plugins", "callbacks"} {
		g.skip("trainer."+k, "nemo-migrate builds it from the rest of the config")
	}
	g.skipRest("trainer", "not a Lightning Trainer argument nemo-migrate knows")
	c.add(constArg("strategy", expr("strategy"), ""), constArg("plugins", expr("precision"), ""))
	if len(g.m.Callbacks) > 0 {
		c.add(constArg("callbacks", expr("callbacks"), ""))
	}
	g.m.Trainer = c
}

// callbacks: nsys profiling, garbage collection, TP communication overlap,
// early stopping and preemption.
func (g *mig) callbacks() {
	ns := g.mk("nsys_profile")
	if g.section("nsys_profile") != nil {
		if on, _ := g.truthy(ns + ".enabled"); on {
			c := &Call{Func: "NsysCallback", Imports: []string{impCallbacks + "NsysCallback"}}
			g.from(c, ns+".enabled")
			c.add(g.fromKey("start_step", ns+".start_step"), g.fromKey("end_step", ns+".end_step"),
				g.fromKey("ranks", ns+".ranks"), g.fromKey("gen_shape", ns+".gen_shape"),
				g.fromKey("nvtx_ranges", ns+".nvtx_ranges"))
			for _, k := range []string{"start_step", "end_step"} {
				if c.arg(k) == nil {
					g.warn(ns, "NsysCallback needs %s, which the YAML does not set", k)
				}
			}
			g.skipRest(ns, "NsysCallback has no such argument")
			g.m.Callbacks = append(g.m.Callbacks, c)
		} else {
			off := "nsys profiling is off (nsys_profile.enabled is not True); to profile, add NsysCallback(start_step, end_step, ranks, gen_shape) to the trainer's callbacks"
			g.skip(ns, off)
		}
	}
	if n, ok := g.int64At(g.mk("gc_interval")); ok && n > 0 {
		p := g.mk("gc_interval")
		c := &Call{Func: "GarbageCollectionCallback", Imports: []string{impCallbacks + "GarbageCollectionCallback"}}
		c.add(g.fromKey("gc_interval_train", p), g.fromKey("gc_interval_val", p))
		g.m.Callbacks = append(g.m.Callbacks, c)
	} else {
		g.skip(g.mk("gc_interval"), "0 leaves garbage collection to Python, as NeMo 2.0 does without GarbageCollectionCallback")
	}
	if v, ok := g.truthy(g.mk("ub_tp_comm_overlap")); ok && v {
		c := &Call{Func: "MegatronCommOverlapCallback", Imports: []string{impCommOverlap}}
		c.add(g.fromKey("tp_comm_overlap", g.mk("ub_tp_comm_overlap")))
		g.m.Callbacks = append(g.m.Callbacks, c)
	} else {
		g.skip(g.mk("ub_tp_comm_overlap"), "off; NeMo 2.0 turns it on with MegatronCommOverlapCallback(tp_comm_overlap=True)")
	}
	em := "exp_manager"
	if v, ok := g.truthy(em + ".create_early_stopping_callback"); ok && v {
		c := &Call{Func: "EarlyStopping", Imports: []string{impPLCallbacks + "EarlyStopping"}}
		g.from(c, em+".create_early_stopping_callback")
		g.passThrough(c, em+".early_stopping_callback_params", nil)
		g.monitor(c, em+".early_stopping_callback_params")
		g.m.Callbacks = append(g.m.Callbacks, c)
	} else {
		g.skip(em+".create_early_stopping_callback", "off; NeMo 2.0 uses Lightning's EarlyStopping callback")
		g.skip(em+".early_stopping_callback_params", "early stopping is off (create_early_stopping_callback is not True)")
	}
	if v, ok := g.truthy(em + ".create_preemption_callback"); ok && v {
		c := &Call{Func: "PreemptionCallback", Imports: []string{impCallbacks + "PreemptionCallback"}}
		g.from(c, em+".create_preemption_callback")
		g.m.Callbacks = append(g.m.Callbacks, c)
	} else {
		g.skip(em+".create_preemption_callback", "off")
	}
}

type schedSpec struct {
	class  string
	warmup bool // takes warmup_steps / warmup_ratio
	hold   bool // takes hold_steps / hold_ratio
	extra  []string
}

// schedulers maps NeMo 1.0 scheduler names to nl.lr_scheduler classes.
var schedulers = map[string]schedSpec{
	"CosineAnnealing":              {class: "CosineAnnealingScheduler"},
	"WarmupAnnealing":              {class: "WarmupAnnealingScheduler", warmup: true},
	"WarmupPolicy":                 {class: "WarmupPolicyScheduler", warmup: true},
	"WarmupHoldPolicy":             {class: "WarmupHoldPolicyScheduler", warmup: true, hold: true},
	"SquareAnnealing":              {class: "SquareAnnealingScheduler"},
	"SquareRootAnnealing":          {class: "SquareRootAnnealingScheduler"},
	"NoamAnnealing":                {class: "NoamAnnealingScheduler", warmup: true, extra: []string{"d_model"}},
	"NoamHoldAnnealing":            {class: "NoamHoldAnnealingScheduler", extra: []string{"decay_rate"}},
	"InverseSquareRootAnnealing":   {class: "InverseSquareRootAnnealingScheduler"},
	"T5InverseSquareRootAnnealing": {class: "T5InverseSquareRootAnnealingScheduler"},
	"PolynomialDecayAnnealing":     {class: "PolynomialDecayAnnealingScheduler", extra: []string{"power", "cycle"}},
	"PolynomialHoldDecayAnnealing": {class: "PolynomialHoldDecayAnnealingScheduler", extra: []string{"power", "cycle"}},
}

// optim: model.optim and trainer.gradient_clip_val ->
// nl.MegatronOptimizerModule(config=OptimizerConfig(...), lr_scheduler=...).
func (g *mig) optim() {
	o := g.mk("optim")
	cfg := &Call{Func: "OptimizerConfig", Imports: []string{impOptimConfig}}
	name := g.str(o + ".name")
	if g.section("optim") == nil {
		g.warn(o, "the config has no optim section; OptimizerConfig keeps Megatron-Core's defaults")
	} else {
		var opt string
		var dist bool
		switch name {
		case "fused_adam", "adamw":
			opt = "adam"
		case "distributed_fused_adam", "mcore_distributed_optim":
			opt, dist = "adam", true
		case "adam":
			opt = "adam"
			g.warn(o+".name", "optim.name adam was torch.optim.Adam (L2 weight decay); Megatron-Core's \"adam\" is AdamW (decoupled weight decay)")
		case "sgd":
			opt = "sgd"
		default:
			opt = "adam"
			g.warn(o+".name", "optimizer %q has no Megatron-Core counterpart (adam, sgd); the script uses adam", name)
		}
		cfg.add(g.derived("optimizer", o+".name", strLit(opt), ""))
		cfg.add(g.derived("use_distributed_optimizer", o+".name", boolLit(dist), ""))
		cfg.add(g.fromKey("lr", o+".lr"))
		if !g.has(o + ".lr") {
			g.warn(o+".lr", "optim.lr is not set; OptimizerConfig(lr=None) will not train")
		}
		switch {
		case g.has(o + ".weight_decay"):
			cfg.add(g.fromKey("weight_decay", o+".weight_decay"))
		case name != "adamw":
			cfg.add(g.dflt("weight_decay", o+".weight_decay", floatLit(0), "NeMo 1.0's optimizers default to 0; OptimizerConfig to 0.01"))
		}
		b := o + ".betas"
		if n := g.get(b); n != nil && n.Kind == omegaconf.List && len(n.Items) == 2 {
			cfg.add(g.fromKey("adam_beta1", b+".0"), g.fromKey("adam_beta2", b+".1"))
		}
		cfg.add(g.fromKey("adam_eps", o+".eps"))
		if g.has(o + ".momentum") {
			cfg.add(g.fromKey("sgd_momentum", o+".momentum"))
		} else if opt == "sgd" {
			cfg.add(g.dflt("sgd_momentum", o+".momentum", floatLit(0), "torch.optim.SGD's default; OptimizerConfig defaults to 0.9"))
		}
	}
	clip := "trainer.gradient_clip_val"
	switch n := g.get(clip); {
	case n == nil && g.bare():
	case n == nil:
		cfg.add(g.dflt("clip_grad", clip, floatLit(0), "NeMo 1.0 did not clip without trainer.gradient_clip_val"))
		g.warn(clip, "trainer.gradient_clip_val is not set, so NeMo 1.0 did not clip gradients; the script passes clip_grad=0.0 because OptimizerConfig clips at 1.0 by default")
	case n.Kind == omegaconf.Null:
		cfg.add(g.derived("clip_grad", clip, floatLit(0), "None: no clipping"))
	default:
		a := g.fromKey("clip_grad", clip)
		a.Note = "NeMo 2.0 clips in Megatron-Core's optimizer; Trainer(gradient_clip_val=...) is an error with MegatronMixedPrecision"
		cfg.add(a)
	}
	g.skipRest(o, "Megatron-Core's optimizer (OptimizerConfig) has no such setting; its distributed optimizer manages its own buffers")
	c := &Call{Func: "nl.MegatronOptimizerModule", Imports: []string{impNL}}
	c.add(constArg("config", cfg, ""))
	if s := g.scheduler(); s != nil {
		c.add(constArg("lr_scheduler", s, ""))
	}
	g.m.Optim = c
}

func (g *mig) scheduler() *Call {
	s := g.mk("optim.sched")
	if g.section("optim.sched") == nil {
		return nil
	}
	name := g.str(s + ".name")
	spec, ok := schedulers[name]
	if !ok {
		if name == "WarmupHoldAnnealOneMinusSquareRoot" || name == "WarmupHoldAnnealLinear" {
			spec = schedSpec{class: "WarmupHoldAnnealScheduler"}
		} else {
			g.warn(s+".name", "scheduler %q has no NeMo 2.0 counterpart in nl.lr_scheduler; the script uses a constant learning rate", name)
			g.skip(s, fmt.Sprintf("scheduler %q has no NeMo 2.0 counterpart", name))
			return nil
		}
	}
	c := &Call{Func: "nl.lr_scheduler." + spec.class, Imports: []string{impNL}}
	g.from(c, s+".name")
	if spec.class == "WarmupHoldAnnealScheduler" {
		ds := "one_minus_square_root"
		if name == "WarmupHoldAnnealLinear" {
			ds = "linear"
		}
		c.add(g.derived("decay_schedule", s+".name", strLit(ds), ""))
	}

	// NeMo 1.0 (ModelPT.setup_optimization) replaced the scheduler's
	// max_steps with trainer.max_steps whenever that was set.
	var maxSteps int64
	haveMax := false
	if n, ok := g.int64At("trainer.max_steps"); ok && n >= 0 {
		c.add(g.derived("max_steps", "trainer.max_steps", intLit(n), "NeMo 1.0 gave the scheduler trainer.max_steps"))
		maxSteps, haveMax = n, true
		if g.has(s + ".max_steps") {
			g.skip(s+".max_steps", "NeMo 1.0 replaced it with trainer.max_steps")
		}
	} else if g.has(s + ".max_steps") {
		a := g.fromKey("max_steps", s+".max_steps")
		c.add(a)
		maxSteps, haveMax = g.int64At(s + ".max_steps")
	} else {
		g.warn(s, "NeMo 1.0 derived the scheduler's max_steps from the epochs and dataset size at run time; set max_steps")
	}
	ratio := func(stepsKey, ratioKey, arg string) {
		switch {
		case g.has(s + "." + stepsKey):
			c.add(g.fromKey(arg, s+"."+stepsKey))
		case g.has(s + "." + ratioKey):
			r := g.get(s + "." + ratioKey)
			f, isNum := numberOf(r)
			if haveMax && isNum {
				c.add(g.derived(arg, s+"."+ratioKey, intLit(int64(math.Floor(f*float64(maxSteps)))), fmt.Sprintf("int(%s x max_steps), as NeMo 1.0 computed it", ratioKey)))
			} else {
				g.skip(s+"."+ratioKey, "cannot be turned into steps without max_steps")
				g.warn(s+"."+ratioKey, "cannot turn %s into steps without max_steps; set %s", ratioKey, arg)
			}
		default:
			c.add(g.dflt(arg, s+"."+stepsKey, intLit(0), map[string]string{
				"warmup_steps": "CosineAnnealingScheduler defaults to 750", "constant_steps": "CosineAnnealingScheduler defaults to 80000"}[arg]))
		}
	}
	switch {
	case spec.class == "CosineAnnealingScheduler":
		ratio("warmup_steps", "warmup_ratio", "warmup_steps")
		ratio("constant_steps", "constant_ratio", "constant_steps")
		if !g.has(s+".warmup_steps") && !g.has(s+".warmup_ratio") || !g.has(s+".constant_steps") && !g.has(s+".constant_ratio") {
			g.warn(s, "CosineAnnealingScheduler defaults to warmup_steps=750 and constant_steps=80000; the script writes NeMo 1.0's 0 for the ones the YAML leaves out")
		}
	case spec.class == "WarmupHoldAnnealScheduler":
		c.add(g.fromKey("warmup_ratio", s+".warmup_ratio"), g.fromKey("hold_ratio", s+".hold_ratio"))
	case spec.warmup:
		if g.has(s+".warmup_steps") || g.has(s+".warmup_ratio") {
			c.add(g.fromKey("warmup_steps", s+".warmup_steps"), g.fromKey("warmup_ratio", s+".warmup_ratio"))
		} else {
			c.add(g.dflt("warmup_steps", s+".warmup_steps", intLit(0), "NeMo 2.0 defaults to 750"))
		}
	default:
		if g.has(s+".warmup_steps") || g.has(s+".warmup_ratio") {
			g.warn(s, "%s has no warmup in NeMo 2.0; the YAML's warmup is dropped", spec.class)
		}
	}
	if spec.hold {
		c.add(g.fromKey("hold_steps", s+".hold_steps"), g.fromKey("hold_ratio", s+".hold_ratio"))
	}
	for _, k := range spec.extra {
		c.add(g.fromKey(k, s+"."+k))
	}
	if g.has(s + ".min_lr") {
		c.add(g.fromKey("min_lr", s+".min_lr"))
	} else if spec.class == "CosineAnnealingScheduler" {
		c.add(g.dflt("min_lr", s+".min_lr", floatLit(0), "CosineAnnealingScheduler defaults to 6e-05"))
	}
	c.add(g.fromKey("monitor", s+".monitor"))
	g.skip(s+".reduce_on_plateau", "nl.lr_scheduler has no plateau scheduler")
	g.skipRest(s, fmt.Sprintf("nl.lr_scheduler.%s has no such argument", spec.class))
	return c
}

func numberOf(n *omegaconf.Node) (float64, bool) {
	if n == nil || n.Unresolved != nil {
		return 0, false
	}
	switch n.Kind {
	case omegaconf.Float:
		return n.Float, true
	case omegaconf.Int:
		f, _ := n.Int.Float64()
		return f, true
	}
	return 0, false
}

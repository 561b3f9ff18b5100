package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nemo-migrate/nemo-migrate/internal/configmig"
)

const configHelp = `Config turns a NeMo 1.0 YAML training config into a NeMo 2.0 Python
script. It reads the file as NeMo 1.0 did (OmegaConf: YAML 1.1 booleans such
as yes/on, 1e-4 as a float, ${...} interpolations and NeMo's multiply and sum
resolvers) and maps each setting to its NeMo 2.0 object:

  model.*_parallel_size, sequence_parallel   nl.MegatronStrategy
  model.dist_ckpt_*, checkpoint async_save   nl.MegatronStrategy(ckpt_*)
  trainer.*                                  nl.Trainer
  trainer.precision, megatron_amp_O2, fp8*   nl.MegatronMixedPrecision
  model.optim, trainer.gradient_clip_val     nl.MegatronOptimizerModule
  exp_manager                                nl.NeMoLogger, nl.ModelCheckpoint,
                                             nl.AutoResume
  model.data                                 llm.PreTrainingDataModule or
                                             llm.FineTuningDataModule
  model.tokenizer                            get_nmt_tokenizer(...)
  model.peft (lora)                          llm.peft.LoRA
  model.nsys_profile, gc_interval            NsysCallback, GarbageCollectionCallback
  model architecture                         the NeMo 2.0 model and config class
                                             'convert --model_id auto' picks (Llama,
                                             Llama 3.1, Mistral, Mixtral, Nemotron,
                                             Qwen2, Starcoder 2, GPT; see 'models')

Every argument's comment names the YAML key it came from. Where NeMo 2.0
changed a default (ckpt_parallel_load, ckpt_async_save, clip_grad, the
cosine schedule's warmup, ...), the NeMo 1.0 value is written out and a
warning at the top of the script says so. YAML keys with no NeMo 2.0
counterpart are listed at the end with the reason; ${oc.env:...} values
become os.environ lookups. IN.yaml may also be the model_config.yaml of a
.nemo file. A .nemo checkpoint itself is converted by 'nemo-migrate convert'.

--json prints the same mapping as data: {"strategy": {...}, "trainer": ...,
"warnings": [...], "unresolved": [...], "unmapped": [...]}, where each
argument records its value, the YAML key and line, and the YAML value when
it was translated.

Examples:
  nemo-migrate config megatron_gpt_config.yaml -o pretrain.py
  nemo-migrate config --json megatron_gpt_finetuning_config.yaml | jq .warnings`

func runConfig(e *env, args []string) error {
	fs := newFlagSet(e, "config", "IN.yaml [-o OUT.py] [--json]", configHelp)
	var out string
	fs.stringVar(&out, []string{"output", "o"}, "", "write to this `file` instead of standard output")
	asJSON := fs.Bool("json", false, "write the mapping as JSON instead of a Python script")
	files, err := fs.parseAll(args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usagef("want exactly one YAML file, got %d", len(files))
	}
	m, err := configmig.Load(files[0], nil)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if *asJSON {
		data, err := m.JSON()
		if err != nil {
			return err
		}
		buf.Write(data)
	} else if err := m.WritePython(&buf); err != nil {
		return err
	}
	if out == "" {
		_, err = e.stdout.Write(buf.Bytes())
	} else {
		err = writeFileAtomic(out, buf.Bytes())
	}
	if err != nil {
		return err
	}
	dest := "the script"
	if *asJSON {
		dest = "the JSON"
	}
	fmt.Fprintf(e.stderr, "nemo-migrate config: %s: %d warnings, %d unresolved interpolations, %d keys without a NeMo 2.0 counterpart (all listed in %s)\n",
		files[0], len(m.Warnings), len(m.Unresolved), len(m.Unmapped), dest)
	return nil
}

// writeFileAtomic writes data to path through a temporary file, so a failed
// write never leaves half a script.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

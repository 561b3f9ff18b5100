package main

import (
	"bytes"
	"errors"
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
                                             Qwen2, Starcoder 2, GPT, Mamba hybrids;
                                             see 'models')

Every argument's comment names the YAML key it came from. Where NeMo 2.0
changed a default (ckpt_parallel_load, ckpt_async_save, clip_grad, the
cosine schedule's warmup, ...), the NeMo 1.0 value is written out and a
warning at the top of the script says so. Checkpoints and early stopping
monitor val_loss, the name NeMo 2.0 logs the validation loss under. YAML
keys with no NeMo 2.0 counterpart are listed at the end with the reason;
${oc.env:...} values become os.environ lookups. IN.yaml may also be the
model_config.yaml of a .nemo file, or - to read standard input.

Config refuses, saying what it found, what it does not migrate: other model
families (T5, BERT, Retro, Gemma, Mamba fine-tunes, ...), configs that do not train
(inference, export, quantization), NeMo 2.0 files, and checkpoints (a .nemo
is converted by 'nemo-migrate convert').

--json prints the same mapping as data: {"strategy": {...}, "trainer": ...,
"warnings": [...], "unresolved": [...], "unmapped": [...]}, where each
argument records its value, the YAML key and line, and the YAML value when
it was translated.

Examples:
  nemo-migrate config megatron_gpt_config.yaml -o pretrain.py
  nemo-migrate config --json megatron_gpt_finetuning_config.yaml | jq .warnings
  ssh login-node cat /configs/llama.yaml | nemo-migrate config - -o train.py`

// stdinName names standard input in messages.
const stdinName = "<stdin>"

func runConfig(e *env, args []string) error {
	fs := newFlagSet(e, "config", "IN.yaml|- [-o OUT.py|-] [--force] [--json]", configHelp)
	var out string
	fs.stringVar(&out, []string{"output", "o"}, "", "write to this `file` instead of standard output (- for standard output)")
	force := fs.Bool("force", false, "replace the -o file if it exists")
	asJSON := fs.Bool("json", false, "write the mapping as JSON instead of a Python script")
	files, err := fs.parseAll(args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usagef("want exactly one YAML file (or - for standard input), got %d", len(files))
	}
	in := files[0]
	if out == "-" {
		out = ""
	}
	if out != "" {
		if err := checkOutput(in, out, *force); err != nil {
			return err
		}
	}
	var m *configmig.Migration
	if in == "-" {
		if e.stdin == nil {
			return fmt.Errorf("config -: there is no standard input to read; give the YAML file's path")
		}
		in = stdinName
		m, err = configmig.Read(in, e.stdin, nil)
	} else {
		m, err = configmig.Load(in, nil)
	}
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
		err = writeOutput(out, buf.Bytes(), *force)
	}
	if err != nil {
		return err
	}
	dest := "the script"
	if *asJSON {
		dest = "the JSON"
	}
	// A summary, not an error: no "nemo-migrate config:" prefix, which
	// is how failures start.
	fmt.Fprintf(e.stderr, "migrated %s: %d warnings, %d unresolved interpolations, %d keys without a NeMo 2.0 counterpart (all listed in %s)\n",
		in, len(m.Warnings), len(m.Unresolved), len(m.Unmapped), dest)
	return nil
}

// errOutputExists is an -o file that is there already, without --force.
var errOutputExists = errors.New("exists")

func outputExists(out string) error {
	return fmt.Errorf("-o %s: the file %w; pass --force to replace it, or name another file (-o - writes to standard output)", out, errOutputExists)
}

// checkOutput refuses, before any work, an -o that would replace a file
// without --force, the input itself, or a directory.
func checkOutput(in, out string, force bool) error {
	st, err := os.Stat(out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("-o %s: %w", out, err)
	case st.IsDir():
		return fmt.Errorf("-o %s is a directory; name the script's file, such as -o %s", out, filepath.Join(out, "train.py"))
	}
	if ist, err := os.Stat(in); err == nil && os.SameFile(ist, st) {
		return fmt.Errorf("-o %s is the input file; name another file for the script", out)
	}
	if !force {
		return outputExists(out)
	}
	return nil
}

// writeOutput writes data to path through a temporary file beside it, so
// a failed write never leaves half a script, creating path's directory if
// needed. Without force an existing file is never replaced, even one
// created meanwhile: the finished file is hard-linked into place, which
// fails if the name exists.
func writeOutput(path string, data []byte, force bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-o %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("-o %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if force {
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	err = os.Link(tmp, path)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrExist):
		return outputExists(path)
	}
	// A filesystem without hard links: create the name exclusively.
	g, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return outputExists(path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = g.Write(data)
	if cerr := g.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nemo-migrate/nemo-migrate/internal/bytesize"
	"github.com/nemo-migrate/nemo-migrate/internal/convert"
	"github.com/nemo-migrate/nemo-migrate/internal/distckpt"
	"github.com/nemo-migrate/nemo-migrate/internal/export"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo1"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo2"
	"github.com/nemo-migrate/nemo-migrate/internal/verify"
)

const verifyHelp = `Verify proves that a NeMo 2.0 checkpoint loads and, with --source, that
nothing was lost converting it.

Without --source it checks what NeMo 2.0 and Megatron-Core rely on:
metadata.json; the .metadata index parses and its chunks tile every tensor
exactly once; every referenced byte range exists, parses as a torch.save
archive of the recorded dtype and shape, and matches its CRC; every object
parses; common.pt holds only plain values; context/ resolves.

With --source it also compares every tensor of the NeMo 1.0 source with the
output bit for bit (keys mapped "model." to "module.") and every object value
for value. core_attention extra states, which convert replaces with a fresh
state as NeMo's converter does, are not compared.

A Hugging Face checkpoint written by export (config.json and safetensors)
is verified too: every safetensors file parses and tiles exactly, the index
names every tensor where it is, and with --source every tensor is compared
bit for bit with its transform of the source (the q/k/v rows, the SwiGLU
half, the layer or expert, the vocabulary rows), and config.json with the
config the source implies.

Every problem found is listed with the key it concerns; the exit code is 1
when there is any.

Examples:
  nemo-migrate verify out
  nemo-migrate verify out --source model.nemo --json
  nemo-migrate verify model-hf --source model.nemo`

// notNeMo1 refuses a NeMo 1.0 checkpoint given where verify wants its
// conversion, and says what the user probably meant.
func notNeMo1(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	nemo1 := !st.IsDir() || isDir(filepath.Join(path, "model_weights")) || isFile(filepath.Join(path, "model_config.yaml"))
	if !nemo1 {
		return nil
	}
	what := "a NeMo 1.0 checkpoint directory"
	if !st.IsDir() {
		what = "a file (a .nemo checkpoint?)"
	}
	return fmt.Errorf("%s is %s; verify checks a NeMo 2.0 or Hugging Face checkpoint directory that convert or export wrote: "+
		"run 'nemo-migrate verify OUT --source %s' to prove a conversion of it, or 'nemo-migrate inspect %s' to look inside it", path, what, path, path)
}

func runVerify(e *env, args []string) error {
	fs := newFlagSet(e, "verify", "OUT [--source IN] [--json]", verifyHelp)
	source := fs.String("source", "", "the NeMo 1.0 `checkpoint` OUT was converted from, to compare bit for bit")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	noProgress := fs.Bool("no-progress", false, "do not draw a progress bar")
	pos, err := fs.parseAll(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one checkpoint directory, got %d", len(pos))
	}
	out := pos[0]
	if err := errors.Join(mustExist("checkpoint", out), mustExist("--source", *source)); err != nil {
		return err
	}
	if err := notNeMo1(out); err != nil {
		return err
	}
	if export.IsHF(out) {
		return verifyHF(e, out, *source, *asJSON, *noProgress)
	}
	root, err := os.OpenRoot(out)
	if err != nil {
		return err
	}
	defer root.Close()
	weightsDir, hasContext := ".", false
	if isDir(filepath.Join(out, "weights")) {
		weightsDir = "weights"
		hasContext = true
	}
	var rep *verify.Report
	err = e.withProgress(*noProgress || *asJSON, out, func(bars func(string) func(done, total int64)) error {
		var outCk *distckpt.Checkpoint
		var err error
		rep, outCk, err = verify.Weights(e.ctx, root.FS(), weightsDir, verify.Options{Progress: bars("verifying")})
		if err != nil {
			return err
		}
		if hasContext {
			verify.Context(root.FS(), "context", rep)
			for _, p := range nemo2.CheckContext(out) {
				rep.Add("context/", "%s", p)
			}
		}
		if *source == "" || outCk == nil {
			return nil
		}
		src, err := convert.Open(e.ctx, *source, nemo1.Options{Progress: bars("decompressing")})
		if err != nil {
			return err
		}
		defer src.Close()
		return verify.Against(e.ctx, outCk, src.Weights, convert.TargetKey(src.Weights), convert.ReplacedObject, rep, verify.Options{Progress: bars("comparing")})
	})
	if err != nil {
		return err
	}
	summary := fmt.Sprintf("checked %d tensors (%d chunks, %s) and %d objects", rep.Tensors, rep.Chunks, bytesize.Format(rep.Bytes), rep.Objects)
	if *source != "" {
		summary += fmt.Sprintf("; %d compared with %s", rep.Compared, *source)
	}
	return e.report(rep, out, summary, *asJSON)
}

// report prints a verification report (as JSON, or the summary line,
// notes and problems) and fails when it holds any problem.
func (e *env) report(rep *verify.Report, out, summary string, asJSON bool) error {
	if asJSON {
		if err := printJSON(e.stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(e.stdout, summary)
		for _, n := range rep.Notes {
			fmt.Fprintf(e.stdout, "note: %s\n", n)
		}
		for _, f := range rep.Findings {
			fmt.Fprintf(e.stdout, "PROBLEM %s\n", f)
		}
	}
	if !rep.OK() {
		return fmt.Errorf("%s: %d problem(s) found", out, len(rep.Findings))
	}
	if !asJSON {
		fmt.Fprintln(e.stdout, "OK")
	}
	return nil
}

func verifyHF(e *env, out, source string, asJSON, noProgress bool) error {
	var rep *verify.Report
	err := e.withProgress(noProgress || asJSON, out, func(bars func(string) func(done, total int64)) error {
		var err error
		rep, err = export.Verify(e.ctx, out, source, convert.TargetOptions{}, verify.Options{Progress: bars("verifying")})
		return err
	})
	if err != nil {
		return err
	}
	summary := fmt.Sprintf("checked %d tensors of a Hugging Face checkpoint", rep.Tensors)
	if source != "" {
		summary += fmt.Sprintf("; %d compared with %s (%s)", rep.Compared, source, bytesize.Format(rep.Bytes))
	}
	return e.report(rep, out, summary, asJSON)
}

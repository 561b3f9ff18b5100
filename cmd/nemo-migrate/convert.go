package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"

	"github.com/nemo-migrate/nemo-migrate/internal/bytesize"
	"github.com/nemo-migrate/nemo-migrate/internal/convert"
	"github.com/nemo-migrate/nemo-migrate/internal/tokenizer"
)

// hubConfig reads the Hugging Face Hub settings from the environment, as
// huggingface_hub does (tokenizer.HubFromEnv: endpoint, token or the
// token file of 'hf auth login', cache, offline mode), and the proxy
// variables. --offline forbids downloads as HF_HUB_OFFLINE=1 does.
func (e *env) hubConfig(offline bool) *tokenizer.HubConfig {
	c := tokenizer.HubFromEnv(e.getenv)
	c.Proxy = http.ProxyFromEnvironment
	c.UserAgent = "nemo-migrate"
	if offline && !c.Offline {
		c.Offline, c.OfflineReason = true, "--offline"
	}
	return c
}

const convertHelp = `Convert turns a NeMo 1.0 checkpoint into a NeMo 2.0 checkpoint directory
(weights/ in torch_dist format, context/) without Python, PyTorch or a GPU,
streaming with a small fixed memory budget.

The input may be a .nemo file (plain tar or gzip), the directory it extracts
to, or a bare model_weights/ directory; both distributed checkpoint backends
(torch_dist and zarr) are read. Tensor bytes are copied, never decoded:
torch_dist files are copied whole (reflink or copy_file_range where the
filesystem allows) and only the index is rewritten; zarr chunks are wrapped
into torch.save items. Keys change from "model." to "module.".

--model_id auto builds the NeMo 2.0 model model_config.yaml describes: the
GPT families (Llama, Mistral, Mixtral, Nemotron, Qwen2, Gemma, ...), Mamba
hybrids (NemotronH, as MambaModel) and the full TransformerEngine layer;
'nemo-migrate models' lists them and the ids. A setting that changes the
network and has no place in NeMo 2.0 fails the conversion before anything is
written, naming the key.

Parameters keep the checkpoint's dtype (bf16, fp16 or fp32), and the NeMo 2.0
config says so (params_dtype and the precision plugin), so nothing is lost.
--dtype casts them while streaming, rounding to nearest even as torch does;
verify --source then compares against the cast source.

The output is built in a hidden sibling directory and renamed into place only
when complete; an error or Ctrl-C removes it. An existing non-empty output is
refused unless --force is given.

NeMo's own flag names (--input_path, --output_path, --model_id, ...) are
accepted, so commands from NeMo's documentation work unchanged.

Examples:
  nemo-migrate convert --input_path model.nemo --output_path out --model_id meta-llama/Meta-Llama-3-8B
  nemo-migrate convert -i model.nemo -o out --model_id auto --dry-run
  nemo-migrate verify out --source model.nemo`

func runConvert(e *env, args []string) error {
	fs := newFlagSet(e, "convert", "--input_path IN --output_path OUT --model_id ID [flags]", convertHelp)
	var in, out string
	fs.stringVar(&in, []string{"input_path", "input", "i"}, "", "the NeMo 1.0 `checkpoint`: .nemo file, extracted directory or model_weights/")
	fs.stringVar(&out, []string{"output_path", "output", "o"}, "", "the NeMo 2.0 checkpoint `directory` to create")
	modelID := fs.String("model_id", "", "the target `model`: a NeMo model id (see 'nemo-migrate models'), \"auto\" (the architecture from model_config.yaml), or a NeMo 2.0 checkpoint directory whose model is reused")
	tokPath := fs.String("tokenizer_path", "", "the tokenizer to use instead of the checkpoint's (`path`; honoured for .nemo input too): a SentencePiece .model file, a Hugging Face tokenizer directory (or, with --tokenizer_library huggingface, a Hub repository id), or with --tokenizer_library megatron a directory holding GPT-2's vocab.json and merges.txt")
	tokLib := fs.String("tokenizer_library", "", "the `library` of --tokenizer_path: sentencepiece, huggingface, tiktoken or megatron (default: guessed from the path)")
	tokVocab := fs.String("tokenizer_vocab_file", "", "a tiktoken vocabulary `file` (JSON, as NeMo's TiktokenTokenizer reads); overrides every other tokenizer source")
	fs.String("tokenizer_model_name", "TiktokenTokenizer", "accepted for compatibility with NeMo's converter, whose only tokenizer model `name` for --tokenizer_vocab_file is TiktokenTokenizer")
	offline := fs.Bool("offline", false, "never download a Hugging Face tokenizer, as HF_HUB_OFFLINE=1 (one named by the checkpoint is taken from the Hugging Face cache, $HF_HUB_CACHE or ~/.cache/huggingface/hub, else downloaded from $HF_ENDPOINT, default the public Hub, with $HF_TOKEN or the token 'hf auth login' stored)")
	dtype := fs.String("dtype", "", "cast the parameters to this `dtype`: bfloat16, float16 or float32 (default: keep the checkpoint's)")
	force := fs.Bool("force", false, "replace an existing non-empty output directory")
	dryRun := fs.Bool("dry-run", false, "print the plan (every key mapping, shape, byte count and file) and checks; write nothing")
	asJSON := fs.Bool("json", false, "print the plan (with --dry-run) or a summary as JSON")
	noProgress := fs.Bool("no-progress", false, "do not draw a progress bar (it is drawn only on a terminal anyway)")
	spool := fs.String("spool-dir", "", "the `directory` to decompress a gzip .nemo into (default: next to the output)")
	fs.require("input_path", "output_path", "model_id")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (flags come before nothing else)", fs.Arg(0))
	}
	if in == "" || out == "" {
		return usagef("--input_path and --output_path are required")
	}
	if *modelID == "" {
		return usagef("--model_id is required: a NeMo model id (see 'nemo-migrate models'), \"auto\", or a NeMo 2.0 checkpoint directory")
	}
	target := &convert.TargetOptions{ModelID: *modelID, TokenizerPath: *tokPath, TokenizerLibrary: *tokLib, TokenizerVocabFile: *tokVocab}
	if err := target.CheckTokenizer(); err != nil {
		return usagef("%v", err)
	}
	target.Hub = e.hubConfig(*offline)
	dt, err := normalizeDType(*dtype)
	if err != nil {
		return err
	}
	if err := errors.Join(mustExist("--input_path", in), mustExist("--tokenizer_path", *tokPath), mustExist("--tokenizer_vocab_file", *tokVocab)); err != nil {
		return err
	}
	opts := convert.Options{Input: in, Output: out, Force: *force, SpoolDir: *spool, Target: target, DType: dt}

	if *dryRun {
		plan, err := convert.DryRun(e.ctx, opts)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.stdout, plan)
		}
		return printPlan(e.stdout, plan)
	}

	var res *convert.Result
	err = e.withProgress(*noProgress || *asJSON, out, func(bars func(string) func(done, total int64)) error {
		opts.SpoolProgress, opts.Progress = bars("decompressing"), bars("converting")
		var err error
		res, err = convert.Run(e.ctx, opts)
		return err
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	fmt.Fprintf(e.stdout, "wrote %s: %s with %s; %d tensors (%s of tensor data), %d objects; %s written in %s\n",
		res.Output, res.Config, res.Tokenizer, res.Tensors, bytesize.Format(res.TensorBytes), res.Objects, bytesize.Format(res.Bytes), res.Duration.Round(1e6))
	for _, n := range res.Warnings {
		fmt.Fprintf(e.stdout, "warning: %s\n", n)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(e.stdout, "note: %s\n", n)
	}
	fmt.Fprintf(e.stdout, "check it with: nemo-migrate verify %s --source %s\n", res.Output, in)
	return nil
}

func printPlan(w io.Writer, p *convert.Plan) error {
	fmt.Fprintf(w, "input:    %s (%s, %s)\n", p.Input, p.Form, p.Backend)
	fmt.Fprintf(w, "output:   %s\n", p.Output)
	if p.Model != "" {
		fmt.Fprintf(w, "model:    %s -> %s (%s)\n", p.Model, p.ConfigClass, p.ModelClass)
		fmt.Fprintf(w, "tokenizer: %s, vocabulary %d\n", p.Tokenizer, p.VocabSize)
	}
	fmt.Fprintf(w, "moves:    %s in %d files (%s of tensor data)\n", bytesize.Format(p.Bytes), len(p.Files), bytesize.Format(p.TensorBytes()))
	for _, n := range p.Notes {
		fmt.Fprintf(w, "note:     %s\n", n)
	}
	for _, n := range p.Warnings {
		fmt.Fprintf(w, "warning:  %s\n", n)
	}
	fmt.Fprintln(w, "\nFILES (weights/)")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, f := range p.Files {
		src := "written by convert"
		if f.Source != "" {
			src = "copied from " + f.Source
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Name, bytesize.Format(f.Bytes), src)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nTENSORS")
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tTARGET\tDTYPE\tSHAPE\tCHUNKS\tBYTES\tACTION")
	for _, t := range p.Tensors {
		dt := t.DType
		if t.Cast != "" {
			dt += "->" + t.Cast
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", t.Source, t.Target, dt, shapeString(t.Shape), t.Chunks, bytesize.Format(t.Bytes), t.Action)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nOBJECTS")
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tTARGET\tACTION")
	for _, o := range p.Objects {
		src := o.Source
		if src == "" {
			src = "(none)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", src, o.Target, o.Action)
	}
	return tw.Flush()
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/nemo-migrate/nemo-migrate/internal/bytesize"
	"github.com/nemo-migrate/nemo-migrate/internal/convert"
	"github.com/nemo-migrate/nemo-migrate/internal/export"
)

const exportHelp = `Export writes a NeMo checkpoint as a Hugging Face checkpoint directory that
transformers loads with from_pretrained, without Python, PyTorch or a GPU.

The input is anything convert reads (a NeMo 1.0 .nemo, its extracted
directory, or model_weights/ with --tokenizer_path) or a NeMo 2.0 checkpoint
directory (weights/ and context/). The output holds config.json,
generation_config.json, the weights as safetensors (model.safetensors, or
model-0000N-of-0000M.safetensors shards with model.safetensors.index.json)
and the tokenizer files.

The model class is chosen from the architecture: LlamaForCausalLM,
MistralForCausalLM (a sliding window), MixtralForCausalLM (experts),
Qwen2ForCausalLM (biases on q, k, v), Starcoder2ForCausalLM (LayerNorm, GeLU,
biases, rope), NemotronForCausalLM (layernorm1p, squared ReLU) or
GPTBigCodeForCausalLM (LayerNorm, learned positions, GeLU, biases); Llama 3.1
RoPE scaling becomes rope_scaling. A model that none of them
computes exactly (a config field with no place in the class, a tensor with no
place in the output) is refused before anything is written.

Tensor bytes are copied, never decoded: the fused QKV is split per query
group into q/k/v, a SwiGLU fc1 into gate and up, expert and layer stacks per
expert and layer, and the vocabulary padding rows are dropped, each as a byte
range. --dtype casts while streaming (round to nearest even, as torch does).
The output is built in a hidden sibling directory and renamed into place
when complete.

Examples:
  nemo-migrate export --input_path model.nemo --output_path model-hf
  nemo-migrate export -i nemo2-checkpoint/ -o model-hf --dtype bfloat16 --shard-size 2GB
  nemo-migrate export -i model.nemo -o model-hf --dry-run`

func runExport(e *env, args []string) error {
	fs := newFlagSet(e, "export", "--input_path IN --output_path OUT [flags]", exportHelp)
	var in, out string
	fs.stringVar(&in, []string{"input_path", "input", "i"}, "", "the NeMo `checkpoint`: a NeMo 1.0 .nemo, extracted directory or model_weights/, or a NeMo 2.0 checkpoint directory")
	fs.stringVar(&out, []string{"output_path", "output", "o"}, "", "the Hugging Face checkpoint `directory` to create")
	format := fs.String("format", "hf", "the output `format`: hf (Hugging Face transformers)")
	tokPath := fs.String("tokenizer_path", "", "the tokenizer to use instead of the checkpoint's: a SentencePiece .model file, a Hugging Face tokenizer directory, or with --tokenizer_library megatron a directory holding GPT-2's vocab.json and merges.txt (`path`)")
	tokLib := fs.String("tokenizer_library", "", "the `library` of --tokenizer_path: sentencepiece, huggingface or megatron (default: guessed from the path)")
	dtype := fs.String("dtype", "", "cast the parameters to this `dtype`: bfloat16, float16 or float32 (default: keep the checkpoint's)")
	shard := fs.String("shard-size", "5GB", "the most tensor bytes per safetensors file: a `size` as Hugging Face's max_shard_size takes it, such as 5GB, 500MB, 2GiB or a byte count")
	force := fs.Bool("force", false, "replace an existing non-empty output directory")
	dryRun := fs.Bool("dry-run", false, "print the plan (every output tensor with its source and transform, the config and files); write nothing")
	asJSON := fs.Bool("json", false, "print the plan (with --dry-run) or a summary as JSON")
	noProgress := fs.Bool("no-progress", false, "do not draw a progress bar (it is drawn only on a terminal anyway)")
	spool := fs.String("spool-dir", "", "the `directory` to decompress a gzip .nemo into (default: next to the output)")
	fs.require("input_path", "output_path")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if in == "" || out == "" {
		return usagef("--input_path and --output_path are required")
	}
	if *format != "hf" {
		return usagef("--format %s: the only format is hf (Megatron-Bridge output comes next)", *format)
	}
	shardSize, err := parseSize(*shard)
	if err != nil {
		return usagef("--shard-size %s: %v", *shard, err)
	}
	dt, err := normalizeDType(*dtype)
	if err != nil {
		return err
	}
	if err := errors.Join(mustExist("--input_path", in), mustExist("--tokenizer_path", *tokPath)); err != nil {
		return err
	}
	opts := export.Options{Input: in, Output: out, Force: *force, ShardSize: shardSize, DType: dt, SpoolDir: *spool,
		Tokenizer: convert.TargetOptions{TokenizerPath: *tokPath, TokenizerLibrary: *tokLib}}
	if err := opts.Tokenizer.CheckTokenizer(); err != nil {
		return usagef("%v", err)
	}
	if *dryRun {
		plan, err := export.DryRun(e.ctx, opts)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.stdout, plan)
		}
		return printExportPlan(e.stdout, plan)
	}
	var res *export.Result
	err = e.withProgress(*noProgress || *asJSON, out, func(bars func(string) func(done, total int64)) error {
		opts.SpoolProgress, opts.Progress = bars("decompressing"), bars("exporting")
		var err error
		res, err = export.Run(e.ctx, opts)
		return err
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, res)
	}
	fmt.Fprintf(e.stdout, "wrote %s: %s, %d tensors, %s in %s\n", res.Output, res.Architecture, res.Tensors, bytesize.Format(res.Bytes), res.Duration.Round(1e6))
	for _, n := range res.Notes {
		fmt.Fprintf(e.stdout, "note: %s\n", n)
	}
	return nil
}

// normalizeDType accepts the dtype spellings users type.
func normalizeDType(s string) (string, error) {
	switch s {
	case "", "bfloat16", "float16", "float32":
		return s, nil
	case "bf16":
		return "bfloat16", nil
	case "fp16", "half":
		return "float16", nil
	case "fp32", "float":
		return "float32", nil
	}
	return "", usagef("--dtype %s: want bfloat16, float16 or float32", s)
}

// parseSize reads a size as Hugging Face's max_shard_size does: decimal
// units (KB, MB, GB, TB) and binary ones (KiB, MiB, GiB, TiB).
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.m
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n <= 0 || n*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("want a positive size such as 5GB, 500MB or 2GiB")
	}
	return int64(n * float64(mult)), nil
}

func printExportPlan(w io.Writer, p *export.Plan) error {
	fmt.Fprintf(w, "input:    %s (%s, %s, %s)\n", p.Input, p.Form, p.SourceConfig, p.DType)
	fmt.Fprintf(w, "output:   %s\n", p.Output)
	fmt.Fprintf(w, "model:    %s (model_type %s), vocabulary %d\n", p.Architecture, p.ModelType, p.VocabSize)
	fmt.Fprintf(w, "writes:   %s of tensors in %d files; tokenizer: %s\n", bytesize.Format(p.Bytes), len(p.Files), strings.Join(p.Tokenizer, ", "))
	for _, n := range p.Notes {
		fmt.Fprintf(w, "note:     %s\n", n)
	}
	cfg, err := json.MarshalIndent(p.Config, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nconfig.json\n%s\n", cfg)
	fmt.Fprintln(w, "\nTENSORS")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDTYPE\tSHAPE\tFILE\tSOURCE\tPART")
	for _, t := range p.Tensors {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.DType, shapeString(t.Shape), t.File, t.Source, t.From)
	}
	return tw.Flush()
}

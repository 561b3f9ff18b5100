package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/nemo-migrate/nemo-migrate/internal/bytesize"
	"github.com/nemo-migrate/nemo-migrate/internal/convert"
	"github.com/nemo-migrate/nemo-migrate/internal/distckpt"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo1"
	"github.com/nemo-migrate/nemo-migrate/internal/pyrepr"
)

const inspectHelp = `Inspect describes a checkpoint without changing it: its form, the
distributed checkpoint backend, and every tensor (key, dtype, global shape,
number of stored chunks, bytes) and sharded object.

PATH may be a NeMo 1.0 .nemo file (plain tar or gzip), an extracted .nemo
directory, a bare distributed checkpoint directory (model_weights/ of NeMo 1.0,
weights/ of NeMo 2.0), or a NeMo 2.0 checkpoint directory (weights/ and context/).

Examples:
  nemo-migrate inspect model.nemo
  nemo-migrate inspect --json out/weights | jq '.tensors[].key'`

// inspectReport is the --json form; its field names are stable.
type inspectReport struct {
	Path    string         `json:"path"`
	Format  string         `json:"format"`
	Backend string         `json:"backend"`
	Weights string         `json:"weights_dir"`
	Tensors []inspectEntry `json:"tensors"`
	Objects []string       `json:"objects"`
	Bytes   int64          `json:"bytes"`
	// Model summarizes the model config: NeMo 1's model_config.yaml, or
	// NeMo 2's context/model.yaml (target class and sizes).
	Model map[string]any `json:"model,omitempty"`
	// Tokenizer summarizes the tokenizer the checkpoint names.
	Tokenizer map[string]any `json:"tokenizer,omitempty"`
	Notes     []string       `json:"notes,omitempty"`
}

// summaryKeys are the config fields inspect shows, in this order: NeMo 1
// names first, then NeMo 2's where they differ.
var summaryKeys = []string{
	"_target_", "mcore_gpt", "num_layers", "hidden_size", "ffn_hidden_size", "num_attention_heads",
	"num_query_groups", "kv_channels", "encoder_seq_length", "seq_length", "max_position_embeddings",
	"normalization", "activation", "gated_linear_unit", "position_embedding_type", "rotary_percentage",
	"rotary_percent", "rotary_base", "share_embeddings_and_output_weights", "num_moe_experts",
	"moe_router_topk", "vocab_size", "make_vocab_size_divisible_by", "tensor_model_parallel_size",
	"pipeline_model_parallel_size", "precision", "bf16", "fp8", "dist_ckpt_format",
}

func summarize(m map[string]any, keys []string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := m[k]; ok && v != nil {
			if sub, isMap := v.(map[string]any); isMap {
				if t, ok := sub["_target_"]; ok {
					v = t
				} else {
					continue
				}
			}
			out[k] = v
		}
	}
	return out
}

type inspectEntry struct {
	Key    string  `json:"key"`
	DType  string  `json:"dtype"`
	Shape  []int64 `json:"shape"`
	Chunks int     `json:"chunks"`
	Bytes  int64   `json:"bytes"`
}

func runInspect(e *env, args []string) error {
	fs := newFlagSet(e, "inspect", "[--json] PATH", inspectHelp)
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	pos, err := fs.parseAll(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one PATH, got %d", len(pos))
	}
	rep, err := inspectPath(e.ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, rep)
	}
	return printInspect(e.stdout, rep)
}

// openWeights opens whatever form of checkpoint path is and returns its
// distributed checkpoint, a description of the form, and a closer.
func openWeights(ctx context.Context, path string) (*distckpt.Checkpoint, string, string, io.Closer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", "", nil, err
	}
	if st.IsDir() {
		// A NeMo 2.0 checkpoint: weights/ next to context/.
		if isDir(filepath.Join(path, "weights")) {
			root, err := os.OpenRoot(path)
			if err != nil {
				return nil, "", "", nil, err
			}
			c, err := distckpt.Open(root.FS(), "weights")
			if err != nil {
				root.Close()
				return nil, "", "", nil, fmt.Errorf("%s: %w", path, err)
			}
			return c, "NeMo 2.0 checkpoint", "weights", nemo2Closer{root}, nil
		}
	}
	src, err := convert.Open(ctx, path, nemo1.Options{})
	if err != nil {
		return nil, "", "", nil, err
	}
	form := "NeMo 1.0 " + src.NeMo1.Kind.String()
	if src.NeMo1.Kind == nemo1.WeightsDirectory {
		form = "distributed checkpoint directory"
	}
	return src.Weights, form, src.NeMo1.WeightsDir, nemo1Closer{src.NeMo1}, nil
}

// The closers of openWeights also know where the model config is.
type nemo1Closer struct{ ck *nemo1.Checkpoint }

func (n nemo1Closer) Close() error { return n.ck.Close() }
func (n nemo1Closer) modelYAML() (map[string]any, error) {
	if n.ck.ConfigPath == "" {
		return nil, nil
	}
	data, err := n.ck.ReadConfig()
	if err != nil {
		return nil, err
	}
	return convert.ReadYAML(data)
}

type nemo2Closer struct{ root *os.Root }

func (n nemo2Closer) Close() error { return n.root.Close() }
func (n nemo2Closer) modelYAML() (map[string]any, error) {
	data, err := n.root.ReadFile("context/model.yaml")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return convert.ReadYAML(data)
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func inspectPath(ctx context.Context, path string) (*inspectReport, error) {
	if err := mustExist("checkpoint", path); err != nil {
		return nil, err
	}
	c, form, weights, closer, err := openWeights(ctx, path)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	rep := &inspectReport{Path: path, Format: form, Backend: c.Config.ShardedBackend, Weights: weights, Tensors: []inspectEntry{}, Objects: []string{}, Notes: c.Notes}
	for _, t := range c.Tensors {
		rep.Tensors = append(rep.Tensors, inspectEntry{Key: t.Key, DType: string(t.DType), Shape: t.Shape, Chunks: len(t.Chunks), Bytes: t.NumBytes()})
		rep.Bytes += t.NumBytes()
	}
	for _, o := range c.Objects {
		rep.Objects = append(rep.Objects, o.Key)
	}
	if yaml, ok := closer.(interface {
		modelYAML() (map[string]any, error)
	}); ok {
		m, err := yaml.modelYAML()
		if err != nil {
			rep.Notes = append(rep.Notes, "model config: "+err.Error())
		} else if m != nil {
			cfg := m
			if sub, ok := m["config"].(map[string]any); ok { // NeMo 2 model.yaml
				cfg = sub
				cfg["_target_"] = sub["_target_"]
			}
			rep.Model = summarize(cfg, summaryKeys)
			if tok, ok := m["tokenizer"].(map[string]any); ok {
				rep.Tokenizer = summarize(tok, tokenizerKeys)
			}
		}
	}
	return rep, nil
}

// tokenizerKeys are the tokenizer settings inspect shows, as NeMo 1's
// model_config.yaml and NeMo 2's model.yaml spell them.
var tokenizerKeys = []string{"_target_", "library", "type", "model", "model_path", "pretrained_model_name", "vocab_file", "merge_file", "merges_file", "use_fast", "sentencepiece_legacy", "legacy"}

func printInspect(w io.Writer, rep *inspectReport) error {
	fmt.Fprintf(w, "path:     %s\n", rep.Path)
	fmt.Fprintf(w, "format:   %s\n", rep.Format)
	fmt.Fprintf(w, "backend:  %s (in %s)\n", rep.Backend, rep.Weights)
	fmt.Fprintf(w, "tensors:  %d, %s of tensor data\n", len(rep.Tensors), bytesize.Format(rep.Bytes))
	fmt.Fprintf(w, "objects:  %d\n", len(rep.Objects))
	if len(rep.Model) > 0 {
		fmt.Fprintf(w, "model:    %s\n", formatSummary(rep.Model, summaryKeys))
	}
	if len(rep.Tokenizer) > 0 {
		fmt.Fprintf(w, "tokenizer: %s\n", formatSummary(rep.Tokenizer, tokenizerKeys))
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note:     %s\n", n)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tDTYPE\tSHAPE\tCHUNKS\tBYTES")
	for _, t := range rep.Tensors {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", t.Key, t.DType, shapeString(t.Shape), t.Chunks, bytesize.Format(t.Bytes))
	}
	tw.Flush()
	if len(rep.Objects) > 0 {
		fmt.Fprintln(w, "\nOBJECTS")
		for _, o := range rep.Objects {
			fmt.Fprintln(w, o)
		}
	}
	return nil
}

func formatSummary(m map[string]any, order []string) string {
	var parts []string
	for _, k := range order {
		if v, ok := m[k]; ok {
			if f, isFloat := v.(float64); isFloat {
				v = pyrepr.Float(f)
			}
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	return strings.Join(parts, " ")
}

func shapeString(s []int64) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

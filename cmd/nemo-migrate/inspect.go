package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"nemo-migrate/internal/distckpt"
	"nemo-migrate/internal/nemo1"
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
	Notes   []string       `json:"notes,omitempty"`
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
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one PATH, got %d", fs.NArg())
	}
	rep, err := inspectPath(fs.Arg(0))
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return printInspect(e.stdout, rep)
}

// openWeights opens whatever form of checkpoint path is and returns its
// distributed checkpoint, a description of the form, and a closer.
func openWeights(path string) (*distckpt.Checkpoint, string, string, io.Closer, error) {
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
			return c, "NeMo 2.0 checkpoint", "weights", root, nil
		}
	}
	ck, err := nemo1.Open(path, nemo1.Options{})
	if err != nil {
		return nil, "", "", nil, err
	}
	c, err := distckpt.Open(ck.FS, ck.WeightsDir)
	if err != nil {
		ck.Close()
		return nil, "", "", nil, fmt.Errorf("%s: %w", path, err)
	}
	form := "NeMo 1.0 " + ck.Kind.String()
	if ck.Kind == nemo1.WeightsDirectory {
		form = "distributed checkpoint directory"
	}
	return c, form, ck.WeightsDir, ck, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func inspectPath(path string) (*inspectReport, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist", path)
	}
	c, form, weights, closer, err := openWeights(path)
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
	return rep, nil
}

func printInspect(w io.Writer, rep *inspectReport) error {
	fmt.Fprintf(w, "path:     %s\n", rep.Path)
	fmt.Fprintf(w, "format:   %s\n", rep.Format)
	fmt.Fprintf(w, "backend:  %s (in %s)\n", rep.Backend, rep.Weights)
	fmt.Fprintf(w, "tensors:  %d, %s\n", len(rep.Tensors), humanBytes(rep.Bytes))
	fmt.Fprintf(w, "objects:  %d\n", len(rep.Objects))
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note:     %s\n", n)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tDTYPE\tSHAPE\tCHUNKS\tBYTES")
	for _, t := range rep.Tensors {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", t.Key, t.DType, shapeString(t.Shape), t.Chunks, humanBytes(t.Bytes))
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

func shapeString(s []int64) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

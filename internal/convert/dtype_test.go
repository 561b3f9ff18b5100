package convert

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo1"
	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
	"github.com/nemo-migrate/nemo-migrate/internal/verify"
)

// TestDTypes converts fp16 and fp32 checkpoints (both backends, tar and
// directory): by default the bytes are kept and the config says what they
// are; with DType they are cast while streaming and must equal torch's
// own Tensor.to of the source. Each output is checked by real torch (1.13
// and every configured current stack) and by verify --source.
func TestDTypes(t *testing.T) {
	stacks := oracle.Stacks(t, "torch", "numpy", "yaml")
	for _, tc := range []struct {
		args []string
		cast string
	}{
		{[]string{"--arch", "llama", "--backend", "torch_dist", "--form", "nemo", "--dtype", "float16"}, ""},
		{[]string{"--arch", "llama", "--backend", "zarr", "--form", "dir", "--dtype", "float16"}, ""},
		{[]string{"--arch", "nemotron", "--backend", "torch_dist", "--form", "dir", "--dtype", "float32"}, ""},
		{[]string{"--arch", "mixtral", "--backend", "zarr", "--form", "nemo", "--dtype", "float32"}, ""},
		{[]string{"--arch", "llama", "--backend", "torch_dist", "--form", "nemo", "--dtype", "float32"}, "bfloat16"},
		{[]string{"--arch", "llama", "--backend", "zarr", "--form", "nemo", "--dtype", "float16"}, "bfloat16"},
		{[]string{"--arch", "nemotron", "--backend", "torch_dist", "--form", "nemo"}, "float32"},
	} {
		name := strings.Join(tc.args, " ")
		if tc.cast != "" {
			name += " -> " + tc.cast
		}
		t.Run(name, func(t *testing.T) {
			dir, input := writeFixture(t, tc.args...)
			out := filepath.Join(t.TempDir(), "out")
			if _, err := Run(context.Background(), Options{Input: input, Output: out, DType: tc.cast, Target: &TargetOptions{ModelID: "auto"}}); err != nil {
				t.Fatal(err)
			}
			checkNeMo2Cast(t, oracle.Interpreter(), out, dir, tc.cast)
			for _, s := range stacks {
				checkNeMo2Cast(t, s.Python, out, dir, tc.cast)
			}
			rep := verifySource(t, out, input)
			if !rep.OK() {
				t.Errorf("verify --source: %v", rep.Findings)
			}
			if tc.cast != "" && !strings.Contains(strings.Join(rep.Notes, "\n"), "cast from") {
				t.Errorf("verify does not say it compared against the cast source: %v", rep.Notes)
			}
		})
	}
}

// verifySource is "nemo-migrate verify OUT --source INPUT".
func verifySource(t *testing.T, out, input string) *verify.Report {
	t.Helper()
	root, err := os.OpenRoot(out)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	rep, ck, err := verify.Weights(context.Background(), root.FS(), "weights", verify.Options{})
	if err != nil || ck == nil {
		t.Fatalf("verify: %v %v", err, rep)
	}
	src, err := Open(t.Context(), input, nemo1.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := verify.Against(context.Background(), ck, src.Weights, models.NeMo2Key, ReplacedObject, rep, verify.Options{}); err != nil {
		t.Fatal(err)
	}
	return rep
}

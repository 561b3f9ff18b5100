package convert

import (
	"context"
	"path/filepath"
	"testing"

	"nemo-migrate/internal/oracle"
)

// TestCurrentStacks proves the output against current torch, not only the
// host's torch 1.13: the fixture is written on the host, converted, and then
// every stack NEMO_MIGRATE_STACKS configures (torch 2.6 from Debian trixie,
// torch 2.14 from sid; see .ci/run) loads it with its own
// torch.distributed.checkpoint and compares every tensor and object with the
// source (nemo2check.check_nemo2).
func TestCurrentStacks(t *testing.T) {
	stacks := oracle.Stacks(t, "torch", "numpy", "yaml")
	cases := []struct {
		name string
		args []string
	}{
		{"llama", []string{"--arch", "llama", "--form", "nemo"}},
		{"mixtral-tp2", []string{"--arch", "mixtral", "--form", "dir", "--tp", "2", "--ranks", "2", "--mcore"}},
		{"nemotron", []string{"--arch", "nemotron", "--form", "dir"}},
	}
	for _, c := range cases {
		for _, backend := range []string{"torch_dist", "zarr"} {
			t.Run(c.name+"/"+backend, func(t *testing.T) {
				dir, input := writeFixture(t, append([]string{"--backend", backend}, c.args...)...)
				out := filepath.Join(t.TempDir(), "out")
				res, err := Run(context.Background(), Options{Input: input, Output: out, Target: &TargetOptions{ModelID: "auto"}})
				if err != nil {
					t.Fatal(err)
				}
				if res.Tensors == 0 || res.Objects == 0 {
					t.Errorf("result: %+v", res)
				}
				for _, s := range stacks {
					t.Run(s.Name, func(t *testing.T) {
						checkNeMo2(t, s.Python, out, dir, true)
					})
				}
			})
		}
	}
}

package convert

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
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

// dcpToTorchSave runs torch's own offline converter on weights/ (it reads
// metadata.planner_data, which torch 2.6 requires to be a dict) and checks
// that the single-file result holds every tensor of the index.
const dcpToTorchSave = `
import os, sys, torch, pickle
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save
weights, out = sys.argv[1], sys.argv[2]
dcp_to_torch_save(weights, out)
sd = torch.load(out, weights_only=False)
md = pickle.load(open(os.path.join(weights, ".metadata"), "rb"))
missing = [k for k in md.state_dict_metadata if k not in sd]
assert not missing, "dcp_to_torch_save lost %s" % missing[:3]
print(len(sd))
`

// TestDCPToTorchSave shows torch's dcp_to_torch_save works on our output
// under every current stack.
func TestDCPToTorchSave(t *testing.T) {
	stacks := oracle.Stacks(t, "torch")
	_, input := writeFixture(t, "--arch", "llama", "--backend", "zarr")
	out := filepath.Join(t.TempDir(), "out")
	if _, err := Run(context.Background(), Options{Input: input, Output: out, Target: &TargetOptions{ModelID: "auto"}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range stacks {
		t.Run(s.Name, func(t *testing.T) {
			oracle.RunWith(t, s.Python, []string{"torch"}, dcpToTorchSave, filepath.Join(out, "weights"), filepath.Join(t.TempDir(), "all.pt"))
		})
	}
}

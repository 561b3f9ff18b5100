package convert

import (
	"context"
	"path/filepath"
	"testing"
)

// TestSharedExperts: a MoE checkpoint with a shared expert converts with
// its weights (real torch loads every tensor back), and the NeMo 2 config
// records the shared expert's size.
func TestSharedExperts(t *testing.T) {
	dir, input := writeFixture(t, "--arch", "mixtral_shared", "--backend", "torch_dist", "--form", "nemo", "--tp", "2")
	out := filepath.Join(t.TempDir(), "out")
	res, err := Run(context.Background(), Options{Input: input, Output: out, Target: &TargetOptions{ModelID: "auto"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Config != "nemo.collections.llm.gpt.model.mixtral.MixtralConfig" {
		t.Errorf("config %s", res.Config)
	}
	checkWithTorch(t, out, dir, true)
	_, cfg, err := ContextModel(out)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := cfg.Value("moe_shared_expert_intermediate_size"); v != 80 && v != int64(80) {
		t.Errorf("moe_shared_expert_intermediate_size = %v (%T), want 80", v, v)
	}
}

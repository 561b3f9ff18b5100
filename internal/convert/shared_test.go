package convert

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo2"
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
	_, cfg, err := nemo2.ReadModel(out)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := cfg.Value("moe_shared_expert_intermediate_size"); v != 80 && v != int64(80) {
		t.Errorf("moe_shared_expert_intermediate_size = %v (%T), want 80", v, v)
	}
}

// TestChatGLM: a ChatGLM checkpoint as convert_chatglm_hf_to_nemo.py lays
// it out (q/k/v biases, interleaved partial RoPE) converts to
// ChatGLMConfig with every tensor intact and its RoPE settings recorded.
func TestChatGLM(t *testing.T) {
	dir, input := writeFixture(t, "--arch", "chatglm", "--backend", "zarr", "--form", "nemo")
	out := filepath.Join(t.TempDir(), "out")
	res, err := Run(context.Background(), Options{Input: input, Output: out, Target: &TargetOptions{ModelID: "auto"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Config != "nemo.collections.llm.gpt.model.chatglm.ChatGLMConfig" {
		t.Errorf("config %s", res.Config)
	}
	checkWithTorch(t, out, dir, true)
	_, cfg, err := nemo2.ReadModel(out)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]any{"rotary_interleaved": true, "rotary_percent": 0.5, "add_qkv_bias": true, "add_bias_linear": false, "num_query_groups": 2} {
		if v, _ := cfg.Value(name); !models.SameValue(v, want) {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
}

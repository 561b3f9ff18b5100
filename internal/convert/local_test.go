package convert

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestLocalSpec: checkpoints of Megatron-Core's local layer spec convert
// with their norms under the names NeMo 2's TransformerEngine layer loads:
// dense layers' input_layernorm/pre_mlp_layernorm as the fused
// layer_norm_* of linear_qkv/linear_fc1, and a MoE layer's norm, which the
// local spec's keys map saves as mlp.linear_fc1.layer_norm_*, as
// pre_mlp_layernorm. Real torch finds every tensor under its NeMo 2 name
// (the fixture's expected.pt names them so), and the extra states the
// local spec lacks are written empty.
func TestLocalSpec(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--arch", "llama", "--backend", "torch_dist", "--form", "nemo", "--local"},
			"decoder.layers.input_layernorm.weight -> decoder.layers.self_attention.linear_qkv.layer_norm_weight"},
		{[]string{"--arch", "nemotron", "--backend", "zarr", "--form", "nemo", "--local"},
			"decoder.layers.input_layernorm.bias -> decoder.layers.self_attention.linear_qkv.layer_norm_bias"},
		{[]string{"--arch", "mixtral", "--backend", "torch_dist", "--form", "dir", "--tp", "2", "--local"},
			"decoder.layers.mlp.linear_fc1.layer_norm_weight -> decoder.layers.pre_mlp_layernorm.weight"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			dir, input := writeFixture(t, c.args...)
			out := filepath.Join(t.TempDir(), "out")
			res, err := Run(context.Background(), Options{Input: input, Output: out, Target: &TargetOptions{ModelID: "auto"}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(res.Notes, "\n"), c.want) {
				t.Errorf("notes %q lack %q", res.Notes, c.want)
			}
			checkWithTorch(t, out, dir, true)
		})
	}
}

package oracle

import (
	"strings"
	"testing"
)

func TestStacksParse(t *testing.T) {
	t.Setenv("NEMO_MIGRATE_INTEROP", "")
	t.Setenv("NEMO_MIGRATE_STACKS", "")
	t.Run("none", func(t *testing.T) { Stacks(t); t.Error("not skipped") })
	t.Setenv("NEMO_MIGRATE_STACKS", " a=/nonexistent/python3  b=/nonexistent/other ")
	t.Run("unimportable", func(t *testing.T) { Stacks(t); t.Error("not skipped") })
}

// extraStateSelfTest feeds check_extra_states the forms the output may take
// and checks what it says about each: the one it must accept (every extra
// state a uint8 tensor of pickle.dumps(state), None without fp8 state) and
// the ones it must reject (a BytesIO payload, an empty tensor, the wrong
// state).
const extraStateSelfTest = `
import io, pickle, torch, nemo2check

def saved(obj):
    b = io.BytesIO()
    torch.save(obj, b)
    return b.getvalue()

def enc(obj):
    return [torch.frombuffer(bytearray(pickle.dumps(obj)), dtype=torch.uint8)]

fp8 = {"scale_fwd": torch.ones(3), "amax_history_fwd": torch.zeros(2, 3), "extra_fp8_variables": {"num_gemms": 1}}
exp = {"tensors": {}, "objects": {
    "model.l.self_attention.linear_qkv._extra_state/shard_0_1": saved({"fp8": False, "tag": 1}),
    "model.l.self_attention.core_attention._extra_state/shard_0_1": saved(fp8),
    "model.l.mlp.linear_fc1._extra_state/shard_0_1": saved(fp8),
    "model.l.mlp.linear_fc2._extra_state/shard_0_1": saved(None),
}}
good = {
    "module.l.self_attention.linear_qkv._extra_state/shard_0_1": enc(None),
    "module.l.self_attention.core_attention._extra_state/shard_0_1": enc(None),
    "module.l.mlp.linear_fc1._extra_state/shard_0_1": enc(fp8),
    "module.l.mlp.linear_fc2._extra_state/shard_0_1": enc(None),
    "module.final_layernorm._extra_state/shard_0_1": enc(None),
    "module.other.object": [io.BytesIO(b"x")],
}

def run(sd):
    problems = []
    nemo2check.check_extra_states(sd, exp, problems)
    return problems

assert run(good) == [], run(good)
for key, value, want in [
    ("module.l.self_attention.linear_qkv._extra_state/shard_0_1", [io.BytesIO(exp["objects"]["model.l.self_attention.linear_qkv._extra_state/shard_0_1"])], "want [1-D torch.uint8 tensor]"),
    ("module.final_layernorm._extra_state/shard_0_1", [torch.empty(0, dtype=torch.uint8)], "do not unpickle"),
    ("module.l.mlp.linear_fc1._extra_state/shard_0_1", enc(None), "want the source's fp8 state"),
    ("module.l.self_attention.linear_qkv._extra_state/shard_0_1", enc({"fp8": False, "tag": 1}), "want None (the source payload carries no fp8 state)"),
    ("module.l.self_attention.core_attention._extra_state/shard_0_1", enc(fp8), "want None (core_attention"),
    ("module.final_layernorm._extra_state/shard_0_1", enc({}), "want None (the source has no such object)"),
    ("module.l.mlp.linear_fc2._extra_state/shard_0_1", [torch.zeros(2, 2, dtype=torch.uint8)], "want [1-D torch.uint8 tensor]"),
]:
    sd = dict(good)
    sd[key] = value
    got = run(sd)
    assert len(got) == 1 and key in got[0] and want in got[0], (key, want, got)
print("ok")
`

func TestCheckExtraStates(t *testing.T) {
	check := func(t *testing.T, python string) {
		if out := RunWith(t, python, []string{"torch", "numpy"}, extraStateSelfTest); strings.TrimSpace(string(out)) != "ok" {
			t.Errorf("self test printed %q", out)
		}
	}
	t.Run("host", func(t *testing.T) { check(t, Python(t, "torch", "numpy")) })
	t.Run("stacks", func(t *testing.T) {
		for _, s := range Stacks(t, "torch", "numpy") {
			t.Run(s.Name, func(t *testing.T) { check(t, s.Python) })
		}
	})
}

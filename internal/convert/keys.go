package convert

import "strings"

// TargetKey maps a NeMo 1.0 key to its NeMo 2.0 key: the first "model."
// becomes "module." (NeMo 1 prefixes its GPT model "model.", NeMo 2's
// MegatronParallel prefixes "module."). A key without "model." (a bare
// Megatron-LM checkpoint) gets "module." in front.
func TargetKey(key string) string {
	if strings.HasPrefix(key, "module.") {
		return key
	}
	if i := strings.Index(key, "model."); i >= 0 {
		return key[:i] + "module." + key[i+len("model."):]
	}
	return "module." + key
}

// ReplacedObject reports whether convert writes a fresh value for the
// source object key instead of copying it.
func ReplacedObject(key string) bool { return isCoreAttentionExtraState(key) }

// isCoreAttentionExtraState reports keys whose TransformerEngine state
// NeMo's converter does not carry over: fp8 metadata of an older TE in
// core_attention may not load into a newer one, so a fresh state is written.
func isCoreAttentionExtraState(key string) bool {
	return strings.Contains(key, "core_attention") && strings.Contains(key, "_extra_state")
}

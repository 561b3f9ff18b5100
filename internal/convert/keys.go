package convert

import "strings"

// ReplacedObject reports whether convert writes a fresh value for the
// source object key instead of copying it.
func ReplacedObject(key string) bool { return isCoreAttentionExtraState(key) }

// isCoreAttentionExtraState reports keys whose TransformerEngine state
// NeMo's converter does not carry over: fp8 metadata of an older TE in
// core_attention may not load into a newer one, so a fresh state is written.
func isCoreAttentionExtraState(key string) bool {
	return strings.Contains(key, "core_attention") && strings.Contains(key, "_extra_state")
}

// isExtraState reports keys of TransformerEngine extra states, which
// convert re-encodes (internal/teextra) rather than copies.
func isExtraState(key string) bool {
	return strings.Contains(key, "_extra_state")
}

package convert

import (
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/distckpt"
	"github.com/nemo-migrate/nemo-migrate/internal/models"
)

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

// TargetKey returns the function that gives each key of src the key
// convert writes it under (models.KeyMap), for verify.
func TargetKey(src *distckpt.Checkpoint) func(string) string {
	key, _ := models.KeyMap(sourceKeys(src))
	return key
}

// sourceKeys lists the keys of every tensor and object of src.
func sourceKeys(src *distckpt.Checkpoint) []string {
	keys := make([]string, 0, len(src.Tensors)+len(src.Objects))
	for _, t := range src.Tensors {
		keys = append(keys, t.Key)
	}
	for _, o := range src.Objects {
		keys = append(keys, o.Key)
	}
	return keys
}

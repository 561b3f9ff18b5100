package export

import (
	"fmt"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
)

// Llama (Llama 2, Llama 3, and any GPT built like them): RMSNorm, SwiGLU,
// rotary embeddings, grouped-query attention, no biases.
func llama() *family {
	return &family{
		Architecture: "LlamaForCausalLM",
		ModelType:    "llama",
		handled:      []string{"seq_len_interpolation_factor", "scale_factor"},
		fits: func(s *Source) error {
			var n need
			ropeDecoder(&n, s.Arch)
			n.want(s.Arch.Experts == 0, "is a dense model, not a mixture of experts")
			return n.err()
		},
		config: func(s *Source) (map[string]any, error) {
			c := llamaConfig(s)
			c["mlp_bias"] = false
			if sf, ok := configFloat(s, "scale_factor"); ok {
				if _, linear := c["rope_scaling"]; linear {
					return nil, fmt.Errorf("%s: both seq_len_interpolation_factor and Llama 3.1 RoPE scaling; Hugging Face's Llama applies one", s.Path)
				}
				// Llama31Config's apply_rope_scaling is Hugging Face's
				// "llama3" rope type, parameter for parameter.
				lf, _ := configFloat(s, "low_freq_factor")
				hf, _ := configFloat(s, "high_freq_factor")
				old, _ := configFloat(s, "old_context_len")
				c["rope_scaling"] = map[string]any{"rope_type": "llama3", "factor": sf, "low_freq_factor": lf,
					"high_freq_factor": hf, "original_max_position_embeddings": int(old)}
			}
			return c, nil
		},
		tensors: func(m *mapper, s *Source, vocab int64) { llamaTensors(m, s, vocab, denseSwiGLU) },
	}
}

// Mistral: Llama with sliding-window attention.
func mistral() *family {
	return &family{
		Architecture: "MistralForCausalLM",
		ModelType:    "mistral",
		handled:      []string{"seq_len_interpolation_factor", "window_size"},
		fits: func(s *Source) error {
			var n need
			ropeDecoder(&n, s.Arch)
			n.want(s.Arch.Experts == 0, "is a dense model, not a mixture of experts")
			_, err := slidingWindow(s)
			n.want(err == nil, "%v", err)
			return n.err()
		},
		config: func(s *Source) (map[string]any, error) {
			w, err := slidingWindow(s)
			if err != nil {
				return nil, err
			}
			c := llamaConfig(s)
			c["sliding_window"] = w
			return c, nil
		},
		tensors: func(m *mapper, s *Source, vocab int64) { llamaTensors(m, s, vocab, denseSwiGLU) },
	}
}

// slidingWindow returns Hugging Face's sliding_window for Megatron's
// window_size (left, 0). Megatron hands it to TransformerEngine (or
// Gemma 2's get_swa), where a query attends to the keys from left back
// through itself, inclusive: left + 1 tokens. Hugging Face's window of w
// attends to w tokens through itself (kv_idx > q_idx - w). So the window
// is left + 1. NeMo's own exporters write left, which drops one token
// from what the model attended to in training.
func slidingWindow(s *Source) (int, error) {
	v, _ := s.Config.Value("window_size")
	var items []any
	switch v := v.(type) {
	case nil:
		return 0, fmt.Errorf("has a sliding window (window_size), and this source has none")
	case *fiddle.List:
		items = v.Items
	case *fiddle.Tuple:
		items = v.Items
	}
	if len(items) == 2 {
		left, lok := number(items[0])
		right, rok := number(items[1])
		if lok && rok && right == 0 && left > 0 && left == float64(int(left)) {
			return int(left) + 1, nil
		}
	}
	return 0, fmt.Errorf("window_size %v is not (left, 0) with left > 0", describe(v))
}

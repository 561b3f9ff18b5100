package models

import (
	"fmt"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
)

// Precision is how a NeMo 2 model holds and computes: the dtype its
// parameters are built in (and the checkpoint stores), and the mixed
// precision plugin's precision string ("bf16-mixed", "16-mixed" or "32",
// the values nemo.lightning.pytorch.plugins.MegatronMixedPrecision takes).
type Precision struct {
	ParamsDType string // torch's name: "bfloat16", "float16", "float32"
	Plugin      string
}

// PluginPrecision returns the NeMo 2 plugin precision for a NeMo 1
// trainer.precision value as NeMo 1 wrote it into model_config.yaml (16,
// 32, "bf16", "16-mixed", "bf16-mixed", and Lightning's "-true" forms).
func PluginPrecision(v any) (string, error) {
	switch v {
	case 16, int64(16), "16", "16-mixed", "fp16", "16-true":
		return "16-mixed", nil
	case "bf16", "bf16-mixed", "bf16-true":
		return "bf16-mixed", nil
	case 32, int64(32), "32", "32-true", "fp32":
		return "32", nil
	}
	return "", fmt.Errorf("precision is %v; NeMo 1 writes 16, 32, bf16, 16-mixed or bf16-mixed", v)
}

// PluginFor returns the plugin precision that computes in dtype.
func PluginFor(dtype string) string {
	switch dtype {
	case "float16":
		return "16-mixed"
	case "float32":
		return "32"
	}
	return "bf16-mixed"
}

// TorchDType is the fiddle reference to torch.<dtype>.
func TorchDType(dtype string) fiddle.Ref {
	return fiddle.Ref{Module: "torch", Name: dtype, Kind: fiddle.Constant}
}

// ValidParamsDType reports whether NeMo 2 builds parameters in dtype.
func ValidParamsDType(dtype string) bool {
	return dtype == "bfloat16" || dtype == "float16" || dtype == "float32"
}

// SetPrecision records p on a model config the way MegatronMixedPrecision
// configures it (convert_config): params_dtype, and fp16 or bf16 for the
// plugin's precision. NeMo's converter always sets bf16 and bfloat16
// parameters, casting fp16 and fp32 checkpoints on load; here the config
// tells the truth about what the checkpoint stores.
func SetPrecision(c *Config, p Precision) error {
	if !ValidParamsDType(p.ParamsDType) {
		return fmt.Errorf("parameters in %s: NeMo 2 builds models in bfloat16, float16 or float32", p.ParamsDType)
	}
	if err := c.Set("params_dtype", TorchDType(p.ParamsDType)); err != nil {
		return err
	}
	if err := c.Set("bf16", p.Plugin == "bf16-mixed"); err != nil {
		return err
	}
	// fp16 is recorded only where it is not already what it should be,
	// so a bf16 context carries exactly NeMo's converter's arguments.
	fp16 := p.Plugin == "16-mixed"
	if v, _ := c.Value("fp16"); v != fp16 {
		if err := c.Set("fp16", fp16); err != nil {
			return err
		}
	}
	return nil
}

package convert

import (
	"errors"
	"fmt"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo2"
)

// contextModel returns the model and config of the NeMo 2.0 checkpoint in
// dir, for --model_id <dir>: NeMo's converter runs
// io.load_context(dir, subpath="model") and then forces config.bf16=True
// and config.params_dtype=torch.bfloat16 (convert_nemo1_to_nemo2.py
// get_nemo2_model), and so does this.
func contextModel(dir string) (models.Model, *models.Config, error) {
	m, cfg, err := nemo2.ReadModel(dir)
	if errors.Is(err, nemo2.ErrNoContext) {
		return models.Model{}, nil, fmt.Errorf("%w; --model_id takes a NeMo 2.0 checkpoint directory (with context/io.json), a model id or \"auto\"", err)
	}
	if err != nil {
		return models.Model{}, nil, err
	}
	if err := cfg.Set("bf16", true); err != nil {
		return models.Model{}, nil, err
	}
	if err := cfg.Set("params_dtype", fiddle.Ref{Module: "torch", Name: "bfloat16", Kind: fiddle.Constant}); err != nil {
		return models.Model{}, nil, err
	}
	return m, cfg, nil
}

package nemo2

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
	"github.com/nemo-migrate/nemo-migrate/internal/models"
)

// Context is what a NeMo 2.0 checkpoint's context/ directory describes:
// the model (its class, config and tokenizer) inside the TrainerContext
// NeMo's converter dumps.
type Context struct {
	// Model is the model class, e.g. LlamaModel (models.Model.Class).
	Model *models.Class
	// Config is the model config with the arguments given to it
	// explicitly (for the converter: bf16, params_dtype, fp8 settings,
	// vocab_size when recorded, and for "auto" the architecture).
	Config *models.Config
	// Tokenizer is the tokenizer with its explicit arguments, its
	// artifact path relative to context/ (see TokenizerConfig).
	Tokenizer *models.Config
	// Precision is the trainer's mixed-precision plugin; the zero value
	// is NeMo's converter's bf16_mixed().
	Precision models.Precision
}

// File names inside context/.
const (
	IOJSONName    = "io.json"
	ModelYAMLName = "model.yaml"
)

// Classes of the context NeMo's converter dumps
// (scripts/checkpoint_converters/convert_nemo1_to_nemo2.py):
// TrainerContext.from_trainer(Trainer(devices=1, accelerator="cpu",
// strategy=MegatronStrategy(ddp="pytorch", setup_optimizers=False,
// plugins=bf16_mixed()))). Defined in nemo/lightning/io/pl.py,
// nemo/lightning/pytorch/trainer.py,
// nemo/lightning/pytorch/strategies/megatron_strategy.py and
// nemo/lightning/pytorch/plugins/mixed_precision.py; bf16_mixed() is in
// nemo/collections/llm/recipes/precision/mixed_precision.py.
var (
	trainerContextRef = fiddle.Dotted("nemo.lightning.io.pl.TrainerContext")
	trainerRef        = fiddle.Dotted("nemo.lightning.pytorch.trainer.Trainer")
	strategyRef       = fiddle.Dotted("nemo.lightning.pytorch.strategies.megatron_strategy.MegatronStrategy")
	precisionRef      = fiddle.Dotted("nemo.lightning.pytorch.plugins.mixed_precision.MegatronMixedPrecision")
)

// modelConfig returns the model instance: Model(config, tokenizer=...).
func (c *Context) modelConfig() (*models.Config, error) {
	if c.Model == nil || c.Config == nil || c.Tokenizer == nil {
		return nil, errors.New("context: model class, config and tokenizer are all required")
	}
	m := models.NewConfig(c.Model)
	if err := m.Set("config", c.Config); err != nil {
		return nil, err
	}
	if err := m.Set("tokenizer", c.Tokenizer); err != nil {
		return nil, err
	}
	return m, nil
}

// TrainerContext returns the fdl.Config tree io.json serializes, as NeMo's
// IOMixin records it: TrainerContext(model=..., trainer=..., extra={}),
// each object with the arguments its constructor was given. The strategy's
// plugins argument lands in MegatronStrategy's **kwargs, which IOMixin
// records as an argument named "kwargs" holding a dict; the plugin (bf16_mixed()
// for a bf16 model) is a nemo_run Config.
func (c *Context) TrainerContext() (*fiddle.Config, error) {
	model, err := c.modelConfig()
	if err != nil {
		return nil, err
	}
	prec := c.Precision
	if prec.ParamsDType == "" {
		prec.ParamsDType = "bfloat16"
	}
	if prec.Plugin == "" {
		prec.Plugin = models.PluginFor(prec.ParamsDType)
	}
	dtype := models.TorchDType(prec.ParamsDType)
	plugins := &fiddle.Config{Type: fiddle.RunConfig, Fn: precisionRef, Args: []fiddle.Arg{
		{Name: "precision", Value: prec.Plugin},
		{Name: "params_dtype", Value: dtype},
		{Name: "pipeline_dtype", Value: dtype},
		{Name: "autocast_enabled", Value: false},
		{Name: "grad_reduce_in_fp32", Value: true},
	}}
	strategy := &fiddle.Config{Fn: strategyRef, Args: []fiddle.Arg{
		{Name: "ddp", Value: "pytorch"},
		{Name: "setup_optimizers", Value: false},
		{Name: "kwargs", Value: &fiddle.Dict{Entries: []fiddle.Entry{{Key: "plugins", Value: plugins}}}},
	}}
	trainer := &fiddle.Config{Fn: trainerRef, Args: []fiddle.Arg{
		{Name: "accelerator", Value: "cpu"},
		{Name: "strategy", Value: strategy},
		{Name: "devices", Value: 1},
	}}
	return &fiddle.Config{Fn: trainerContextRef, Args: []fiddle.Arg{
		{Name: "model", Value: model.Fiddle()},
		{Name: "trainer", Value: trainer},
		{Name: "extra", Value: &fiddle.Dict{}},
	}}, nil
}

// IOJSON returns context/io.json: the fiddle serialization of the
// TrainerContext, as IOMixin.io_dump writes it.
func (c *Context) IOJSON() ([]byte, error) {
	tc, err := c.TrainerContext()
	if err != nil {
		return nil, err
	}
	return fiddle.Marshal(tc)
}

// ModelYAML returns context/model.yaml: the model with every argument of
// every config in it, defaults included, each config with its _target_,
// as IOMixin._io_dump_yaml writes it (fiddle's ordered_arguments with
// include_defaults, nemo_run's YAML representers, yaml.safe_dump). NeMo's
// TensorRT-LLM and vLLM exporters read this file without fiddle.
func (c *Context) ModelYAML() ([]byte, error) {
	model, err := c.modelConfig()
	if err != nil {
		return nil, err
	}
	doc, err := yamlValue(model)
	if err != nil {
		return nil, err
	}
	return marshalYAML(doc.(map[string]any))
}

// yamlValue converts a config value to the form model.yaml gives it.
func yamlValue(v any) (any, error) {
	switch x := v.(type) {
	case *models.Config:
		m := map[string]any{"_target_": x.Class.Name()}
		for _, a := range x.All() {
			y, err := yamlValue(a.Value)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", x.Class.Name(), a.Name, err)
			}
			m[a.Name] = y
		}
		return m, nil
	case *fiddle.Config:
		m := map[string]any{"_target_": x.Fn.String()}
		if x.IsPartial() {
			m["_partial_"] = true
		}
		for _, a := range x.Args {
			y, err := yamlValue(a.Value)
			if err != nil {
				return nil, err
			}
			m[a.Name] = y
		}
		return m, nil
	case fiddle.Ref:
		// nemo_run's representers: a function or class is
		// {_target_, _call_: false}, a torch dtype {_target_: str(dtype),
		// _call_: false}; NeMo's fallback gives an enum member its class
		// with _call_: true.
		if x.Kind == fiddle.Enum {
			return map[string]any{"_target_": fiddle.Dotted(x.String()).Module, "_call_": true}, nil
		}
		return map[string]any{"_target_": x.String(), "_call_": false}, nil
	case *fiddle.List:
		return yamlItems(x.Items)
	case *fiddle.Tuple:
		// SafeRepresenter writes a tuple as a sequence.
		return yamlItems(x.Items)
	case *fiddle.Dict:
		m := map[string]any{}
		for _, en := range x.Entries {
			k, ok := en.Key.(string)
			if !ok {
				return nil, fmt.Errorf("dict key %v is not a string", en.Key)
			}
			y, err := yamlValue(en.Value)
			if err != nil {
				return nil, err
			}
			m[k] = y
		}
		return m, nil
	case nil, bool, int, int64, float64, string:
		return x, nil
	}
	return nil, fmt.Errorf("cannot write %T to model.yaml", v)
}

func yamlItems(items []any) (any, error) {
	out := make([]any, len(items))
	for i, it := range items {
		y, err := yamlValue(it)
		if err != nil {
			return nil, err
		}
		out[i] = y
	}
	return out, nil
}

// WriteContext writes io.json and model.yaml into dir (a checkpoint's
// context/ directory, created if needed). Each file is written to a
// temporary name, synced and renamed into place; an existing file is not
// overwritten. The tokenizer's files are written separately (its
// tokenizer.Info.WriteFiles), under the names the Tokenizer config gives.
func WriteContext(dir string, c *Context) error {
	ioJSON, err := c.IOJSON()
	if err != nil {
		return fmt.Errorf("context/%s: %w", IOJSONName, err)
	}
	modelYAML, err := c.ModelYAML()
	if err != nil {
		return fmt.Errorf("context/%s: %w", ModelYAMLName, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{IOJSONName, ioJSON}, {ModelYAMLName, modelYAML}} {
		if err := writeNew(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

// writeNew writes data to a new file name through a temporary file, with
// the mode every file of a checkpoint gets (0644 less the umask: others on
// a cluster read it).
func writeNew(name string, data []byte) error {
	if _, err := os.Lstat(name); err == nil {
		return fmt.Errorf("%s: %w", name, fs.ErrExist)
	}
	tmp := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+".tmp")
	defer os.Remove(tmp)
	if err := createSynced(tmp, writeData(data)); err != nil {
		return err
	}
	// Link rather than rename, so that a file created meanwhile is not
	// replaced; fall back to rename where hard links are not supported.
	if err := os.Link(tmp, name); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.Rename(tmp, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

package configmig

import (
	"math/big"

	"github.com/nemo-migrate/nemo-migrate/internal/omegaconf"
)

// Value is a Python value of the generated script: a [Lit], an [Expr], a
// [List] or a [*Call].
type Value interface{ isValue() }

// Lit is a Python literal made from a config value (None, True, 3, 1e-05,
// "text", [...], {...}).
type Lit struct{ N *omegaconf.Node }

// Expr is Python source for a value that is not a literal: torch.bfloat16,
// F.silu, a variable of the script.
type Expr struct {
	Code    string
	Imports []string // import statements the code needs
}

// List is a Python list of values that are not all literals.
type List []Value

// Call is a constructor call, Func(name=value, ...).
type Call struct {
	Func    string
	Imports []string // import statements Func needs
	Args    []*Arg
	// From lists the YAML keys that decided to make this call (a flag such
	// as exp_manager.create_wandb_logger) without being an argument of it.
	From []string
	// Note is a comment written above the call.
	Note string
}

// Arg is a keyword argument and where its value came from.
type Arg struct {
	Name  string
	Value Value
	// Key is the dotted path of the YAML value the argument comes from,
	// or "" for an argument nemo-migrate adds (strategy=strategy).
	Key  string
	Line int
	// YAML is the resolved YAML value at Key when the argument's value is
	// a translation of it (precision "bf16" -> "bf16-mixed").
	YAML *omegaconf.Node
	// Default is set when Key is not in the YAML and Value is the value
	// NeMo 1.0 used in its absence, written out because NeMo 2.0's
	// default differs.
	Default bool
	// Missing is set when the YAML holds ??? at Key, a value NeMo 1.0
	// required on the command line; Value is then None.
	Missing bool
	// Unresolved is set when the YAML value at Key is an interpolation
	// that could not be resolved.
	Unresolved *omegaconf.InterpolationError
	// Uses lists further YAML keys the value was computed from
	// (fp8="hybrid" uses model.fp8_hybrid).
	Uses []string
	Note string
}

func (Lit) isValue()   {}
func (Expr) isValue()  {}
func (List) isValue()  {}
func (*Call) isValue() {}

// arg returns the argument called name, or nil.
func (c *Call) arg(name string) *Arg {
	if c == nil {
		return nil
	}
	for _, a := range c.Args {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// add appends a, replacing an argument of the same name; nil is ignored.
func (c *Call) add(args ...*Arg) {
	for _, a := range args {
		if a == nil {
			continue
		}
		replaced := false
		for i, old := range c.Args {
			if old.Name == a.Name {
				c.Args[i] = a
				replaced = true
				break
			}
		}
		if !replaced {
			c.Args = append(c.Args, a)
		}
	}
}

func strLit(s string) Lit { return Lit{&omegaconf.Node{Kind: omegaconf.String, Str: s}} }
func boolLit(b bool) Lit  { return Lit{&omegaconf.Node{Kind: omegaconf.Bool, Bool: b}} }
func intLit(i int64) Lit  { return Lit{&omegaconf.Node{Kind: omegaconf.Int, Int: big.NewInt(i)}} }
func floatLit(f float64) Lit {
	return Lit{&omegaconf.Node{Kind: omegaconf.Float, Float: f}}
}
func noneLit() Lit { return Lit{&omegaconf.Node{Kind: omegaconf.Null}} }

func strList(ss []string) Lit {
	n := &omegaconf.Node{Kind: omegaconf.List}
	for _, s := range ss {
		n.Items = append(n.Items, &omegaconf.Node{Kind: omegaconf.String, Str: s})
	}
	return Lit{n}
}

func expr(code string, imports ...string) Expr { return Expr{Code: code, Imports: imports} }

// Import statements of the generated script.
const (
	impNL          = "from nemo import lightning as nl"
	impLLM         = "from nemo.collections import llm"
	impTorch       = "import torch"
	impF           = "import torch.nn.functional as F"
	impOS          = "import os"
	impOptimConfig = "from megatron.core.optimizer import OptimizerConfig"
	impDDPConfig   = "from megatron.core.distributed import DistributedDataParallelConfig"
	impAttnBackend = "from megatron.core.transformer.enums import AttnBackend"
	impTokenizer   = "from nemo.collections.nlp.modules.common.tokenizer_utils import get_nmt_tokenizer"
	impCallbacks   = "from nemo.lightning.pytorch.callbacks import "
	impLoggers     = "from lightning.pytorch.loggers import "
	impPLCallbacks = "from lightning.pytorch.callbacks import "
	impLoadContext = "from nemo.lightning.io import load_context"
	impActivation  = "from nemo.collections.llm.fn.activation import "
	impCommOverlap = "from nemo.lightning.pytorch.callbacks.megatron_comm_overlap import MegatronCommOverlapCallback"
)

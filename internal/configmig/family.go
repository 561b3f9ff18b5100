package configmig

import (
	"fmt"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/omegaconf"
)

// The NeMo 2.0 family the script builds is the one convert --model_id auto
// builds for the same model_config.yaml: models.Auto decides it from the
// architecture, with NeMo 1.0's defaults for absent keys, and refuses what
// NeMo 2.0's classes would compute differently. The script then writes
// the YAML's keys as arguments of that class (each with its YAML key), and
// the fields Auto had to set because NeMo 1.0's default differs from the
// class's as "NeMo 1.0 default" arguments.

// gptModule is where NeMo 2.0 defines GPTModel and GPTConfig.
const gptModule = "nemo.collections.llm.gpt.model.base."

// gptClasses returns NeMo 2.0's GPTModel and GPTConfig from the registry.
func gptClasses() (model, config *models.Class) {
	return models.ModelClasses()[gptModule+"GPTModel"], models.ConfigClasses()[gptModule+"GPTConfig"]
}

// pyClass returns the name the script calls class by and the import that
// brings it: the module that defines it, which holds for the classes
// nemo.collections.llm does not re-export (Llama31Config).
func pyClass(c *models.Class) (name, imp string) {
	return c.Ref.Name, "from " + c.Ref.Module + " import " + c.Ref.Name
}

// alwaysExplicit are the fields Auto always sets: the sizes, which the
// script takes from the YAML's keys only.
var alwaysExplicit = map[string]bool{
	"num_layers": true, "hidden_size": true, "ffn_hidden_size": true, "num_attention_heads": true, "seq_length": true,
}

// chooseFamily returns the NeMo 2.0 model and the config models.Auto
// builds for the YAML's architecture, and what Auto read. standIns reports that sizes the
// YAML leaves out or open were given stand-ins: they do not decide the
// family, but Auto needs valid ones.
func (g *mig) chooseFamily() (m models.Model, cfg *models.Config, y map[string]any, standIns bool, err error) {
	y, standIns = g.archYAML()
	if g.isMamba() {
		y["target"] = models.MambaTarget
	}
	m, cfg, err = models.Auto(y)
	if err != nil {
		return models.Model{}, nil, nil, false, g.archRefusal(err)
	}
	return m, cfg, y, standIns, nil
}

// archYAML returns the model section as models.Auto reads a
// model_config.yaml: resolved, without the values nemo-migrate cannot know
// (??? and unresolved interpolations), with stand-ins for missing sizes.
func (g *mig) archYAML() (map[string]any, bool) {
	y := map[string]any{}
	for _, e := range g.section("").Entries {
		p := g.mk(e.Key)
		// mcore_gpt: false makes Auto refuse a checkpoint laid out for the
		// legacy model; a training config trains anew, and the script
		// warns about it instead.
		if e.KeyKind != omegaconf.String || e.Key == "mcore_gpt" || !g.usable(p) {
			continue
		}
		y[e.Key] = e.Value.Plain()
	}
	standIns := false
	stand := func(key string, v any) {
		if _, ok := y[key]; !ok {
			y[key] = v
			standIns = true
		}
	}
	stand("num_layers", int64(1))
	if _, ok := y["max_position_embeddings"]; !ok {
		stand("encoder_seq_length", int64(1))
	}
	heads := any(int64(1))
	if v, ok := y["num_query_groups"]; ok {
		heads = v
	}
	stand("num_attention_heads", heads)
	stand("hidden_size", y["num_attention_heads"])
	return y, standIns
}

// archHints name the families behind architectures models.Auto refuses,
// by the key that shows them, and what NeMo 2.0 has for them.
var archHints = []struct {
	key, family, nemo2 string
	match              func(*omegaconf.Node) bool
}{
	// Gemma 2 scales its embeddings as Gemma does; its soft-capping tells
	// it apart.
	{"mcore_customization_config", "Gemma 2", "NeMo 2.0 trains Gemma 2 with llm.Gemma2Model (llm.Gemma2Config2B, Gemma2Config9B, Gemma2Config27B)",
		func(n *omegaconf.Node) bool {
			return n.Get("attn_logit_softcapping") != nil || n.Get("query_pre_attn_scalar") != nil
		}},
	{"apply_embedding_scaling", "Gemma", "NeMo 2.0 trains Gemma with llm.GemmaModel (llm.GemmaConfig2B, GemmaConfig7B)", truthyRaw},
}

// archRefusal is the error for an architecture models.Auto refuses: one
// NeMo 2.0's classes would compute differently, or one that is invalid.
func (g *mig) archRefusal(err error) error {
	e := &RefusedError{File: g.m.Source, Reason: NotMigrated, Detected: "architecture",
		What: "a NeMo 1.0 model whose architecture has no NeMo 2.0 config class nemo-migrate maps it to",
		Why:  "convert --model_id auto refuses it for the same reason: " + strings.TrimPrefix(err.Error(), "model_config.yaml: "),
		Do:   "Write the NeMo 2.0 model config for it by hand."}
	e.Line, e.Column = g.raw.Line, g.raw.Column
	if g.model != "" {
		e.Evidence = g.model
		if ent := g.raw.GetEntry(g.model); ent != nil {
			e.Line, e.Column = ent.Line, ent.Column
		}
	}
	for _, h := range archHints {
		p := g.mk(h.key)
		if n := g.raw.Lookup(p); n != nil && h.match(n) {
			e.Detected, e.Evidence = h.family, p
			e.What = "a NeMo 1.0 " + h.family + " config"
			e.Do = h.nemo2 + "."
			if ent := entryAt(g.raw, p); ent != nil {
				e.Line, e.Column = ent.Line, ent.Column
			}
			break
		}
	}
	return e
}

// nemo1Keys names, for config fields whose NeMo 1.0 key has another name,
// that key.
var nemo1Keys = func() map[string]string {
	m := map[string]string{"activation_func": "activation", "gated_linear_unit": "activation", "mamba_num_groups": "mamba_ssm_ngroups"}
	for _, k := range archKeys {
		if k.arg != "" {
			m[k.arg] = k.key
		}
	}
	return m
}()

// autoDefaults adds to cfg the fields models.Auto set in auto that no YAML
// key gave: NeMo 1.0's default for an absent key, where the class's
// default differs (LlamaConfig's dropout is 0.0, NeMo 1.0's 0.1). It
// returns how many it added.
func (g *mig) autoDefaults(cfg *Call, auto *models.Config) int {
	n := 0
	for _, a := range auto.Args {
		key := a.Name
		if k, ok := nemo1Keys[a.Name]; ok {
			key = k
		}
		if alwaysExplicit[a.Name] || cfg.arg(a.Name) != nil || g.has(g.mk(key)) {
			continue
		}
		v, ok := goValue(a.Value)
		if !ok {
			continue
		}
		cfg.add(g.dflt(a.Name, g.mk(key), v, auto.Class.Ref.Name+"'s default differs"))
		n++
	}
	return n
}

// goValue is the Python value of a config value of package models.
func goValue(v any) (Value, bool) {
	switch x := v.(type) {
	case nil:
		return noneLit(), true
	case bool:
		return boolLit(x), true
	case int:
		return intLit(int64(x)), true
	case int64:
		return intLit(x), true
	case float64:
		return floatLit(x), true
	case string:
		return strLit(x), true
	case *fiddle.List:
		l := &omegaconf.Node{Kind: omegaconf.List}
		for _, it := range x.Items {
			iv, ok := goValue(it)
			lit, isLit := iv.(Lit)
			if !ok || !isLit {
				return nil, false
			}
			l.Items = append(l.Items, lit.N)
		}
		return Lit{l}, true
	case fiddle.Ref:
		switch x.Module {
		case "torch.nn.functional", "torch._C._nn":
			return expr("F."+x.Name, impF), true
		}
		return expr(x.Name, "from "+x.Module+" import "+x.Name), true
	}
	return nil, false
}

// presetNote names the config class of one of NeMo's model ids that
// describes the same network as the YAML y (models.CrossCheck finds no
// difference), which the user may prefer to the explicit fields.
func presetNote(m models.Model, y map[string]any) string {
	for _, id := range models.Models() {
		if id.Class.Name() != m.Class.Name() {
			continue
		}
		if _, err := models.CrossCheck(models.NewConfig(id.Config), id.ID, y); err == nil {
			return fmt.Sprintf("The architecture is that of %s(); that class also brings its own defaults for the settings not written here.", id.Config.Ref.Name)
		}
	}
	return ""
}

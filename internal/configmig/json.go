package configmig

import (
	"bytes"
	"encoding/json"
	"math"

	"github.com/nemo-migrate/nemo-migrate/internal/omegaconf"
	"github.com/nemo-migrate/nemo-migrate/internal/pyrepr"
)

// MarshalJSON gives the migration as data, with a stable key order:
//
//	{"source", "recipe", "strategy", "trainer", "precision", "optim",
//	 "logger", "resume", "data", "tokenizer", "peft", "model", "callbacks",
//	 "warnings", "unresolved", "unmapped"}
//
// A call is {"class": "nl.MegatronStrategy", "from"?, "note"?, "args": {...}},
// where from lists the YAML keys that decided to make it; an argument is a
// call, or {"value", "expr"?, "key"?, "line"?, "yaml"?, "default"?,
// "missing"?, "unresolved"?, "uses"?, "note"?} where value is the Python
// value (the source code when expr is true), key the YAML key it came from
// and yaml the YAML value when value translates it. A model loaded from a
// fine-tuning checkpoint also has "config_overrides": {name: argument}. Floats that JSON cannot
// hold are {"float": "inf"}.
func (m *Migration) MarshalJSON() ([]byte, error) {
	o := object{{"source", m.Source}, {"recipe", m.Recipe}}
	for _, s := range m.Sections() {
		switch {
		case s.Call == nil:
			o = append(o, field{s.Name, nil})
		case s.Name == "model" && len(m.ModelConfigOverrides) > 0:
			over := object{}
			for _, a := range m.ModelConfigOverrides {
				over = append(over, field{a.Name, argJSON(a)})
			}
			o = append(o, field{s.Name, append(callJSON(s.Call), field{"config_overrides", over})})
		default:
			o = append(o, field{s.Name, callJSON(s.Call)})
		}
	}
	cbs := []any{}
	for _, c := range m.Callbacks {
		cbs = append(cbs, callJSON(c))
	}
	o = append(o, field{"callbacks", cbs})
	ws := []any{}
	for _, w := range m.sortedWarnings() {
		ws = append(ws, object{{"key", w.Key}, {"line", w.Line}, {"message", w.Message}})
	}
	o = append(o, field{"warnings", ws})
	us := []any{}
	for _, u := range m.Unresolved {
		us = append(us, object{{"key", u.Path}, {"line", u.Line}, {"column", u.Column}, {"expr", u.Expr}, {"reason", u.Reason}})
	}
	o = append(o, field{"unresolved", us})
	um := []any{}
	for _, u := range m.Unmapped {
		um = append(um, object{{"key", u.Key}, {"line", u.Line}, {"reason", u.Reason}})
	}
	o = append(o, field{"unmapped", um})
	return o.MarshalJSON()
}

// JSON returns the indented JSON form of the migration.
func (m *Migration) JSON() ([]byte, error) {
	raw, err := m.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func callJSON(c *Call) object {
	o := object{{"class", c.Func}}
	if len(c.From) > 0 {
		o = append(o, field{"from", c.From})
	}
	if c.Note != "" {
		o = append(o, field{"note", c.Note})
	}
	args := object{}
	for _, a := range c.Args {
		args = append(args, field{a.Name, argJSON(a)})
	}
	return append(o, field{"args", args})
}

func argJSON(a *Arg) any {
	if c, ok := a.Value.(*Call); ok {
		return callJSON(c)
	}
	o := object{}
	if e, ok := a.Value.(Expr); ok {
		o = append(o, field{"value", e.Code}, field{"expr", true})
	} else {
		o = append(o, field{"value", valueJSON(a.Value)})
	}
	if a.Key != "" {
		o = append(o, field{"key", a.Key})
		if a.Line > 0 {
			o = append(o, field{"line", a.Line})
		}
	}
	if a.YAML != nil {
		o = append(o, field{"yaml", litJSON(a.YAML)})
	}
	if a.Default {
		o = append(o, field{"default", true})
	}
	if a.Missing {
		o = append(o, field{"missing", true})
	}
	if a.Unresolved != nil {
		o = append(o, field{"unresolved", a.Unresolved.Expr})
	}
	if len(a.Uses) > 0 {
		o = append(o, field{"uses", a.Uses})
	}
	if a.Note != "" {
		o = append(o, field{"note", a.Note})
	}
	return o
}

func valueJSON(v Value) any {
	switch v := v.(type) {
	case Lit:
		return litJSON(v.N)
	case Expr:
		return object{{"expr", v.Code}}
	case List:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = valueJSON(x)
		}
		return out
	case *Call:
		return callJSON(v)
	}
	return nil
}

func litJSON(n *omegaconf.Node) any {
	switch n.Kind {
	case omegaconf.Bool:
		return n.Bool
	case omegaconf.Int:
		return json.Number(n.Int.String())
	case omegaconf.Float:
		if math.IsInf(n.Float, 0) || math.IsNaN(n.Float) {
			return object{{"float", pyrepr.Float(n.Float)}}
		}
		return json.Number(pyrepr.Float(n.Float))
	case omegaconf.String:
		return n.Str
	case omegaconf.List:
		out := make([]any, len(n.Items))
		for i, it := range n.Items {
			out[i] = litJSON(it)
		}
		return out
	case omegaconf.Map:
		o := object{}
		for _, e := range n.Entries {
			o = append(o, field{e.Key, litJSON(e.Value)})
		}
		return o
	}
	return nil
}

// object is a JSON object that keeps its key order.
type object []field

type field struct {
	k string
	v any
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := encode(&b, f.k); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := encode(&b, f.v); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func encode(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

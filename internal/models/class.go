package models

import (
	"fmt"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
)

// Param is one constructor argument of a NeMo 2 class: a dataclass field
// of a config class, or an __init__ parameter of a model class.
type Param struct {
	Name string
	// Default is the value used when the argument is not given, in the
	// value forms of package fiddle (nil, bool, int, float64, string,
	// fiddle.Ref, *fiddle.List, ...). A default_factory field holds what
	// the factory returns.
	Default any
	// Required marks a parameter without a default.
	Required bool
}

// Class is a NeMo 2 class as its constructor sees it: the import path and
// every parameter in signature order (for a dataclass: base fields first,
// in declaration order, a redeclared field keeping its place).
type Class struct {
	Ref    fiddle.Ref
	Params []Param
}

// Name returns the class's dotted import path.
func (c *Class) Name() string { return c.Ref.String() }

// Param returns the parameter name and whether the class has it.
func (c *Class) Param(name string) (Param, bool) {
	if i := c.index(name); i >= 0 {
		return c.Params[i], true
	}
	return Param{}, false
}

func (c *Class) index(name string) int {
	for i, p := range c.Params {
		if p.Name == name {
			return i
		}
	}
	return -1
}

// subclass returns a dataclass subclass of c at path that redeclares or
// adds the given fields, as Python's dataclasses do: a redeclared field
// keeps its position and takes the new default; a new one is appended.
func (c *Class) subclass(path string, fields ...fiddle.Arg) *Class {
	s := &Class{Ref: fiddle.Dotted(path), Params: append([]Param(nil), c.Params...)}
	for _, f := range fields {
		p := Param{Name: f.Name, Default: f.Value}
		if i := s.index(f.Name); i >= 0 {
			s.Params[i] = p
		} else {
			s.Params = append(s.Params, p)
		}
	}
	return s
}

// Config is an instance of a class as NeMo's IOMixin records it: the class
// and the arguments given explicitly. io.json lists only those; model.yaml
// lists every parameter, defaults included.
type Config struct {
	Class *Class
	// Args are the explicit arguments, kept in signature order.
	Args []fiddle.Arg
}

// NewConfig returns a config of class c with no explicit arguments.
func NewConfig(c *Class) *Config { return &Config{Class: c} }

// Set sets argument name explicitly. It fails if the class has no such
// parameter.
func (c *Config) Set(name string, v any) error {
	i := c.Class.index(name)
	if i < 0 {
		return fmt.Errorf("%s has no field %q", c.Class.Name(), name)
	}
	for j, a := range c.Args {
		if a.Name == name {
			c.Args[j].Value = v
			return nil
		}
	}
	// Insert in signature order.
	at := len(c.Args)
	for j, a := range c.Args {
		if c.Class.index(a.Name) > i {
			at = j
			break
		}
	}
	c.Args = append(c.Args, fiddle.Arg{})
	copy(c.Args[at+1:], c.Args[at:])
	c.Args[at] = fiddle.Arg{Name: name, Value: v}
	return nil
}

// Value returns the effective value of name: the explicit argument, else
// the class default. ok is false for an unknown name or a required
// parameter that is not set.
func (c *Config) Value(name string) (v any, ok bool) {
	for _, a := range c.Args {
		if a.Name == name {
			return a.Value, true
		}
	}
	p, ok := c.Class.Param(name)
	if !ok || p.Required {
		return nil, false
	}
	return p.Default, true
}

// IsSet reports whether name was given explicitly.
func (c *Config) IsSet(name string) bool {
	for _, a := range c.Args {
		if a.Name == name {
			return true
		}
	}
	return false
}

// All returns every parameter with its effective value, in signature
// order, leaving out required parameters that are not set: what NeMo's
// model.yaml writer (fiddle's ordered_arguments with include_defaults)
// lists.
func (c *Config) All() []fiddle.Arg {
	out := make([]fiddle.Arg, 0, len(c.Class.Params))
	for _, p := range c.Class.Params {
		if v, ok := c.Value(p.Name); ok {
			out = append(out, fiddle.Arg{Name: p.Name, Value: v})
		}
	}
	return out
}

// Fiddle returns the fdl.Config NeMo records for the instance: the class
// and its explicit arguments. Argument values that are themselves
// *Config become nested fdl.Configs.
func (c *Config) Fiddle() *fiddle.Config {
	args := make([]fiddle.Arg, len(c.Args))
	for i, a := range c.Args {
		v := a.Value
		if sub, ok := v.(*Config); ok {
			v = sub.Fiddle()
		}
		args[i] = fiddle.Arg{Name: a.Name, Value: v}
	}
	return &fiddle.Config{Fn: c.Class.Ref, Args: args}
}

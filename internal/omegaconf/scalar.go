package omegaconf

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// The implicit resolvers of PyYAML's SafeLoader (YAML 1.1) with OmegaConf
// 2.2's changes: its float pattern also matches 1e-4 (no dot) and the
// timestamp resolver is removed, so dates stay strings.
var (
	reBool  = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	reNull  = regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)
	reInt   = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	reFloat = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
)

// maxIntDigits bounds the integers we build: a YAML literal is bounded by
// the file, but resolvers can multiply.
const maxIntBits = 1 << 16

// resolvePlain gives the value of a plain (unquoted, untagged) scalar, as
// PyYAML's resolver would type it and its constructor would build it.
func resolvePlain(s string, n *Node) error {
	switch {
	case reBool.MatchString(s):
		n.Kind, n.Bool = Bool, constructBool(s)
	case reFloat.MatchString(s):
		return constructFloat(s, n)
	case reInt.MatchString(s):
		return constructInt(s, n)
	case s == "<<":
		return errors.New("a merge key (<<) is only allowed as a mapping key")
	case s == "=":
		// PyYAML resolves a lone "=" to tag:yaml.org,2002:value, which the
		// SafeLoader cannot construct.
		return errors.New(`the YAML 1.1 value key "=" cannot be loaded (quote it to make it a string)`)
	case reNull.MatchString(s):
		n.Kind = Null
	default:
		setString(n, s)
	}
	return nil
}

// setString makes n a String, or Missing for OmegaConf's "???".
func setString(n *Node, s string) {
	if s == "???" {
		n.Kind, n.Str = Missing, s
		return
	}
	n.Kind, n.Str = String, s
}

func constructBool(s string) bool {
	switch strings.ToLower(s) {
	case "yes", "true", "on":
		return true
	}
	return false
}

// constructInt follows PyYAML's construct_yaml_int: underscores dropped,
// 0b binary, 0x hex, a leading 0 octal, a:b:c base 60.
func constructInt(s string, n *Node) error {
	v := strings.ReplaceAll(s, "_", "")
	neg := false
	if v != "" && (v[0] == '-' || v[0] == '+') {
		neg = v[0] == '-'
		v = v[1:]
	}
	z := new(big.Int)
	var ok bool
	switch {
	case v == "0":
		ok = true
	case strings.HasPrefix(v, "0b"):
		_, ok = z.SetString(v[2:], 2)
	case strings.HasPrefix(v, "0x"):
		_, ok = z.SetString(v[2:], 16)
	case strings.HasPrefix(v, "0"):
		_, ok = z.SetString(v, 8)
	case strings.Contains(v, ":"):
		ok = true
		base := newInt(1)
		sixty := newInt(60)
		parts := strings.Split(v, ":")
		for i := len(parts) - 1; i >= 0; i-- {
			d, dok := new(big.Int).SetString(parts[i], 10)
			if !dok {
				ok = false
				break
			}
			z.Add(z, d.Mul(d, base))
			base.Mul(base, sixty)
		}
	default:
		_, ok = z.SetString(v, 10)
	}
	if !ok {
		return fmt.Errorf("invalid integer %q", s)
	}
	if neg {
		z.Neg(z)
	}
	n.Kind, n.Int = Int, z
	return nil
}

// constructFloat follows PyYAML's construct_yaml_float.
func constructFloat(s string, n *Node) error {
	v := strings.ToLower(strings.ReplaceAll(s, "_", ""))
	sign := 1.0
	if v != "" && (v[0] == '-' || v[0] == '+') {
		if v[0] == '-' {
			sign = -1
		}
		v = v[1:]
	}
	var f float64
	switch {
	case v == ".inf":
		f = math.Inf(1)
	case v == ".nan":
		n.Kind, n.Float = Float, math.NaN()
		return nil
	case strings.Contains(v, ":"):
		base := 1.0
		parts := strings.Split(v, ":")
		for i := len(parts) - 1; i >= 0; i-- {
			d, err := parsePyFloat(parts[i])
			if err != nil {
				return fmt.Errorf("invalid float %q", s)
			}
			f += d * base
			base *= 60
		}
	default:
		var err error
		if f, err = parsePyFloat(v); err != nil {
			return fmt.Errorf("invalid float %q", s)
		}
	}
	n.Kind, n.Float = Float, sign*f
	return nil
}

// parsePyFloat parses a decimal float as Python's float() does for the
// forms YAML lets through: overflow gives inf, not an error.
func parsePyFloat(s string) (float64, error) {
	if s == "" || strings.ContainsAny(s, "xXpP_") {
		return 0, errors.New("invalid float")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return f, nil
		}
		return 0, err
	}
	return f, nil
}

// constructTagged builds a scalar written with an explicit standard tag
// (!!str 1, !!int "0x10") as PyYAML's SafeConstructor would.
func constructTagged(tag, s string, n *Node) error {
	switch tag {
	case "!!str", "tag:yaml.org,2002:str":
		setString(n, s)
	case "!!int", "tag:yaml.org,2002:int":
		return constructInt(s, n)
	case "!!float", "tag:yaml.org,2002:float":
		return constructFloat(s, n)
	case "!!bool", "tag:yaml.org,2002:bool":
		switch strings.ToLower(s) {
		case "yes", "true", "on", "no", "false", "off":
			n.Kind, n.Bool = Bool, constructBool(s)
		default:
			return fmt.Errorf("%q is not a YAML 1.1 boolean", s)
		}
	case "!!null", "tag:yaml.org,2002:null":
		n.Kind = Null
	default:
		return fmt.Errorf("the YAML tag %s is not supported by NeMo's loader (PyYAML SafeLoader with OmegaConf)", tag)
	}
	return nil
}

package omegaconf

import (
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/pyrepr"
)

// pyStr is Python's str() of a value, which is what OmegaConf puts in a
// string when an interpolation sits inside text ("run_${seed}"). A
// container shows its values as written, interpolations unresolved, as
// str(DictConfig) does.
func pyStr(n *Node) string {
	switch n.Kind {
	case String, Missing:
		return n.Str
	case Null:
		return "None"
	case Bool:
		if n.Bool {
			return "True"
		}
		return "False"
	case Int:
		return n.Int.String()
	case Float:
		return pyrepr.Float(n.Float)
	}
	var b strings.Builder
	writeRepr(&b, n, 0, true)
	return b.String()
}

// PyRepr is Python's repr() of a value: repr(OmegaConf.to_container(n,
// resolve=True)) for a resolved tree.
func PyRepr(n *Node) string {
	var b strings.Builder
	writeRepr(&b, n, 0, false)
	return b.String()
}

// writeRepr writes repr(n). With raw set, values inside containers that
// came from interpolations show the interpolation, as str(DictConfig)
// does.
func writeRepr(b *strings.Builder, n *Node, depth int, raw bool) {
	if b.Len() > maxStringLen {
		return
	}
	if raw && n.Expr != "" && depth > 0 {
		// Containers show interpolations as written.
		b.WriteString(pyrepr.Str(n.Expr))
		return
	}
	switch n.Kind {
	case Null:
		b.WriteString("None")
	case Bool:
		if n.Bool {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case Int:
		b.WriteString(n.Int.String())
	case Float:
		b.WriteString(pyrepr.Float(n.Float))
	case String, Missing:
		b.WriteString(pyrepr.Str(n.Str))
	case List:
		if depth > maxDepth {
			b.WriteString("[...]")
			return
		}
		b.WriteByte('[')
		for i, it := range n.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, it, depth+1, raw)
		}
		b.WriteByte(']')
	case Map:
		if depth > maxDepth {
			b.WriteString("{...}")
			return
		}
		b.WriteByte('{')
		for i, e := range n.Entries {
			if i > 0 {
				b.WriteString(", ")
			}
			if e.KeyKind == String {
				b.WriteString(pyrepr.Str(e.Key))
			} else {
				b.WriteString(e.Key)
			}
			b.WriteString(": ")
			writeRepr(b, e.Value, depth+1, raw)
		}
		b.WriteByte('}')
	}
}

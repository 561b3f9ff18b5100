package omegaconf

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
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
		return FormatFloat(n.Float)
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
		b.WriteString(PyQuote(n.Expr))
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
		b.WriteString(FormatFloat(n.Float))
	case String, Missing:
		b.WriteString(PyQuote(n.Str))
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
				b.WriteString(PyQuote(e.Key))
			} else {
				b.WriteString(e.Key)
			}
			b.WriteString(": ")
			writeRepr(b, e.Value, depth+1, raw)
		}
		b.WriteByte('}')
	}
}

// PyQuote is Python's repr() of a str: single quotes unless the text holds
// a single quote and no double quote, backslash escapes for the quote,
// backslash and unprintable characters.
func PyQuote(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(q)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			// Not UTF-8: Python would hold a surrogate escape.
			fmt.Fprintf(&b, `\udc%02x`, s[i])
			i++
			continue
		}
		i += size
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x80 || unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

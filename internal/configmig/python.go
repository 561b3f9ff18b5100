package configmig

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/nemo-migrate/nemo-migrate/internal/omegaconf"
	"github.com/nemo-migrate/nemo-migrate/internal/pyrepr"
)

// WritePython writes the migration as a NeMo 2.0 training script: imports,
// a main() that builds each object, with a comment at every argument
// naming the YAML key it came from, and the call to llm.pretrain or
// llm.finetune. Warnings come first, as comments; unresolved
// interpolations and the keys without a counterpart come last.
func (m *Migration) WritePython(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := &pyWriter{w: bw, imports: map[string]bool{}}
	p.body(m)
	p.header(m)
	bw.WriteString(p.head.String())
	bw.WriteString(p.main.String())
	p.footer(m)
	return bw.Flush()
}

type pyWriter struct {
	w       *bufio.Writer
	head    strings.Builder
	main    strings.Builder
	imports map[string]bool
}

const indentUnit = "    "

func (p *pyWriter) header(m *Migration) {
	h := &p.head
	fmt.Fprintf(h, "%s\n", pyDocstring(fmt.Sprintf("NeMo 2.0 training script migrated by nemo-migrate from %s.\n\n"+
		"Each argument's comment names the NeMo 1.0 YAML key it comes from; \"NeMo 1.0 default\"\n"+
		"marks a value the YAML left out, written because NeMo 2.0's default differs.\n"+
		"Check the warnings below before running. YAML keys with no NeMo 2.0\n"+
		"counterpart are listed at the end of the file.", baseName(m.Source))))
	if ws := m.sortedWarnings(); len(ws) > 0 {
		h.WriteString("\n# Check before running:\n")
		for _, wn := range ws {
			writeCommentItem(h, where(wn.Line, wn.Key), wn.Message)
		}
	}
	var std, other []string
	for imp := range p.imports {
		if imp == impOS {
			std = append(std, imp)
		} else {
			other = append(other, imp)
		}
	}
	h.WriteString("\n")
	if len(std) > 0 {
		h.WriteString(strings.Join(std, "\n") + "\n\n")
	}
	h.WriteString(strings.Join(mergeImports(other), "\n") + "\n\n\n")
}

func where(line int, key string) string {
	if key == "" {
		key = "model_config"
	}
	if line > 0 {
		return fmt.Sprintf("line %d, %s", line, key)
	}
	return key
}

// writeCommentItem writes "# - head: text" wrapped at about 100 columns.
func writeCommentItem(b *strings.Builder, head, text string) {
	words := strings.Fields(oneLine(head + ": " + text))
	line := "# -"
	for _, wd := range words {
		if len(line)+1+len(wd) > 100 && len(line) > 4 {
			b.WriteString(line + "\n")
			line = "#  "
		}
		line += " " + wd
	}
	b.WriteString(line + "\n")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// mergeImports sorts import statements and joins "from M import a" lines
// of the same module.
func mergeImports(imps []string) []string {
	names := map[string][]string{}
	var plain []string
	for _, imp := range imps {
		if strings.HasPrefix(imp, "from ") {
			mod, name, _ := strings.Cut(strings.TrimPrefix(imp, "from "), " import ")
			if !contains(names[mod], name) {
				names[mod] = append(names[mod], name)
			}
			continue
		}
		plain = append(plain, imp)
	}
	out := plain
	for mod, ns := range names {
		sort.Strings(ns)
		out = append(out, "from "+mod+" import "+strings.Join(ns, ", "))
	}
	sort.Slice(out, func(i, j int) bool { return importKey(out[i]) < importKey(out[j]) })
	return out
}

func importKey(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "import "), "from ")
	return strings.Fields(s)[0]
}

func (p *pyWriter) body(m *Migration) {
	b := &p.main
	b.WriteString("def main():\n")
	assign := func(name string, c *Call) {
		if c == nil {
			return
		}
		if c.Note != "" {
			writeNote(b, indentUnit, c.Note)
		}
		b.WriteString(indentUnit + name + " = ")
		if trail := p.call(b, c, 1); trail != "" {
			b.WriteString("  # " + trail)
		}
		b.WriteString("\n")
	}
	assign("tokenizer", m.Tokenizer)
	assign("model", m.Model)
	if len(m.ModelConfigOverrides) > 0 {
		writeNote(b, indentUnit, "The fine-tuning YAML overrides these settings of the checkpoint's model config:")
		for _, a := range m.ModelConfigOverrides {
			b.WriteString(indentUnit + "model.config." + a.Name + " = " + p.inline(a.Value))
			if cm := argComment(a); cm != "" {
				b.WriteString("  # " + cm)
			}
			b.WriteString("\n")
		}
	}
	assign("data", m.Data)
	assign("strategy", m.Strategy)
	assign("precision", m.Precision)
	if len(m.Callbacks) > 0 {
		b.WriteString(indentUnit + "callbacks = ")
		p.list(b, callList(m.Callbacks), 1)
		b.WriteString("\n")
	}
	assign("trainer", m.Trainer)
	assign("optim", m.Optim)
	assign("logger", m.Logger)
	assign("resume", m.Resume)
	assign("peft", m.PEFT)
	p.imports[impLLM] = true
	b.WriteString(indentUnit + "llm." + m.Recipe + "(\n")
	args := [][2]string{{"model", "model"}, {"data", "data"}, {"trainer", "trainer"}, {"log", "logger"}, {"resume", "resume"}, {"optim", "optim"}}
	if m.PEFT != nil {
		args = append(args, [2]string{"peft", "peft"})
	}
	for _, a := range args {
		b.WriteString(indentUnit + indentUnit + a[0] + "=" + a[1] + ",\n")
	}
	b.WriteString(indentUnit + ")\n\n\nif __name__ == \"__main__\":\n" + indentUnit + "main()\n")
}

func join2(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}

func callList(cs []*Call) List {
	l := make(List, len(cs))
	for i, c := range cs {
		l[i] = c
	}
	return l
}

func writeNote(b *strings.Builder, indent, note string) {
	words := strings.Fields(note)
	line := indent + "#"
	for _, wd := range words {
		if len(line)+1+len(wd) > 100 && len(line) > len(indent)+2 {
			b.WriteString(line + "\n")
			line = indent + "#"
		}
		line += " " + wd
	}
	b.WriteString(line + "\n")
}

// call writes c at nesting depth (the opening line is already indented).
// For a call without arguments it returns the comment that belongs at the
// end of its line.
func (p *pyWriter) call(b *strings.Builder, c *Call, depth int) string {
	for _, imp := range c.Imports {
		p.imports[imp] = true
	}
	if len(c.Args) == 0 {
		b.WriteString(c.Func + "()")
		return strings.Join(c.From, ", ")
	}
	b.WriteString(c.Func + "(")
	if len(c.From) > 0 {
		b.WriteString("  # " + strings.Join(c.From, ", "))
	}
	b.WriteString("\n")
	in := strings.Repeat(indentUnit, depth+1)
	for _, a := range c.Args {
		if sub, ok := a.Value.(*Call); ok && sub.Note != "" {
			writeNote(b, in, sub.Note)
		}
		b.WriteString(in + a.Name + "=")
		cm := argComment(a)
		switch v := a.Value.(type) {
		case *Call:
			if trail := p.call(b, v, depth+1); trail != "" {
				cm = join2(trail, cm)
			}
			b.WriteString(",")
		case List:
			p.list(b, v, depth+1)
			b.WriteString(",")
		default:
			b.WriteString(p.inline(v) + ",")
		}
		if cm != "" {
			b.WriteString("  # " + cm)
		}
		b.WriteString("\n")
	}
	b.WriteString(strings.Repeat(indentUnit, depth) + ")")
	return ""
}

func (p *pyWriter) list(b *strings.Builder, l List, depth int) {
	if len(l) == 0 {
		b.WriteString("[]")
		return
	}
	b.WriteString("[\n")
	in := strings.Repeat(indentUnit, depth+1)
	for _, v := range l {
		if c, ok := v.(*Call); ok && c.Note != "" {
			writeNote(b, in, c.Note)
		}
		b.WriteString(in)
		trail := ""
		switch v := v.(type) {
		case *Call:
			trail = p.call(b, v, depth+1)
		case List:
			p.list(b, v, depth+1)
		default:
			b.WriteString(p.inline(v))
		}
		b.WriteString(",")
		if trail != "" {
			b.WriteString("  # " + trail)
		}
		b.WriteString("\n")
	}
	b.WriteString(strings.Repeat(indentUnit, depth) + "]")
}

func (p *pyWriter) inline(v Value) string {
	switch v := v.(type) {
	case Lit:
		return pyLiteral(v.N)
	case Expr:
		for _, imp := range v.Imports {
			p.imports[imp] = true
		}
		return v.Code
	}
	return "None"
}

// argComment says where an argument's value came from.
func argComment(a *Arg) string {
	var s string
	switch {
	case a.Key == "":
		s = a.Note
		return oneLine(s)
	case a.Default:
		s = "NeMo 1.0 default, " + a.Key + " not set"
	case a.Missing:
		s = "TODO: " + a.Key + " is ??? (a mandatory value) in the YAML; set it"
	case a.Unresolved != nil && a.Unresolved.EnvVar != nil && a.Unresolved.Path == a.Key:
		s = a.Key + ": " + a.Unresolved.Expr
	case a.Unresolved != nil:
		s = "TODO: " + a.Key + " is unresolved (" + a.Unresolved.Reason + ")"
	case a.YAML != nil:
		s = a.Key + ": " + shorten(omegaconf.PyRepr(a.YAML), 80)
	default:
		s = a.Key
	}
	if len(a.Uses) > 0 {
		s += " (with " + strings.Join(a.Uses, ", ") + ")"
	}
	if a.Note != "" {
		s += "; " + a.Note
	}
	return oneLine(s)
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// pyLiteral writes a config value as a Python literal.
func pyLiteral(n *omegaconf.Node) string {
	var b strings.Builder
	writeLiteral(&b, n)
	return b.String()
}

func writeLiteral(b *strings.Builder, n *omegaconf.Node) {
	switch n.Kind {
	case omegaconf.Null, omegaconf.Missing:
		b.WriteString("None")
	case omegaconf.Bool:
		if n.Bool {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case omegaconf.Int:
		b.WriteString(n.Int.String())
	case omegaconf.Float:
		switch {
		case math.IsInf(n.Float, 1):
			b.WriteString(`float("inf")`)
		case math.IsInf(n.Float, -1):
			b.WriteString(`float("-inf")`)
		case math.IsNaN(n.Float):
			b.WriteString(`float("nan")`)
		default:
			b.WriteString(pyrepr.Float(n.Float))
		}
	case omegaconf.String:
		b.WriteString(pyrepr.DoubleQuoted(n.Str))
	case omegaconf.List:
		b.WriteByte('[')
		for i, it := range n.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			writeLiteral(b, it)
		}
		b.WriteByte(']')
	case omegaconf.Map:
		b.WriteByte('{')
		for i, e := range n.Entries {
			if i > 0 {
				b.WriteString(", ")
			}
			switch {
			case e.KeyKind == omegaconf.String:
				b.WriteString(pyrepr.DoubleQuoted(e.Key))
			case e.KeyKind == omegaconf.Float && (e.Key == "inf" || e.Key == "-inf" || e.Key == "nan"):
				b.WriteString(`float("` + e.Key + `")`)
			default:
				b.WriteString(e.Key)
			}
			b.WriteString(": ")
			writeLiteral(b, e.Value)
		}
		b.WriteByte('}')
	}
}

// pyDocstring is a triple-quoted docstring for text without quotes
// issues.
func pyDocstring(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"""`, `\"\"\"`)
	return `"""` + s + "\n" + `"""`
}

func (p *pyWriter) footer(m *Migration) {
	var b strings.Builder
	if len(m.Unresolved) > 0 {
		b.WriteString("\n\n# Interpolations nemo-migrate could not resolve:\n")
		for _, u := range m.Unresolved {
			writeCommentItem(&b, where(u.Line, u.Path), u.Expr+": "+u.Reason)
		}
	}
	if len(m.Unmapped) > 0 {
		b.WriteString("\n\n# YAML keys with no NeMo 2.0 counterpart:\n")
		for _, u := range m.Unmapped {
			writeCommentItem(&b, where(u.Line, u.Key), u.Reason)
		}
	}
	p.w.WriteString(b.String())
}

package nemo2

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nemo-migrate/nemo-migrate/internal/pyrepr"
)

// This file writes YAML exactly as PyYAML's yaml.safe_dump does with its
// defaults (block style, keys sorted, indent 2, width 80, ASCII only), which
// is how NeMo writes context/model.yaml (nemo_run's YamlSerializer). A
// document is a tree of map[string]any, []any and scalars (nil, bool, int,
// int64, float64, string).

// yamlWidth is PyYAML's default best_width.
const yamlWidth = 80

// marshalYAML returns the YAML of a document whose root is a mapping.
func marshalYAML(root map[string]any) ([]byte, error) {
	e := &yamlEmitter{whitespace: true, indention: true, indent: -1}
	if err := e.node(root, false, false); err != nil {
		return nil, err
	}
	// Document end: PyYAML's write_indent ends the last line.
	e.indent = 0
	e.writeIndent()
	return e.b.Bytes(), nil
}

type yamlEmitter struct {
	b          bytes.Buffer
	column     int
	whitespace bool // the last character written was whitespace
	indention  bool // only indentation written on this line so far
	indent     int  // -1 is PyYAML's None
	indents    []int
	depth      int
}

func (e *yamlEmitter) write(s string) {
	e.b.WriteString(s)
	e.column += utf8.RuneCountInString(s)
}

func (e *yamlEmitter) increaseIndent(flow, indentless bool) {
	e.indents = append(e.indents, e.indent)
	if e.indent < 0 {
		if flow {
			e.indent = 2
		} else {
			e.indent = 0
		}
	} else if !indentless {
		e.indent += 2
	}
}

func (e *yamlEmitter) popIndent() {
	e.indent = e.indents[len(e.indents)-1]
	e.indents = e.indents[:len(e.indents)-1]
}

func (e *yamlEmitter) writeIndent() {
	indent := max(e.indent, 0)
	if !e.indention || e.column > indent || (e.column == indent && !e.whitespace) {
		e.writeLineBreak()
	}
	if e.column < indent {
		e.whitespace = true
		e.b.WriteString(strings.Repeat(" ", indent-e.column))
		e.column = indent
	}
}

func (e *yamlEmitter) writeLineBreak() {
	e.whitespace = true
	e.indention = true
	e.column = 0
	e.b.WriteByte('\n')
}

func (e *yamlEmitter) writeIndicator(ind string, needWhitespace, whitespace, indention bool) {
	if !e.whitespace && needWhitespace {
		ind = " " + ind
	}
	e.whitespace = whitespace
	e.indention = e.indention && indention
	e.write(ind)
}

// node emits one node; mapping is true for a mapping value, simpleKey for
// a mapping key (PyYAML's mapping_context and simple_key_context).
func (e *yamlEmitter) node(v any, mapping, simpleKey bool) error {
	e.depth++
	defer func() { e.depth-- }()
	if e.depth > 64 {
		return fmt.Errorf("yaml: nesting too deep")
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			e.writeIndicator("{", true, true, false)
			e.writeIndicator("}", false, false, false)
			return nil
		}
		e.increaseIndent(false, false)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e.writeIndent()
			if strings.ContainsAny(k, "\n\x85\u2028\u2029") || utf8.RuneCountInString(k) >= 128 {
				return fmt.Errorf("yaml: key %q is not a simple key", k)
			}
			if err := e.scalar(k, true, true); err != nil {
				return err
			}
			e.writeIndicator(":", false, false, false)
			if err := e.node(x[k], true, false); err != nil {
				return err
			}
		}
		e.popIndent()
	case []any:
		if len(x) == 0 {
			e.writeIndicator("[", true, true, false)
			e.writeIndicator("]", false, false, false)
			return nil
		}
		e.increaseIndent(false, mapping && !e.indention)
		for _, item := range x {
			e.writeIndent()
			e.writeIndicator("-", true, false, true)
			if err := e.node(item, false, false); err != nil {
				return err
			}
		}
		e.popIndent()
	default:
		s, isStr, err := yamlScalar(v)
		if err != nil {
			return err
		}
		e.increaseIndent(true, false)
		err = e.scalar(s, isStr, simpleKey)
		e.popIndent()
		return err
	}
	return nil
}

// yamlScalar returns the text SafeRepresenter gives a scalar, and whether
// it is a string (whose plain form must not read back as another type).
func yamlScalar(v any) (string, bool, error) {
	switch x := v.(type) {
	case nil:
		return "null", false, nil
	case bool:
		if x {
			return "true", false, nil
		}
		return "false", false, nil
	case int:
		return strconv.Itoa(x), false, nil
	case int64:
		return strconv.FormatInt(x, 10), false, nil
	case float64:
		switch {
		case math.IsNaN(x):
			return ".nan", false, nil
		case math.IsInf(x, 1):
			return ".inf", false, nil
		case math.IsInf(x, -1):
			return "-.inf", false, nil
		}
		s := strings.ToLower(pyrepr.Float(x))
		if !strings.Contains(s, ".") && strings.Contains(s, "e") {
			s = strings.Replace(s, "e", ".0e", 1)
		}
		return s, false, nil
	case string:
		if !utf8.ValidString(x) {
			return "", false, fmt.Errorf("yaml: string %q is not UTF-8", x)
		}
		return x, true, nil
	}
	return "", false, fmt.Errorf("yaml: cannot represent %T", v)
}

// PyYAML's implicit resolvers (yaml/resolver.py): a plain scalar matching
// one reads back as that type, so a string that matches must be quoted.
var yamlImplicit = []*regexp.Regexp{
	regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`),
	regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`),
	regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`),
	regexp.MustCompile(`^(?:<<)$`),
	regexp.MustCompile(`^(?:~|null|Null|NULL|)$`),
	regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`),
	regexp.MustCompile(`^(?:=)$`),
}

func resolvesImplicitly(s string) bool {
	for _, re := range yamlImplicit {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

type scalarAnalysis struct {
	empty, multiline                              bool
	allowBlockPlain, allowSingleQuoted, allowFlow bool
}

func isBreak(r rune) bool { return r == '\n' || r == '\x85' || r == '\u2028' || r == '\u2029' }

func isSpaceOrBreak(r rune) bool { return r == 0 || r == ' ' || r == '\t' || r == '\r' || isBreak(r) }

// analyzeScalar mirrors PyYAML's Emitter.analyze_scalar (allow_unicode off).
func analyzeScalar(s string) scalarAnalysis {
	if s == "" {
		return scalarAnalysis{empty: true, allowBlockPlain: true, allowSingleQuoted: true}
	}
	rs := []rune(s)
	var blockInd, flowInd, lineBreaks, special bool
	var leadingSpace, leadingBreak, trailingSpace, trailingBreak, breakSpace, spaceBreak bool
	if strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		blockInd, flowInd = true, true
	}
	preceded := true
	followed := len(rs) == 1 || isSpaceOrBreak(rs[1])
	prevSpace, prevBreak := false, false
	for i, ch := range rs {
		if i == 0 {
			if strings.ContainsRune("#,[]{}&*!|>'\"%@`", ch) {
				flowInd, blockInd = true, true
			}
			if ch == '?' || ch == ':' {
				flowInd = true
				if followed {
					blockInd = true
				}
			}
			if ch == '-' && followed {
				flowInd, blockInd = true, true
			}
		} else {
			if strings.ContainsRune(",?[]{}", ch) {
				flowInd = true
			}
			if ch == ':' {
				flowInd = true
				if followed {
					blockInd = true
				}
			}
			if ch == '#' && preceded {
				flowInd, blockInd = true, true
			}
		}
		if isBreak(ch) {
			lineBreaks = true
		}
		if !(ch == '\n' || (ch >= 0x20 && ch <= 0x7e)) {
			// Printable non-ASCII is special too when allow_unicode is off.
			special = true
		}
		switch {
		case ch == ' ':
			if i == 0 {
				leadingSpace = true
			}
			if i == len(rs)-1 {
				trailingSpace = true
			}
			if prevBreak {
				breakSpace = true
			}
			prevSpace, prevBreak = true, false
		case isBreak(ch):
			if i == 0 {
				leadingBreak = true
			}
			if i == len(rs)-1 {
				trailingBreak = true
			}
			if prevSpace {
				spaceBreak = true
			}
			prevSpace, prevBreak = false, true
		default:
			prevSpace, prevBreak = false, false
		}
		preceded = isSpaceOrBreak(ch)
		followed = i+2 >= len(rs) || isSpaceOrBreak(rs[i+2])
	}
	a := scalarAnalysis{multiline: lineBreaks, allowBlockPlain: true, allowSingleQuoted: true}
	if leadingSpace || leadingBreak || trailingSpace || trailingBreak {
		a.allowBlockPlain = false
	}
	if breakSpace {
		a.allowBlockPlain, a.allowSingleQuoted = false, false
	}
	if spaceBreak || special {
		a.allowBlockPlain, a.allowSingleQuoted = false, false
	}
	if lineBreaks || blockInd {
		a.allowBlockPlain = false
	}
	_ = flowInd // only matters inside flow collections, which are never written
	return a
}

// scalar writes a scalar in the style PyYAML's choose_scalar_style picks.
func (e *yamlEmitter) scalar(s string, isStr, simpleKey bool) error {
	a := analyzeScalar(s)
	implicit := !isStr || !resolvesImplicitly(s)
	split := !simpleKey
	switch {
	case implicit && !(simpleKey && (a.empty || a.multiline)) && a.allowBlockPlain:
		e.writePlain(s, split)
	case a.allowSingleQuoted && !(simpleKey && a.multiline):
		e.writeSingleQuoted(s, split)
	default:
		e.writeDoubleQuoted(s, split)
	}
	return nil
}

func (e *yamlEmitter) writePlain(text string, split bool) {
	if text == "" {
		return
	}
	if !e.whitespace {
		e.write(" ")
	}
	e.whitespace, e.indention = false, false
	rs := []rune(text)
	spaces, breaks := false, false
	start := 0
	for end := 0; end <= len(rs); end++ {
		var ch rune = -1
		if end < len(rs) {
			ch = rs[end]
		}
		switch {
		case spaces:
			if ch != ' ' {
				if start+1 == end && e.column > yamlWidth && split {
					e.writeIndent()
					e.whitespace, e.indention = false, false
				} else {
					e.write(string(rs[start:end]))
				}
				start = end
			}
		case breaks:
			if ch < 0 || !isBreak(ch) {
				if rs[start] == '\n' {
					e.writeLineBreak()
				}
				for range rs[start:end] {
					e.writeLineBreak()
				}
				e.writeIndent()
				e.whitespace, e.indention = false, false
				start = end
			}
		default:
			if ch < 0 || ch == ' ' || isBreak(ch) {
				e.write(string(rs[start:end]))
				start = end
			}
		}
		if ch >= 0 {
			spaces = ch == ' '
			breaks = isBreak(ch)
		}
	}
}

func (e *yamlEmitter) writeSingleQuoted(text string, split bool) {
	e.writeIndicator("'", true, false, false)
	rs := []rune(text)
	spaces, breaks := false, false
	start := 0
	for end := 0; end <= len(rs); end++ {
		var ch rune = -1
		if end < len(rs) {
			ch = rs[end]
		}
		switch {
		case spaces:
			if ch != ' ' {
				if start+1 == end && e.column > yamlWidth && split && start != 0 && end != len(rs) {
					e.writeIndent()
				} else {
					e.write(string(rs[start:end]))
				}
				start = end
			}
		case breaks:
			if ch < 0 || !isBreak(ch) {
				if rs[start] == '\n' {
					e.writeLineBreak()
				}
				for range rs[start:end] {
					e.writeLineBreak()
				}
				e.writeIndent()
				start = end
			}
		default:
			if ch < 0 || ch == ' ' || isBreak(ch) || ch == '\'' {
				if start < end {
					e.write(string(rs[start:end]))
					start = end
				}
			}
		}
		if ch == '\'' {
			e.write("''")
			start = end + 1
		}
		if ch >= 0 {
			spaces = ch == ' '
			breaks = isBreak(ch)
		}
	}
	e.writeIndicator("'", false, false, false)
}

var yamlEscapes = map[rune]string{
	0: "0", '\x07': "a", '\x08': "b", '\t': "t", '\n': "n", '\x0b': "v", '\x0c': "f", '\r': "r",
	'\x1b': "e", '"': "\"", '\\': "\\", '\x85': "N", '\xa0': "_", '\u2028': "L", '\u2029': "P",
}

func (e *yamlEmitter) writeDoubleQuoted(text string, split bool) {
	e.writeIndicator("\"", true, false, false)
	rs := []rune(text)
	start := 0
	for end := 0; end <= len(rs); end++ {
		var ch rune = -1
		if end < len(rs) {
			ch = rs[end]
		}
		if ch < 0 || ch == '"' || ch == '\\' || ch == '\x85' || ch == '\u2028' || ch == '\u2029' || ch == '\uFEFF' ||
			!(ch >= 0x20 && ch <= 0x7e) {
			if start < end {
				e.write(string(rs[start:end]))
				start = end
			}
			if ch >= 0 {
				var data string
				if r, ok := yamlEscapes[ch]; ok {
					data = "\\" + r
				} else if ch <= 0xff {
					data = fmt.Sprintf("\\x%02X", ch)
				} else if ch <= 0xffff {
					data = fmt.Sprintf("\\u%04X", ch)
				} else {
					data = fmt.Sprintf("\\U%08X", ch)
				}
				e.write(data)
				start = end + 1
			}
		}
		if end > 0 && end < len(rs)-1 && (ch == ' ' || start >= end) && e.column+(end-start) > yamlWidth && split {
			data := "\\"
			if start < end {
				data = string(rs[start:end]) + data
				start = end
			}
			e.write(data)
			e.writeIndent()
			e.whitespace, e.indention = false, false
			if rs[start] == ' ' {
				e.write("\\")
			}
		}
	}
	e.writeIndicator("\"", false, false, false)
}

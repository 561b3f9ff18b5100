package omegaconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits on what one config may hold. NeMo configs have a few hundred
// values; these stop hostile input (alias bombs, resolver loops that grow
// strings) long before they cost real memory.
const (
	// MaxFileSize is the largest config file ReadFile accepts.
	MaxFileSize = 16 << 20
	// maxNodes bounds the nodes of the parsed tree plus the copies that
	// aliases and interpolations of whole sections make.
	maxNodes = 1 << 18
	// maxDepth bounds the nesting of maps and lists.
	maxDepth = 1000
	// maxStringLen bounds a string built by interpolation or a resolver.
	maxStringLen = 1 << 20
)

// SyntaxError is a config that cannot be read as NeMo 1.0 read it: bad
// YAML, a duplicate key, a tag the loader refuses. Line and Column are
// 1-based.
type SyntaxError struct {
	File         string
	Line, Column int
	Msg          string
	// Source is the text of the offending line, when known.
	Source string
}

func (e *SyntaxError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d:", e.Line, e.Column)
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(e.Msg)
	if e.Source != "" && e.Column > 0 {
		src := strings.ReplaceAll(e.Source, "\t", " ")
		fmt.Fprintf(&b, "\n    %s\n    %s^", src, strings.Repeat(" ", min(e.Column-1, len(src))))
	}
	return b.String()
}

// ReadFile reads and parses the YAML config at path. Errors name the file.
func ReadFile(path string) (*Node, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config file %s does not exist", path)
		}
		return nil, err
	}
	defer f.Close()
	data, err := ReadConfig(path, f)
	if err != nil {
		return nil, err
	}
	return ParseFile(path, data)
}

// ReadConfig reads a config from r, refusing one larger than MaxFileSize;
// name names it in errors.
func ReadConfig(name string, r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d MiB; that is not a training config", name, MaxFileSize>>20)
	}
	return data, nil
}

// ParseFile parses data as [Parse] does; errors name the file name.
func ParseFile(name string, data []byte) (*Node, error) {
	n, err := Parse(data)
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			se.File = name
			return nil, se
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return n, nil
}

// Parse decodes one YAML document as OmegaConf.load does: PyYAML's YAML
// 1.1 scalars with OmegaConf's float rule, merge keys, aliases expanded,
// duplicate keys rejected. Interpolations are left as strings; see
// [Resolve]. The top level may be any value; an empty document gives an
// empty map, as OmegaConf.load does.
func Parse(data []byte) (*Node, error) {
	lines := splitLines(data)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return &Node{Kind: Map, Line: 1, Column: 1}, nil
		}
		return nil, syntaxError(data, lines, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &SyntaxError{Line: extra.Line, Column: extra.Column,
			Msg: "the file holds more than one YAML document (---); NeMo reads exactly one", Source: lineAt(lines, extra.Line)}
	} else if err != io.EOF {
		return nil, syntaxError(data, lines, err)
	}
	c := &converter{lines: lines}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return &Node{Kind: Map, Line: 1, Column: 1}, nil
		}
		root = root.Content[0]
	}
	n, err := c.convert(root, 0)
	if err == nil && n.Kind == Null {
		// OmegaConf.load turns an empty document into an empty config.
		n = &Node{Kind: Map, Line: n.Line, Column: n.Column}
	}
	return n, err
}

type converter struct {
	lines [][]byte
	nodes int
}

func (c *converter) errorf(y *yaml.Node, format string, args ...any) error {
	return &SyntaxError{Line: y.Line, Column: y.Column, Msg: fmt.Sprintf(format, args...), Source: lineAt(c.lines, y.Line)}
}

func (c *converter) convert(y *yaml.Node, depth int) (*Node, error) {
	if depth > maxDepth {
		return nil, c.errorf(y, "values are nested more than %d levels deep", maxDepth)
	}
	c.nodes++
	if c.nodes > maxNodes {
		return nil, c.errorf(y, "the config expands to more than %d values (aliases?)", maxNodes)
	}
	switch y.Kind {
	case yaml.AliasNode:
		if y.Alias == nil {
			return nil, c.errorf(y, "alias *%s refers to nothing", y.Value)
		}
		c.nodes--
		return c.convert(y.Alias, depth+1)
	case yaml.ScalarNode:
		return c.scalar(y, false)
	case yaml.SequenceNode:
		if y.Style&yaml.TaggedStyle != 0 && y.Tag != "!!seq" {
			return nil, c.errorf(y, "the YAML tag %s is not supported by NeMo's loader", y.Tag)
		}
		n := &Node{Kind: List, Line: y.Line, Column: y.Column, Items: make([]*Node, 0, len(y.Content))}
		for _, it := range y.Content {
			v, err := c.convert(it, depth+1)
			if err != nil {
				return nil, err
			}
			n.Items = append(n.Items, v)
		}
		return n, nil
	case yaml.MappingNode:
		return c.mapping(y, depth)
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &Node{Kind: Null, Line: y.Line, Column: y.Column}, nil
		}
		return c.convert(y.Content[0], depth)
	}
	return nil, c.errorf(y, "unexpected YAML node")
}

func (c *converter) scalar(y *yaml.Node, isKey bool) (*Node, error) {
	n := &Node{Line: y.Line, Column: y.Column}
	var err error
	switch {
	case y.Style&yaml.TaggedStyle != 0:
		err = constructTagged(y.Tag, y.Value, n)
	case y.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		setString(n, y.Value)
	case isKey && y.Value == "=":
		n.Kind, n.Str = String, y.Value
	default:
		err = resolvePlain(y.Value, n)
	}
	if err != nil {
		return nil, c.errorf(y, "%v", err)
	}
	if isKey {
		if n.Kind == Missing {
			n.Kind = String
		}
		return n, nil
	}
	if n.IsInterpolation() {
		// OmegaConf parses every interpolation when the config is created,
		// so a malformed one stops NeMo from loading the file at all.
		if _, err := parseConfigValue(n.Str); err != nil {
			return nil, c.errorf(y, "invalid interpolation %s: %v", n.Str, err)
		}
	}
	return n, nil
}

func isMergeKey(k *yaml.Node) bool {
	if k.Kind != yaml.ScalarNode {
		return false
	}
	if k.Style&yaml.TaggedStyle != 0 {
		return k.Tag == "!!merge"
	}
	return k.Style == 0 && k.Value == "<<"
}

func (c *converter) mapping(y *yaml.Node, depth int) (*Node, error) {
	if y.Style&yaml.TaggedStyle != 0 && y.Tag != "!!map" {
		return nil, c.errorf(y, "the YAML tag %s is not supported by NeMo's loader", y.Tag)
	}
	n := &Node{Kind: Map, Line: y.Line, Column: y.Column}
	var merged, own []*Entry
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(y.Content); i += 2 {
		ky, vy := y.Content[i], y.Content[i+1]
		if isMergeKey(ky) {
			m, err := c.merge(vy, depth)
			if err != nil {
				return nil, err
			}
			merged = append(merged, m...)
			continue
		}
		kr := ky
		for kr.Kind == yaml.AliasNode && kr.Alias != nil {
			kr = kr.Alias
		}
		if kr.Kind != yaml.ScalarNode {
			return nil, c.errorf(ky, "a mapping key must be a scalar, not a %s", kindWord(kr))
		}
		k, err := c.scalar(kr, true)
		if err != nil {
			return nil, err
		}
		name, kind := keyName(k)
		if kind == String {
			if prev, ok := seen[name]; ok {
				return nil, c.errorf(ky, "duplicate key %q (first defined at line %d); OmegaConf rejects duplicate keys", name, prev.Line)
			}
			seen[name] = ky
		}
		v, err := c.convert(vy, depth+1)
		if err != nil {
			return nil, err
		}
		own = append(own, &Entry{Key: name, KeyKind: kind, Line: ky.Line, Column: ky.Column, Value: v})
	}
	// As PyYAML's flatten_mapping: merged pairs first, then the map's own;
	// a later pair replaces an earlier value with the same key in place.
	index := map[string]int{}
	for _, e := range append(merged, own...) {
		id := e.KeyKind.String() + "\x00" + e.Key
		if i, ok := index[id]; ok {
			n.Entries[i].Value = e.Value
			continue
		}
		index[id] = len(n.Entries)
		n.Entries = append(n.Entries, e)
	}
	return n, nil
}

// merge returns the pairs a "<<" key brings in: from one map, or from a
// list of maps where earlier maps win.
func (c *converter) merge(v *yaml.Node, depth int) ([]*Entry, error) {
	r := v
	for r.Kind == yaml.AliasNode && r.Alias != nil {
		r = r.Alias
	}
	switch r.Kind {
	case yaml.MappingNode:
		m, err := c.convert(r, depth+1)
		if err != nil {
			return nil, err
		}
		return m.Entries, nil
	case yaml.SequenceNode:
		var out []*Entry
		for i := len(r.Content) - 1; i >= 0; i-- {
			s := r.Content[i]
			sr := s
			for sr.Kind == yaml.AliasNode && sr.Alias != nil {
				sr = sr.Alias
			}
			if sr.Kind != yaml.MappingNode {
				return nil, c.errorf(s, "a merge key (<<) takes maps, not a %s", kindWord(sr))
			}
			m, err := c.convert(sr, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, m.Entries...)
		}
		return out, nil
	}
	return nil, c.errorf(v, "a merge key (<<) takes a map or a list of maps, not a %s", kindWord(r))
}

func kindWord(y *yaml.Node) string {
	switch y.Kind {
	case yaml.MappingNode:
		return "map"
	case yaml.SequenceNode:
		return "list"
	}
	return "scalar"
}

// keyName is Python's str() of a key.
func keyName(k *Node) (string, Kind) {
	switch k.Kind {
	case String:
		return k.Str, String
	case Null:
		return "None", Null
	}
	return pyStr(k), k.Kind
}

func splitLines(data []byte) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i+1])
		data = data[i+1:]
	}
	return lines
}

func lineAt(lines [][]byte, line int) string {
	if line < 1 || line > len(lines) {
		return ""
	}
	return strings.TrimRight(string(lines[line-1]), "\r\n")
}

var (
	reYAMLLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)
	reQuoted   = regexp.MustCompile(`'([^']*)'`)
)

// locateSteps is how many lines syntaxError walks one by one from
// yaml.v3's line before it switches to a binary search.
const locateSteps = 8

// syntaxError turns a yaml.v3 error, which gives at best a line that is
// often the start of the enclosing block, into one with the line and
// column of the problem. The line is the first one after the longest
// prefix of whole lines that still parses: nothing after an error can
// repair it, so longer prefixes fail too, while a multi-line flow
// collection or quoted string that is cut short is reported where it
// starts. The search starts at yaml.v3's line, which is usually at most a
// few lines off, and walks from there; farther away it bisects, so a
// large file costs a few dozen parses at most.
func syntaxError(data []byte, lines [][]byte, err error) error {
	msg := err.Error()
	hint := 1
	if m := reYAMLLine.FindStringSubmatch(msg); m != nil {
		msg = msg[len(m[0]):]
		if h, _ := strconv.Atoi(m[1]); h > 0 {
			hint = h
		}
	}
	offsets := make([]int, len(lines)+1) // offsets[k]: size of the first k lines
	for i, l := range lines {
		offsets[i+1] = offsets[i] + len(l)
	}
	ok := func(k int) bool {
		if k <= 0 {
			return true
		}
		var probe yaml.Node
		return yaml.Unmarshal(data[:offsets[k]], &probe) == nil
	}
	// Find good < bad with ok(good) and !ok(bad) and bad == good+1.
	n := len(lines)
	k := min(max(hint-1, 0), n)
	var good, bad int
	if ok(k) {
		good, bad = k, n
		for i := 0; i < locateSteps && good+1 < bad; i++ {
			if !ok(good + 1) {
				bad = good + 1
			} else {
				good++
			}
		}
	} else {
		good, bad = 0, k
		for i := 0; i < locateSteps && good+1 < bad; i++ {
			if ok(bad - 1) {
				good = bad - 1
			} else {
				bad--
			}
		}
	}
	for good+1 < bad {
		mid := (good + bad) / 2
		if ok(mid) {
			good = mid
		} else {
			bad = mid
		}
	}
	line := min(max(good+1, 1), max(n, 1))
	src := lineAt(lines, line)
	return &SyntaxError{Line: line, Column: errorColumn(src, msg), Msg: "invalid YAML: " + msg, Source: src}
}

// errorColumn guesses the column of a YAML problem on its line from the
// kind of problem; by default it is the line's first character.
func errorColumn(src, msg string) int {
	first := strings.IndexFunc(src, func(r rune) bool { return r != ' ' })
	if first < 0 {
		first = 0
	}
	find := func(i int) int {
		if i < 0 {
			return first + 1
		}
		return i + 1
	}
	switch {
	case strings.Contains(msg, "cannot start any token"):
		if i := strings.IndexAny(src[first:], "@`\t%"); i >= 0 {
			return first + i + 1
		}
	case strings.Contains(msg, "tab character"):
		return find(strings.IndexByte(src, '\t'))
	case strings.Contains(msg, "mapping values are not allowed"):
		// The second ": " of "a: b: c".
		if i := strings.Index(src, ": "); i >= 0 {
			if j := strings.Index(src[i+2:], ":"); j >= 0 {
				return i + 2 + j + 1
			}
		}
	case strings.Contains(msg, "',' or ']'"):
		return find(strings.LastIndexByte(src, '['))
	case strings.Contains(msg, "',' or '}'"):
		return find(strings.LastIndexByte(src, '{'))
	case strings.Contains(msg, "unknown escape"):
		return find(strings.IndexByte(src, '\\'))
	case strings.HasPrefix(msg, "unknown anchor"):
		if m := reQuoted.FindStringSubmatch(msg); m != nil {
			return find(strings.Index(src, "*"+m[1]))
		}
	}
	return first + 1
}

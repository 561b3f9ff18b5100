package omegaconf

import (
	"errors"
	"fmt"
	"strings"
)

// This file implements OmegaConf 2.2's interpolation grammar
// (OmegaConfGrammarLexer.g4 / OmegaConfGrammarParser.g4): an ANTLR lexer
// with modes, longest match and first-rule tie break, and the parser rules
// configValue (a config string), singleElement (oc.decode's input) and
// what they use. The parse is strict: OmegaConf raises on any syntax
// error, and so do we.

type tokType uint8

const (
	tInterOpen  tokType = iota + 1 // ${
	tInterClose                    // } closing a node interpolation
	tAnyStr                        // plain text
	tEscInter                      // \${ (escaped interpolation)
	tTopEsc                        // even run of backslashes at top level
	tQuotedEsc                     // even run of backslashes in a quoted string
	tBraceOpen
	tBraceClose
	tQuoteOpenSingle
	tQuoteOpenDouble
	tQuoteClose
	tComma
	tBracketOpen
	tBracketClose
	tColon
	tFloat
	tInt
	tBool
	tNull
	tUnquotedChar
	tID
	tEsc
	tWS
	tDot
	tInterKey
)

type lexMode uint8

const (
	modeTop lexMode = iota
	modeValue
	modeInterp
	modeQuoteSingle
	modeQuoteDouble
)

type token struct {
	typ  tokType
	text string
	// resolver is set on the ${ of an interpolation that names a resolver
	// (the lexer saw its ':').
	resolver bool
}

// maxGrammarDepth bounds the nesting of interpolations, lists and dicts in
// one string.
const maxGrammarDepth = 100

var errEmptyStack = errors.New("unbalanced closing bracket or brace (Empty Stack)")

type frame struct {
	mode lexMode
	open int // index of the ${ token that opened an interpolation frame, or -1
}

// lex splits s into tokens starting in mode start.
func lex(s string, start lexMode) ([]token, error) {
	var toks []token
	mode := start
	var stack []frame
	cur := -1 // ${ token of the current interpolation frame
	push := func(m lexMode, open int) error {
		if len(stack) >= maxGrammarDepth {
			return fmt.Errorf("interpolation nested more than %d levels deep", maxGrammarDepth)
		}
		stack = append(stack, frame{mode, cur})
		mode, cur = m, open
		return nil
	}
	pop := func() error {
		if len(stack) == 0 {
			return errEmptyStack
		}
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		mode, cur = f.mode, f.open
		return nil
	}
	for i := 0; i < len(s); {
		rest := s[i:]
		var typ tokType
		var n int
		switch mode {
		case modeTop:
			typ, n = lexTop(rest)
		case modeInterp:
			typ, n = lexInterp(rest)
		case modeValue:
			typ, n = lexValue(rest)
		default:
			typ, n = lexQuoted(rest, mode == modeQuoteSingle)
		}
		if n == 0 {
			return nil, fmt.Errorf("token recognition error at: %q", firstRune(rest))
		}
		text := rest[:n]
		i += n
		var err error
		switch typ {
		case tInterOpen:
			toks = append(toks, token{typ: typ, text: text})
			err = push(modeInterp, len(toks)-1)
			if err != nil {
				return nil, err
			}
			continue
		case tInterClose, tBraceClose, tQuoteClose:
			err = pop()
		case tColon:
			if mode == modeInterp {
				mode = modeValue // INTER_COLON: mode(VALUE_MODE)
				if cur >= 0 {
					toks[cur].resolver = true
				}
			}
		case tBraceOpen:
			err = push(modeValue, -1)
		case tQuoteOpenSingle:
			err = push(modeQuoteSingle, -1)
		case tQuoteOpenDouble:
			err = push(modeQuoteDouble, -1)
		}
		if err != nil {
			return nil, err
		}
		toks = append(toks, token{typ: typ, text: text})
	}
	return toks, nil
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return s
}

// best keeps the longest candidate; on a tie the earlier rule wins, so
// candidates must be offered in the grammar's rule order.
type best struct {
	typ tokType
	n   int
}

func (b *best) offer(t tokType, n int) {
	if n > b.n {
		b.typ, b.n = t, n
	}
}

func countBackslashes(s string) int {
	n := 0
	for n < len(s) && s[n] == '\\' {
		n++
	}
	return n
}

func wsLen(s string) int {
	n := 0
	for n < len(s) && (s[n] == ' ' || s[n] == '\t') {
		n++
	}
	return n
}

// interOpenLen matches INTER_OPEN: '${' WS?.
func interOpenLen(s string) int {
	if strings.HasPrefix(s, "${") {
		return 2 + wsLen(s[2:])
	}
	return 0
}

// strLen matches ~[stop]* ~[\\ stop]: text up to a stop character, not
// ending in a backslash.
func strLen(s, stop string) int {
	j := strings.IndexAny(s, stop)
	if j < 0 {
		j = len(s)
	}
	for j > 0 && s[j-1] == '\\' {
		j--
	}
	return j
}

// escInterLen matches ESC_BACKSLASH* '\\${': an odd run of backslashes
// before ${.
func escInterLen(s string) int {
	n := countBackslashes(s)
	if n%2 == 1 && strings.HasPrefix(s[n:], "${") {
		return n + 2
	}
	return 0
}

func evenBackslashes(s string) int {
	n := countBackslashes(s)
	return n - n%2
}

func lexTop(s string) (tokType, int) {
	var b best
	b.offer(tInterOpen, interOpenLen(s))
	b.offer(tAnyStr, strLen(s, "$"))
	b.offer(tEscInter, escInterLen(s))
	b.offer(tTopEsc, evenBackslashes(s))
	b.offer(tAnyStr, countBackslashes(s)) // BACKSLASHES -> ANY_STR
	if s[0] == '$' {
		b.offer(tAnyStr, 1) // DOLLAR -> ANY_STR
	}
	return b.typ, b.n
}

func lexQuoted(s string, single bool) (tokType, int) {
	q := byte('"')
	if single {
		q = '\''
	}
	var b best
	b.offer(tInterOpen, interOpenLen(s))
	if s[0] == q {
		b.offer(tQuoteClose, 1)
	}
	b.offer(tAnyStr, strLen(s, string(q)+"$"))
	b.offer(tEscInter, escInterLen(s))
	if n := countBackslashes(s); n%2 == 1 && n < len(s) && s[n] == q {
		b.offer(tEsc, n+1) // escaped quote
	}
	b.offer(tQuotedEsc, evenBackslashes(s))
	b.offer(tAnyStr, countBackslashes(s))
	if s[0] == '$' {
		b.offer(tAnyStr, 1)
	}
	return b.typ, b.n
}

func isChar(c byte) bool  { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func idLen(s string) int {
	if len(s) == 0 || !(isChar(s[0]) || s[0] == '_') {
		return 0
	}
	n := 1
	for n < len(s) && (isChar(s[n]) || isDigit(s[n]) || s[n] == '_') {
		n++
	}
	return n
}

func lexInterp(s string) (tokType, int) {
	var b best
	b.offer(tInterOpen, interOpenLen(s))
	w := wsLen(s)
	if w < len(s) && s[w] == ':' {
		b.offer(tColon, w+1+wsLen(s[w+1:]))
	}
	if w < len(s) && s[w] == '}' {
		b.offer(tInterClose, w+1)
	}
	switch s[0] {
	case '.':
		b.offer(tDot, 1)
	case '[':
		b.offer(tBracketOpen, 1)
	case ']':
		b.offer(tBracketClose, 1)
	}
	b.offer(tID, idLen(s))
	k := 0
	for k < len(s) && !strings.ContainsRune("\\{}()[]:. \t'\"", rune(s[k])) {
		k++
	}
	b.offer(tInterKey, k)
	return b.typ, b.n
}

// digitsLen matches DIGIT (('_')? DIGIT)*.
func digitsLen(s string) int {
	if len(s) == 0 || !isDigit(s[0]) {
		return 0
	}
	n := 1
	for n < len(s) {
		if isDigit(s[n]) {
			n++
		} else if s[n] == '_' && n+1 < len(s) && isDigit(s[n+1]) {
			n += 2
		} else {
			break
		}
	}
	return n
}

// intUnsignedLen matches '0' | [1-9] (('_')? DIGIT)*.
func intUnsignedLen(s string) int {
	if len(s) == 0 || !isDigit(s[0]) {
		return 0
	}
	if s[0] == '0' {
		return 1
	}
	return digitsLen(s)
}

func floatLen(s string) int {
	sign := 0
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		sign = 1
	}
	r := s[sign:]
	m := 0
	ip := intUnsignedLen(r)
	point := 0
	if ip < len(r) && r[ip] == '.' {
		if f := digitsLen(r[ip+1:]); f > 0 {
			point = ip + 1 + f
		} else if ip > 0 {
			point = ip + 1
		}
	}
	m = max(m, point)
	for _, base := range []int{ip, point} {
		if base > 0 && base < len(r) && (r[base] == 'e' || r[base] == 'E') {
			e := base + 1
			if e < len(r) && (r[e] == '+' || r[e] == '-') {
				e++
			}
			if d := digitsLen(r[e:]); d > 0 {
				m = max(m, e+d)
			}
		}
	}
	if len(r) >= 3 {
		if w := strings.ToLower(r[:3]); w == "inf" || w == "nan" {
			m = max(m, 3)
		}
	}
	if m == 0 {
		return 0
	}
	return sign + m
}

func intLen(s string) int {
	sign := 0
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		sign = 1
	}
	if n := intUnsignedLen(s[sign:]); n > 0 {
		return sign + n
	}
	return 0
}

func keywordLen(s string, words ...string) int {
	for _, w := range words {
		if len(s) >= len(w) && strings.EqualFold(s[:len(w)], w) {
			return len(w)
		}
	}
	return 0
}

func escLen(s string) int {
	n := 0
	for n+1 < len(s) && s[n] == '\\' && strings.IndexByte("\\()[]{}:=, \t", s[n+1]) >= 0 {
		n += 2
	}
	return n
}

func lexValue(s string) (tokType, int) {
	var b best
	w := wsLen(s)
	b.offer(tInterOpen, interOpenLen(s))
	if s[0] == '{' {
		b.offer(tBraceOpen, 1+wsLen(s[1:]))
	}
	if w < len(s) && s[w] == '}' {
		b.offer(tBraceClose, w+1)
	}
	switch s[0] {
	case '\'':
		b.offer(tQuoteOpenSingle, 1)
	case '"':
		b.offer(tQuoteOpenDouble, 1)
	}
	if w < len(s) && s[w] == ',' {
		b.offer(tComma, w+1+wsLen(s[w+1:]))
	}
	if s[0] == '[' {
		b.offer(tBracketOpen, 1+wsLen(s[1:]))
	}
	if w < len(s) && s[w] == ']' {
		b.offer(tBracketClose, w+1)
	}
	if w < len(s) && s[w] == ':' {
		b.offer(tColon, w+1+wsLen(s[w+1:]))
	}
	b.offer(tFloat, floatLen(s))
	b.offer(tInt, intLen(s))
	b.offer(tBool, keywordLen(s, "true", "false"))
	b.offer(tNull, keywordLen(s, "null"))
	if strings.IndexByte(`/-\+.$%*@?|`, s[0]) >= 0 {
		b.offer(tUnquotedChar, 1)
	}
	b.offer(tID, idLen(s))
	b.offer(tEsc, escLen(s))
	b.offer(tWS, w)
	return b.typ, b.n
}

// Parse tree.

// piece is one part of a text, primitive or key: a token or an
// interpolation.
type piece struct {
	tok   token
	inter *interp
}

type interp struct {
	resolver bool
	// key holds the pieces of a node interpolation's path (dots and
	// brackets included); name those of a resolver's name.
	key, name []piece
	args      []*element
}

type elemKind uint8

const (
	elPrimitive elemKind = iota
	elQuoted
	elList
	elDict
)

type element struct {
	kind   elemKind
	pieces []piece    // primitive, quoted text
	items  []*element // list items; dict values
	keys   [][]piece  // dict keys
	empty  bool       // a missing sequence element (",,"): ""
}

type parser struct {
	src   string
	toks  []token
	pos   int
	depth int
}

func (p *parser) peek() *token {
	if p.pos < len(p.toks) {
		return &p.toks[p.pos]
	}
	return nil
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	p.pos++
	return t
}

func (p *parser) errorf(format string, args ...any) error {
	where := "end of input"
	if t := p.peek(); t != nil {
		where = fmt.Sprintf("%q", t.text)
	}
	return fmt.Errorf("syntax error at %s: %s", where, fmt.Sprintf(format, args...))
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxGrammarDepth {
		return fmt.Errorf("interpolation nested more than %d levels deep", maxGrammarDepth)
	}
	return nil
}

// parseConfigValue parses a config string: text EOF.
func parseConfigValue(s string) ([]piece, error) {
	toks, err := lex(s, modeTop)
	if err != nil {
		return nil, err
	}
	p := &parser{src: s, toks: toks}
	text, err := p.text(false)
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) || len(text) == 0 {
		return nil, p.errorf("unexpected input")
	}
	return text, nil
}

// parseSingleElement parses element EOF in VALUE_MODE (oc.decode).
func parseSingleElement(s string) (*element, error) {
	toks, err := lex(s, modeValue)
	if err != nil {
		return nil, err
	}
	p := &parser{src: s, toks: toks}
	e, err := p.element()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, p.errorf("unexpected input after the value")
	}
	return e, nil
}

// text: (interpolation | ANY_STR | ESC | ESC_INTER | TOP_ESC | QUOTED_ESC)+
func (p *parser) text(quoted bool) ([]piece, error) {
	var out []piece
	for t := p.peek(); t != nil; t = p.peek() {
		switch t.typ {
		case tInterOpen:
			in, err := p.interpolation()
			if err != nil {
				return nil, err
			}
			out = append(out, piece{inter: in})
		case tAnyStr, tEsc, tEscInter, tTopEsc, tQuotedEsc:
			out = append(out, piece{tok: p.next()})
		case tQuoteClose:
			if quoted {
				return out, nil
			}
			return nil, p.errorf("unexpected quote")
		default:
			return nil, p.errorf("unexpected token")
		}
	}
	return out, nil
}

func (p *parser) interpolation() (*interp, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	open := p.next()
	in := &interp{resolver: open.resolver}
	if in.resolver {
		// resolverName: (interpolation | ID) (DOT (interpolation | ID))*
		for {
			t := p.peek()
			switch {
			case t == nil:
				return nil, p.errorf("unterminated interpolation")
			case t.typ == tInterOpen:
				sub, err := p.interpolation()
				if err != nil {
					return nil, err
				}
				in.name = append(in.name, piece{inter: sub})
			case t.typ == tID:
				in.name = append(in.name, piece{tok: p.next()})
			default:
				return nil, p.errorf("expected a resolver name")
			}
			t = p.peek()
			if t != nil && t.typ == tDot {
				in.name = append(in.name, piece{tok: p.next()})
				continue
			}
			if t == nil || t.typ != tColon {
				return nil, p.errorf("expected ':' after the resolver name")
			}
			p.next()
			break
		}
		args, err := p.sequence(tBraceClose)
		if err != nil {
			return nil, err
		}
		in.args = args
		p.next() // BRACE_CLOSE
		return in, nil
	}
	// interpolationNode: DOT* (configKey | '[' configKey ']')
	//                    (DOT configKey | '[' configKey ']')* INTER_CLOSE
	for t := p.peek(); t != nil && t.typ == tDot; t = p.peek() {
		in.key = append(in.key, piece{tok: p.next()})
	}
	first := true
	for {
		t := p.peek()
		if t == nil {
			return nil, p.errorf("unterminated interpolation")
		}
		if t.typ == tInterClose {
			if first {
				return nil, p.errorf("empty interpolation key")
			}
			p.next()
			return in, nil
		}
		if !first {
			if t.typ == tDot {
				in.key = append(in.key, piece{tok: p.next()})
				if err := p.configKey(in); err != nil {
					return nil, err
				}
				continue
			}
			if t.typ != tBracketOpen {
				return nil, p.errorf("expected '.', '[' or '}' in an interpolation key")
			}
		}
		first = false
		if t.typ == tBracketOpen {
			in.key = append(in.key, piece{tok: p.next()})
			if err := p.configKey(in); err != nil {
				return nil, err
			}
			if t := p.peek(); t == nil || t.typ != tBracketClose {
				return nil, p.errorf("expected ']'")
			}
			in.key = append(in.key, piece{tok: p.next()})
			continue
		}
		if err := p.configKey(in); err != nil {
			return nil, err
		}
	}
}

// configKey: interpolation | ID | INTER_KEY
func (p *parser) configKey(in *interp) error {
	t := p.peek()
	switch {
	case t == nil:
		return p.errorf("expected a key")
	case t.typ == tInterOpen:
		sub, err := p.interpolation()
		if err != nil {
			return err
		}
		in.key = append(in.key, piece{inter: sub})
	case t.typ == tID || t.typ == tInterKey:
		in.key = append(in.key, piece{tok: p.next()})
	default:
		return p.errorf("expected a key")
	}
	return nil
}

// sequence: (element (COMMA element?)*) | (COMMA element?)+, up to end
// (which is not consumed). An absent sequence gives no elements.
func (p *parser) sequence(end tokType) ([]*element, error) {
	var out []*element
	prevComma := true
	sawComma := false
	for {
		t := p.peek()
		if t == nil {
			return nil, p.errorf("unterminated list or resolver arguments")
		}
		if t.typ == end {
			if prevComma && sawComma {
				out = append(out, &element{empty: true})
			}
			return out, nil
		}
		if t.typ == tComma {
			if prevComma {
				out = append(out, &element{empty: true})
			}
			p.next()
			prevComma, sawComma = true, true
			continue
		}
		if !prevComma {
			return nil, p.errorf("expected ',' between values")
		}
		e, err := p.element()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		prevComma = false
	}
}

func isPrimitiveTok(t tokType, inKey bool) bool {
	switch t {
	case tID, tNull, tInt, tFloat, tBool, tUnquotedChar, tEsc, tWS:
		return true
	case tColon, tInterOpen:
		return !inKey
	}
	return false
}

// element: primitive | quotedValue | listContainer | dictContainer
func (p *parser) element() (*element, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	t := p.peek()
	if t == nil {
		return nil, p.errorf("expected a value")
	}
	switch t.typ {
	case tQuoteOpenSingle, tQuoteOpenDouble:
		p.next()
		text, err := p.text(true)
		if err != nil {
			return nil, err
		}
		if t := p.peek(); t == nil || t.typ != tQuoteClose {
			return nil, p.errorf("unterminated quoted string")
		}
		p.next()
		return &element{kind: elQuoted, pieces: text}, nil
	case tBracketOpen:
		p.next()
		items, err := p.sequence(tBracketClose)
		if err != nil {
			return nil, err
		}
		p.next()
		return &element{kind: elList, items: items}, nil
	case tBraceOpen:
		p.next()
		e := &element{kind: elDict}
		if t := p.peek(); t != nil && t.typ == tBraceClose {
			p.next()
			return e, nil
		}
		for {
			key, err := p.primitive(true)
			if err != nil {
				return nil, err
			}
			if t := p.peek(); t == nil || t.typ != tColon {
				return nil, p.errorf("expected ':' after a dict key")
			}
			p.next()
			v, err := p.element()
			if err != nil {
				return nil, err
			}
			e.keys = append(e.keys, key)
			e.items = append(e.items, v)
			t := p.peek()
			if t != nil && t.typ == tComma {
				p.next()
				continue
			}
			if t == nil || t.typ != tBraceClose {
				return nil, p.errorf("expected ',' or '}' in a dict")
			}
			p.next()
			return e, nil
		}
	}
	pieces, err := p.primitive(false)
	if err != nil {
		return nil, err
	}
	return &element{kind: elPrimitive, pieces: pieces}, nil
}

// primitive (or dictKey when inKey): one or more primitive tokens and, for
// values, interpolations and colons.
func (p *parser) primitive(inKey bool) ([]piece, error) {
	var out []piece
	for t := p.peek(); t != nil && isPrimitiveTok(t.typ, inKey); t = p.peek() {
		if t.typ == tInterOpen {
			in, err := p.interpolation()
			if err != nil {
				return nil, err
			}
			out = append(out, piece{inter: in})
			continue
		}
		out = append(out, piece{tok: p.next()})
	}
	if len(out) == 0 {
		return nil, p.errorf("expected a value")
	}
	return out, nil
}

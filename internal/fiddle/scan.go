package fiddle

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits of the JSON reader. A document fiddle writes for a NeMo context
// is a few kilobytes and a few thousand values; these bounds keep a
// hostile one from costing more than a few tens of megabytes (a
// jval is about 100 bytes).
const (
	// MaxSize is the largest document Parse and ReadDocument accept, in
	// bytes.
	MaxSize = 16 << 20
	// maxJSONValues bounds the number of JSON values (each costs one
	// jval) in a document.
	maxJSONValues = 1 << 18
	// maxJSONDepth bounds the nesting of JSON arrays and objects. A fiddle
	// value nests three JSON levels per level of its own (object, items,
	// item pair), and every memoized object starts afresh.
	maxJSONDepth = 4*MaxDepth + 16
)

// jkind is the kind of a JSON value.
type jkind uint8

const (
	jNull jkind = iota
	jBool
	jInt
	jFloat
	jString
	jArray
	jObject
)

func (k jkind) String() string {
	return [...]string{"null", "a bool", "an integer", "a float", "a string", "an array", "an object"}[k]
}

// jval is a parsed JSON value. Python's json module is the reference: an
// integer without fraction or exponent is an int, NaN and ±Infinity are
// floats, and the members of an object keep their order.
type jval struct {
	kind jkind
	off  int // byte offset of the value in the document
	b    bool
	i    int64
	f    float64
	s    string
	kids []jval   // array elements, or object member values
	keys []string // object member names, parallel to kids
}

// member returns the value of the object member name.
func (v *jval) member(name string) (*jval, bool) {
	for i, k := range v.keys {
		if k == name {
			return &v.kids[i], true
		}
	}
	return nil, false
}

// scanner is a recursive-descent JSON parser that accepts what Python's
// json.loads accepts (with the default strict=True), except that an
// object may not repeat a member name (Python keeps the last; a document
// fiddle wrote never repeats one, and two readers must not disagree on
// which value counts) and that a lone UTF-16 surrogate escape, which a Go
// string cannot hold, is an error.
type scanner struct {
	data   []byte
	pos    int
	values int
}

// SyntaxError is a document that is not JSON as Python reads it.
type SyntaxError struct {
	Offset int // byte offset of the error
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "fiddle: invalid JSON at offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

func parseJSON(data []byte) (jval, error) {
	if len(data) > MaxSize {
		return jval{}, &SyntaxError{Offset: MaxSize, Msg: "document larger than " + strconv.Itoa(MaxSize) + " bytes"}
	}
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		// json.loads of a str refuses it too ("Unexpected UTF-8 BOM").
		return jval{}, &SyntaxError{Msg: "UTF-8 byte order mark"}
	}
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return jval{}, &SyntaxError{Offset: off, Msg: "invalid UTF-8"}
	}
	s := &scanner{data: data}
	s.skipSpace()
	v, err := s.value(0)
	if err != nil {
		return jval{}, err
	}
	s.skipSpace()
	if s.pos != len(s.data) {
		return jval{}, s.errorf("extra data after the document")
	}
	return v, nil
}

func (s *scanner) errorf(msg string) error { return &SyntaxError{Offset: s.pos, Msg: msg} }

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) literal(word string) bool {
	if bytes.HasPrefix(s.data[s.pos:], []byte(word)) {
		s.pos += len(word)
		return true
	}
	return false
}

func (s *scanner) value(depth int) (jval, error) {
	s.values++
	if s.values > maxJSONValues {
		return jval{}, s.errorf("more than " + strconv.Itoa(maxJSONValues) + " values")
	}
	if s.pos >= len(s.data) {
		return jval{}, s.errorf("unexpected end of document")
	}
	v := jval{off: s.pos}
	switch c := s.data[s.pos]; {
	case c == '{' || c == '[':
		if depth >= maxJSONDepth {
			return jval{}, s.errorf("nesting deeper than " + strconv.Itoa(maxJSONDepth))
		}
		if c == '{' {
			return s.object(depth + 1)
		}
		return s.array(depth + 1)
	case c == '"':
		str, err := s.str()
		if err != nil {
			return jval{}, err
		}
		v.kind, v.s = jString, str
	case s.literal("null"):
		v.kind = jNull
	case s.literal("true"):
		v.kind, v.b = jBool, true
	case s.literal("false"):
		v.kind = jBool
	case s.literal("NaN"):
		v.kind, v.f = jFloat, math.NaN()
	case s.literal("Infinity"):
		v.kind, v.f = jFloat, math.Inf(1)
	case s.literal("-Infinity"):
		v.kind, v.f = jFloat, math.Inf(-1)
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	default:
		return jval{}, s.errorf("expecting a value")
	}
	return v, nil
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?, Python's
// NUMBER_RE.
func (s *scanner) number() (jval, error) {
	start := s.pos
	digits := func() int {
		n := 0
		for s.pos < len(s.data) && '0' <= s.data[s.pos] && s.data[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	if s.data[s.pos] == '-' {
		s.pos++
	}
	if s.pos < len(s.data) && s.data[s.pos] == '0' {
		s.pos++
	} else if digits() == 0 {
		return jval{}, s.errorf("expecting a value")
	}
	isFloat := false
	if s.pos+1 < len(s.data) && s.data[s.pos] == '.' && '0' <= s.data[s.pos+1] && s.data[s.pos+1] <= '9' {
		s.pos++
		digits()
		isFloat = true
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		save := s.pos
		s.pos++
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		if digits() == 0 {
			s.pos = save // not an exponent; the caller reports what follows
		} else {
			isFloat = true
		}
	}
	text := string(s.data[start:s.pos])
	v := jval{off: start}
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return jval{}, &SyntaxError{Offset: start, Msg: "bad number " + strconv.Quote(text)}
		}
		// Out of range is ±Inf or 0, as Python's float() gives.
		v.kind, v.f = jFloat, f
		return v, nil
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		if len(text) > 40 {
			text = text[:40] + "..."
		}
		return jval{}, &SyntaxError{Offset: start, Msg: "integer " + text + " is out of range"}
	}
	v.kind, v.i = jInt, n
	return v, nil
}

func (s *scanner) str() (string, error) {
	start := s.pos
	s.pos++ // opening quote
	var b []byte
	chunk := s.pos
	for {
		if s.pos >= len(s.data) {
			return "", &SyntaxError{Offset: start, Msg: "unterminated string"}
		}
		c := s.data[s.pos]
		switch {
		case c == '"':
			if b == nil {
				str := string(s.data[chunk:s.pos])
				s.pos++
				return str, nil
			}
			b = append(b, s.data[chunk:s.pos]...)
			s.pos++
			return string(b), nil
		case c < 0x20:
			return "", s.errorf("control character in string")
		case c == '\\':
			b = append(b, s.data[chunk:s.pos]...)
			s.pos++
			if s.pos >= len(s.data) {
				return "", &SyntaxError{Offset: start, Msg: "unterminated string"}
			}
			e := s.data[s.pos]
			s.pos++
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, err := s.hex4()
				if err != nil {
					return "", err
				}
				if utf16.IsSurrogate(r) {
					if r >= 0xdc00 || !bytes.HasPrefix(s.data[s.pos:], []byte(`\u`)) {
						return "", s.errorf("lone UTF-16 surrogate in string")
					}
					s.pos += 2
					r2, err := s.hex4()
					if err != nil {
						return "", err
					}
					r = utf16.DecodeRune(r, r2)
					if r == utf8.RuneError {
						return "", s.errorf("lone UTF-16 surrogate in string")
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				return "", &SyntaxError{Offset: s.pos - 2, Msg: "invalid escape in string"}
			}
			chunk = s.pos
		default:
			s.pos++
		}
	}
}

func (s *scanner) hex4() (rune, error) {
	if s.pos+4 > len(s.data) {
		return 0, s.errorf("invalid \\u escape")
	}
	var r rune
	for _, c := range s.data[s.pos : s.pos+4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, s.errorf("invalid \\u escape")
		}
	}
	s.pos += 4
	return r, nil
}

func (s *scanner) array(depth int) (jval, error) {
	v := jval{kind: jArray, off: s.pos}
	s.pos++
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return v, nil
	}
	for {
		s.skipSpace()
		e, err := s.value(depth)
		if err != nil {
			return jval{}, err
		}
		v.kids = append(v.kids, e)
		s.skipSpace()
		if s.pos >= len(s.data) {
			return jval{}, s.errorf("unexpected end of document in an array")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return v, nil
		default:
			return jval{}, s.errorf("expecting ',' or ']'")
		}
	}
}

func (s *scanner) object(depth int) (jval, error) {
	v := jval{kind: jObject, off: s.pos}
	s.pos++
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return v, nil
	}
	var seen map[string]bool
	for {
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return jval{}, s.errorf("expecting a property name in double quotes")
		}
		keyOff := s.pos
		k, err := s.str()
		if err != nil {
			return jval{}, err
		}
		// Small objects (every fiddle value) are checked by a scan;
		// a map only pays off for large ones ("objects").
		if len(v.keys) >= 8 && seen == nil {
			seen = make(map[string]bool, 2*len(v.keys))
			for _, k := range v.keys {
				seen[k] = true
			}
		}
		dup := false
		if seen != nil {
			dup = seen[k]
			seen[k] = true
		} else {
			for _, prev := range v.keys {
				dup = dup || prev == k
			}
		}
		if dup {
			return jval{}, &SyntaxError{Offset: keyOff, Msg: "repeated member name " + quoteShort(k)}
		}
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return jval{}, s.errorf("expecting ':'")
		}
		s.pos++
		s.skipSpace()
		e, err := s.value(depth)
		if err != nil {
			return jval{}, err
		}
		v.keys = append(v.keys, k)
		v.kids = append(v.kids, e)
		s.skipSpace()
		if s.pos >= len(s.data) {
			return jval{}, s.errorf("unexpected end of document in an object")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return v, nil
		default:
			return jval{}, s.errorf("expecting ',' or '}'")
		}
	}
}

// quoteShort quotes s for an error message, cut to a readable length.
func quoteShort(s string) string {
	const max = 80
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

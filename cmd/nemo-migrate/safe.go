package main

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// safeWriter escapes what a checkpoint could smuggle onto a user's
// terminal through a key name, a path or a YAML value: control characters
// (an escape sequence can rewrite the screen) and bytes that are not
// UTF-8 are written as \xNN or \u00NN. Tabs and newlines pass. A UTF-8
// sequence split across writes is held until the next write completes it.
type safeWriter struct {
	w    io.Writer
	held []byte
}

func (s *safeWriter) Write(p []byte) (int, error) {
	b := append(s.held, p...)
	s.held = nil
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n <= 1:
			if !utf8.FullRune(b) {
				s.held = append(s.held, b...) // completed by the next write
				b = nil
				continue
			}
			out = fmt.Appendf(out, `\x%02x`, b[0])
		case r == '\n' || r == '\t':
			out = append(out, b[0])
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

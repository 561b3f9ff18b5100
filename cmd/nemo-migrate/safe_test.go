package main

import (
	"bytes"
	"testing"
)

func TestSafeWriter(t *testing.T) {
	var b bytes.Buffer
	w := &safeWriter{w: &b}
	for _, p := range []string{
		"key\x1b[31mred\x07", "\ttab\n", "héllo ", "\xe2\x82", "\xac euro ", "bad\xffbyte ", "c1\u0085",
	} {
		if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	want := `key\u001b[31mred\u0007` + "\ttab\n" + `héllo € euro bad\xffbyte c1\u0085`
	if b.String() != want {
		t.Errorf("wrote %q\nwant  %q", b.String(), want)
	}
}

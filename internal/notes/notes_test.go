package notes

import "testing"

func TestNames(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b"}, "a and b"},
		{[]string{"a", "b", "c"}, "a, b and 1 more"},
		{[]string{"a", "b", "c", "d", "e"}, "a, b and 3 more"},
	} {
		if got := Names(tt.in); got != tt.want {
			t.Errorf("Names(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

package main

import (
	"strings"
	"testing"
	"time"
)

// TestProgressTextFits: at every width the line fits, and what is dropped
// goes in order: the bar first, then the time left, the rate, the totals.
func TestProgressTextFits(t *testing.T) {
	p := newProgressBar(nil, "converting", terminal{})
	now := p.start.Add(10 * time.Second)
	const done, total = 3 << 30, 12 << 30
	wide := p.text(done, total, now, 200)
	for _, want := range []string{"converting [", "] ", " 25%", "3.0 GiB / 12.0 GiB", "307.2 MiB/s", "ETA 30s"} {
		if !strings.Contains(wide, want) {
			t.Errorf("at 200 columns %q lacks %q", wide, want)
		}
	}
	if len(wide) != 200 {
		t.Errorf("at 200 columns the bar does not fill the line: %d columns", len(wide))
	}
	for w := 1; w <= 200; w++ {
		if got := p.text(done, total, now, w); len(got) > w {
			t.Errorf("at %d columns: %q is %d long", w, got, len(got))
		}
	}
	for _, tt := range []struct {
		width       int
		has, hasnot string
	}{
		{60, "ETA", "["},
		{50, "/s", "ETA"},
		{40, "GiB", "/s"},
		{20, "25%", "GiB"},
	} {
		got := p.text(done, total, now, tt.width)
		if !strings.Contains(got, tt.has) || strings.Contains(got, tt.hasnot) {
			t.Errorf("at %d columns: %q, want %q kept and %q dropped", tt.width, got, tt.has, tt.hasnot)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 45 * time.Second: "45s", 200 * time.Second: "3m20s",
		2*time.Hour + 5*time.Minute: "2h05m", 1500 * time.Millisecond: "2s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nemo-migrate/nemo-migrate/internal/bytesize"
)

// progressBar draws one line of progress on a terminal: a bar fitted to
// the terminal's width, bytes done and total, the rate and the time left.
// It redraws at most ten times a second. On a dumb terminal (TERM=dumb,
// as in an editor's shell) it writes a plain line at each tenth instead,
// with no control characters.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	width func() int // the terminal's columns now: it may be resized
	dumb  bool
	start time.Time
	last  time.Time
	tenth int64 // the last tenth a dumb terminal was told of
	drawn bool
}

// terminal says how progress is drawn on e's stderr.
type terminal struct {
	width func() int
	dumb  bool
}

func newProgressBar(w io.Writer, label string, t terminal) *progressBar {
	if t.width == nil {
		t.width = func() int { return 80 }
	}
	return &progressBar{w: w, label: label, width: t.width, dumb: t.dumb, start: time.Now(), tenth: -1}
}

// stderrTerminal describes the process's stderr: its width (COLUMNS, when
// set, wins, as for other tools) and whether TERM says it is dumb.
func stderrTerminal() terminal {
	return terminal{
		width: func() int {
			if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
				return n
			}
			if n := termWidth(os.Stderr); n > 0 {
				return n
			}
			return 80
		},
		dumb: os.Getenv("TERM") == "dumb",
	}
}

func (p *progressBar) update(done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.dumb {
		if total <= 0 {
			return
		}
		if t := 10 * done / total; t > p.tenth {
			p.tenth = t
			fmt.Fprintln(p.w, p.text(done, total, now, 0))
		}
		return
	}
	if now.Sub(p.last) < 100*time.Millisecond && done < total {
		return
	}
	p.last = now
	// One column is left free: a line that fills the last column wraps
	// on many terminals, and the next \r then redraws one line lower.
	fmt.Fprintf(p.w, "\r%s\x1b[K", p.text(done, total, now, p.width()-1))
	p.drawn = true
}

// text is the progress line fitted to width columns (0: no limit). What
// does not fit goes in this order: the bar, the time left, the rate, the
// totals; the percentage and label stay (cut short only on a terminal
// too narrow for them).
func (p *progressBar) text(done, total int64, now time.Time, width int) string {
	frac := 1.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	pct := fmt.Sprintf("%3.0f%%", 100*frac)
	amount := bytesize.Format(done) + " / " + bytesize.Format(total)
	var rate, eta string
	if secs := now.Sub(p.start).Seconds(); secs > 0.5 && done > 0 {
		r := float64(done) / secs
		rate = bytesize.Format(int64(r)) + "/s"
		if done < total {
			eta = "ETA " + formatDuration(time.Duration(float64(total-done)/r*float64(time.Second)))
		}
	}
	parts := []string{amount, rate, eta}
	for {
		tail := pct
		for _, s := range parts {
			if s != "" {
				tail += "  " + s
			}
		}
		if width <= 0 {
			return p.label + "  " + tail
		}
		// label [====    ] tail
		if bar := width - len(p.label) - len(tail) - 4; bar >= 10 {
			filled := int(frac * float64(bar))
			return p.label + " [" + strings.Repeat("=", filled) + strings.Repeat(" ", bar-filled) + "] " + tail
		}
		if line := p.label + "  " + tail; len(line) <= width || len(parts) == 0 {
			if len(line) > width {
				line = line[:max(width, 0)]
			}
			return line
		}
		parts = parts[:len(parts)-1]
	}
}

// formatDuration words a time left the way people read one: "45s",
// "3m20s", "2h05m".
func formatDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s/60%60)
}

// finish ends the line.
func (p *progressBar) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

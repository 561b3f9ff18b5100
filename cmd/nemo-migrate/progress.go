package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/nemo-migrate/nemo-migrate/internal/bytesize"
)

// progressBar draws one self-overwriting line on a terminal: a bar, bytes
// done and the rate. It redraws at most ten times a second.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	start time.Time
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer, label string) *progressBar {
	return &progressBar{w: w, label: label, start: time.Now()}
}

func (p *progressBar) update(done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && done < total {
		return
	}
	p.last = now
	p.draw(done, total, now)
}

func (p *progressBar) draw(done, total int64, now time.Time) {
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	filled := min(int(frac*width), width)
	rate := ""
	if secs := now.Sub(p.start).Seconds(); secs > 0.2 {
		rate = fmt.Sprintf(" %s/s", bytesize.Format(int64(float64(done)/secs)))
	}
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%% %s / %s%s\x1b[K", p.label, strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
		100*frac, bytesize.Format(done), bytesize.Format(total), rate)
	p.drawn = true
}

// finish ends the line.
func (p *progressBar) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

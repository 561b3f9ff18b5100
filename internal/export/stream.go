package export

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/nemo-migrate/nemo-migrate/internal/cast"
	"github.com/nemo-migrate/nemo-migrate/internal/distckpt"
	"github.com/nemo-migrate/nemo-migrate/internal/safetensors"
	"github.com/nemo-migrate/nemo-migrate/internal/torchsave"
)

// piece is one span of a source tensor and the file offset its bytes (in
// the output dtype) have in the output.
type piece struct {
	s   span
	src *distckpt.Tensor
	out *Tensor
	dst int64
}

// outBytes is the length of a piece in the output dtype.
func (pc piece) outBytes() int64 {
	return pc.s.n / pc.src.DType.ItemSize() * safetensors.ItemSize(safetensors.DTypeOf(pc.out.DType))
}

// stream reads each source tensor of outs once, front to back, and hands
// visit the bytes of each piece, cast to the output dtype. start gives an
// output tensor's file offset; a tensor it reports absent is skipped.
func stream(ctx context.Context, outs []*Tensor, start func(*Tensor) (int64, bool), visit func(pc piece, r io.Reader) error) error {
	var order []string
	pieces := map[string][]piece{}
	for _, t := range outs {
		dst, ok := start(t)
		if !ok {
			continue
		}
		for _, p := range t.parts {
			key := p.src.Key
			if _, seen := pieces[key]; !seen {
				order = append(order, key)
			}
			for _, s := range p.spans {
				pc := piece{s, p.src, t, dst}
				pieces[key] = append(pieces[key], pc)
				dst += pc.outBytes()
			}
		}
	}
	for _, key := range order {
		ps := pieces[key]
		slices.SortFunc(ps, func(a, b piece) int { return int(min(max(a.s.off-b.s.off, -1), 1)) })
		if err := streamOne(ctx, key, ps, visit); err != nil {
			return err
		}
	}
	return nil
}

func streamOne(ctx context.Context, key string, ps []piece, visit func(pc piece, r io.Reader) error) error {
	t := ps[0].src
	rc, err := t.OpenRowMajor()
	if err != nil {
		return err
	}
	defer rc.Close()
	var at int64
	for _, pc := range ps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := io.CopyN(io.Discard, rc, pc.s.off-at); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		var r io.Reader = io.LimitReader(rc, pc.s.n)
		if to := torchsave.DType(pc.out.DType); to != t.DType {
			if r, err = cast.Reader(r, t.DType, to); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
		if pc.out.Shift != 0 {
			if r, err = cast.Shift(r, torchsave.DType(pc.out.DType), pc.out.Shift); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
		if err := visit(pc, r); err != nil {
			return fmt.Errorf("%s from %s: %w", pc.out.Name, key, err)
		}
		at = pc.s.off + pc.s.n
	}
	return nil
}

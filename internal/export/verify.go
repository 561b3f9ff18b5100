package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/nemo-migrate/nemo-migrate/internal/convert"
	"github.com/nemo-migrate/nemo-migrate/internal/nemo1"
	"github.com/nemo-migrate/nemo-migrate/internal/safetensors"
	"github.com/nemo-migrate/nemo-migrate/internal/verify"
)

// IsHF reports whether dir looks like a Hugging Face checkpoint: a
// config.json and safetensors weights.
func IsHF(dir string) bool {
	regular := func(name string) bool {
		st, err := os.Stat(filepath.Join(dir, name))
		return err == nil && st.Mode().IsRegular()
	}
	return regular("config.json") && (regular(safetensors.SingleName) || regular(safetensors.IndexName))
}

// hfFile is one opened safetensors file of an output.
type hfFile struct {
	f    *os.File
	meta *safetensors.File
}

// Verify checks the Hugging Face checkpoint in dir: config.json parses and
// names an architecture, every safetensors file parses and tiles exactly,
// the index (if any) names every tensor where it is. With a source
// (anything export reads; tok as for export), it also plans the export
// again and compares every output tensor bit for bit with its transform of
// the source (cast as the output's dtype says), and config.json with the
// config the source implies.
func Verify(ctx context.Context, dir, source string, tok convert.TargetOptions, opts verify.Options) (*verify.Report, error) {
	r := &verify.Report{}
	cfgRaw, err := verify.ReadFile(os.DirFS(dir), "config.json", verify.MaxSmallFile)
	var cfg map[string]any
	if err == nil {
		err = json.Unmarshal(cfgRaw, &cfg)
	}
	if err != nil {
		r.Add("config.json", "%v", err)
		return r, nil
	}
	files := map[string]*hfFile{}
	defer func() {
		for _, f := range files {
			f.f.Close()
		}
	}()
	where := map[string]string{} // tensor -> file
	open := func(name string) *hfFile {
		if f, ok := files[name]; ok {
			return f
		}
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			r.Add(name, "%v", err)
			return nil
		}
		st, err := f.Stat()
		if err == nil {
			var meta *safetensors.File
			if meta, err = safetensors.Read(f, st.Size()); err == nil {
				files[name] = &hfFile{f, meta}
				for _, t := range meta.Tensors {
					if prev, dup := where[t.Name]; dup {
						r.Add(t.Name, "in both %s and %s", prev, name)
					}
					where[t.Name] = name
				}
				return files[name]
			}
		}
		f.Close()
		r.Add(name, "%v", err)
		return nil
	}
	raw, err := verify.ReadFile(os.DirFS(dir), safetensors.IndexName, verify.MaxSmallFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.Add(safetensors.IndexName, "%v", err)
		return r, nil
	}
	if err == nil {
		var idx safetensors.Index
		if err := json.Unmarshal(raw, &idx); err != nil {
			r.Add(safetensors.IndexName, "%v", err)
			return r, nil
		}
		names := slices.Sorted(func(yield func(string) bool) {
			seen := map[string]bool{}
			for _, f := range idx.WeightMap {
				if !seen[f] {
					seen[f] = true
					if !yield(f) {
						return
					}
				}
			}
		})
		var total int64
		for _, name := range names {
			if filepath.Base(name) != name {
				r.Add(safetensors.IndexName, "names %q, not a file beside it", name)
				continue
			}
			if f := open(name); f != nil {
				for _, t := range f.meta.Tensors {
					total += t.Size()
				}
			}
		}
		for tname, file := range idx.WeightMap {
			if where[tname] != file {
				r.Add(tname, "the index says %s, the tensor is in %q", file, where[tname])
			}
		}
		for tname := range where {
			if _, ok := idx.WeightMap[tname]; !ok {
				r.Add(tname, "in %s but not in the index", where[tname])
			}
		}
		if idx.Metadata.TotalSize != total {
			r.Add(safetensors.IndexName, "total_size %d, the tensors hold %d bytes", idx.Metadata.TotalSize, total)
		}
	} else {
		open(safetensors.SingleName)
	}
	for _, f := range files {
		r.Tensors += len(f.meta.Tensors)
	}
	if source == "" || !r.OK() {
		return r, nil
	}

	dtype, _ := cfg["torch_dtype"].(string)
	src, err := Open(ctx, source, nemo1.Options{}, tok)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	o := Options{Output: dir}
	if dtype != "" && dtype != src.DType {
		o.DType = dtype
		r.Notes = append(r.Notes, fmt.Sprintf("the output is %s, the source %s: compared with the source cast as export casts", dtype, src.DType))
	}
	p, err := plan(src, o)
	if err != nil {
		return nil, err
	}
	for k, want := range p.Config {
		// Compared as JSON values: the file holds 3.0 where the plan has 3.
		var w any
		wj, _ := json.Marshal(pyFloats(want))
		json.Unmarshal(wj, &w)
		wj, _ = json.Marshal(w)
		gj, _ := json.Marshal(cfg[k])
		if !bytes.Equal(wj, gj) {
			r.Add("config.json", "%s is %s, the source implies %s", k, gj, wj)
		}
	}
	planned := map[string]bool{}
	for _, t := range p.Tensors {
		planned[t.Name] = true
	}
	for name := range where {
		if !planned[name] {
			r.Add(name, "not part of an export of %s", source)
		}
	}
	return r, compareTensors(ctx, p, files, where, r, opts)
}

// compareTensors streams every source tensor once and compares each of
// its ranges with the output's bytes.
func compareTensors(ctx context.Context, p *Plan, files map[string]*hfFile, where map[string]string, r *verify.Report, opts verify.Options) error {
	checked := map[string]bool{}
	start := func(t *Tensor) (int64, bool) {
		f := files[where[t.Name]]
		var st *safetensors.Tensor
		if f != nil {
			st, _ = f.meta.Tensor(t.Name)
		}
		switch {
		case st == nil:
			r.Add(t.Name, "missing from the output")
		case st.DType != safetensors.DTypeOf(t.DType) || !slices.Equal(st.Shape, t.Shape):
			r.Add(t.Name, "is %s %v, an export gives %s %v", st.DType, st.Shape, safetensors.DTypeOf(t.DType), t.Shape)
		default:
			checked[t.Name] = true
			return f.meta.HeaderSize + st.Begin, true
		}
		return 0, false
	}
	bad := map[string]bool{}
	var done int64
	want, got := make([]byte, 1<<20), make([]byte, 1<<20)
	err := stream(ctx, p.Tensors, start, func(pc piece, sr io.Reader) error {
		or := io.NewSectionReader(files[where[pc.out.Name]].f, pc.dst, pc.outBytes())
		for {
			n, err := io.ReadFull(sr, want)
			if n > 0 {
				if _, err := io.ReadFull(or, got[:n]); err != nil || !bytes.Equal(want[:n], got[:n]) {
					bad[pc.out.Name] = true
				}
				done += int64(n)
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				break
			}
			if err != nil {
				return err
			}
		}
		if opts.Progress != nil {
			opts.Progress(done, p.Bytes)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, t := range p.Tensors {
		if bad[t.Name] {
			if r.Add(t.Name, "differs from %s %s", t.Source, t.From) != nil {
				return nil
			}
		} else if checked[t.Name] {
			r.Compared++
		}
	}
	r.Bytes = done
	return nil
}

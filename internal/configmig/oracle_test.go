package configmig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// checkScript is run by Debian's Python with OmegaConf 2.2. It parses the
// generated script, resolves the YAML with OmegaConf (NeMo's multiply and
// sum resolvers registered), and checks, for every argument of the --json
// mapping, that
//   - the YAML value it records equals OmegaConf's resolved value at its key
//     (absent for a NeMo 1.0 default, ??? for a missing value);
//   - the script passes that exact value: a call with that name and the
//     same keyword arguments exists in the script's syntax tree.
//
// It prints "ok N" with the number of values compared, or the mismatches.
const checkScript = `
import ast, json, math, os, sys
from omegaconf import OmegaConf, DictConfig, ListConfig

OmegaConf.register_new_resolver("multiply", lambda x, y: x * y, replace=True)
OmegaConf.register_new_resolver("sum", lambda x, y: x + y, replace=True)

yaml_path, py_path, json_path = sys.argv[1:4]
tree = ast.parse(open(py_path).read(), py_path)
m = json.load(open(json_path))
cfg = OmegaConf.load(yaml_path)
errors = []
checked = 0
ABSENT = object()

def jval(v):
    if isinstance(v, dict) and list(v) == ["float"]:
        return float(v["float"])
    if isinstance(v, dict):
        return {k: jval(x) for k, x in v.items()}
    if isinstance(v, list):
        return [jval(x) for x in v]
    return v

def same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b

def omega(key):
    parts = key.split(".")
    parent = cfg if len(parts) == 1 else OmegaConf.select(cfg, ".".join(parts[:-1]))
    last = parts[-1]
    if isinstance(parent, DictConfig):
        if last not in list(parent.keys()):
            return ABSENT
        if OmegaConf.is_missing(parent, last):
            return "???"
    elif isinstance(parent, ListConfig):
        if int(last) >= len(parent):
            return ABSENT
    else:
        return ABSENT
    v = OmegaConf.select(cfg, key, throw_on_missing=True)
    if isinstance(v, (DictConfig, ListConfig)):
        v = OmegaConf.to_container(v, resolve=True)
    return v

def check_arg(where, a):
    global checked
    if "class" in a:
        check_call(where, a)
        return
    if isinstance(a.get("value"), list):
        for i, x in enumerate(a["value"]):
            if isinstance(x, dict) and "class" in x:
                check_call(where + "[%d]" % i, x)
    key = a.get("key")
    for k in a.get("uses", []):
        if omega(k) is ABSENT:
            errors.append("%s: uses %s, which is not in the YAML" % (where, k))
    if not key:
        return
    if a.get("default"):
        if omega(key) is not ABSENT:
            errors.append("%s: %s is in the YAML but the argument is marked as NeMo 1.0's default" % (where, key))
        checked += 1
        return
    if a.get("missing"):
        if omega(key) != "???":
            errors.append("%s: %s is not ??? in the YAML" % (where, key))
        checked += 1
        return
    if "unresolved" in a:
        if a.get("expr") and a["value"].startswith("os.environ"):
            got, want = eval(a["value"], {"os": os}), omega(key)
            if not same(got, want):
                errors.append("%s: %s reads %r from the environment, OmegaConf %r" % (where, a["value"], got, want))
            checked += 1
        else:
            try:
                v = omega(key)
                errors.append("%s: OmegaConf resolves %s to %r, but nemo-migrate left it unresolved" % (where, key, v))
            except Exception:
                pass
        return
    if a.get("expr") and "yaml" not in a:
        errors.append("%s: an expression without its YAML value" % where)
        return
    want = jval(a["yaml"]) if "yaml" in a else jval(a["value"])
    got = omega(key)
    if got is ABSENT or not same(got, want):
        errors.append("%s from %s: the mapping records %r, OmegaConf resolves %r" % (where, key, want, "<absent>" if got is ABSENT else got))
    checked += 1

def check_call(where, c):
    for name, a in c["args"].items():
        check_arg(where + "." + name, a)
    for k in c.get("from", []):
        if omega(k) is ABSENT:
            errors.append("%s: made because of %s, which is not in the YAML" % (where, k))

# The script's calls, by function name.
calls = {}
for node in ast.walk(tree):
    if isinstance(node, ast.Call):
        calls.setdefault(ast.unparse(node.func), []).append(node)

def py_value(node):
    return eval(compile(ast.Expression(node), "<arg>", "eval"), {"float": float, "__builtins__": {}})

def matches(node, a):
    if "class" in a:
        return isinstance(node, ast.Call) and call_matches(node, a)
    if a.get("expr"):
        return ast.unparse(node) == ast.unparse(ast.parse(a["value"], mode="eval").body)
    v = a["value"]
    if isinstance(v, list) and any(isinstance(x, dict) and "class" in x for x in v):
        return isinstance(node, ast.List) and len(node.elts) == len(v) and all(matches(e, x) for e, x in zip(node.elts, v))
    try:
        return same(py_value(node), jval(v))
    except Exception:
        return False

def call_matches(node, c):
    if ast.unparse(node.func) != c["class"] or node.args:
        return False
    kws = [(k.arg, k.value) for k in node.keywords]
    if [k for k, _ in kws] != list(c["args"]):
        return False
    return all(matches(v, c["args"][k]) for k, v in kws)

def find(c, where):
    if not any(call_matches(n, c) for n in calls.get(c["class"], [])):
        errors.append("%s: the script has no %s(...) call with the mapping's arguments" % (where, c["class"]))

for section in ["strategy", "trainer", "precision", "optim", "logger", "resume", "data", "tokenizer", "peft", "model"]:
    c = m[section]
    if c is None:
        continue
    check_call(section, c)
    find(c, section)
    for name, a in c.get("config_overrides", {}).items():
        check_arg(section + ".config." + name, a)
        found = any(isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "model.config." + name and matches(n.value, a)
                    for n in ast.walk(tree))
        if not found:
            errors.append("model.config.%s: no matching assignment in the script" % name)
for i, c in enumerate(m["callbacks"]):
    check_call("callbacks[%d]" % i, c)
    find(c, "callbacks[%d]" % i)

recipe = calls.get("llm." + m["recipe"], [])
if len(recipe) != 1:
    errors.append("the script does not call llm.%s once" % m["recipe"])
if errors:
    print("\n".join(errors))
    sys.exit(1)
print("ok", checked)
`

// TestScriptsAgainstOmegaConf runs checkScript on every testdata config:
// the generated Python parses, and every value in it is the value OmegaConf
// resolves from the YAML.
func TestScriptsAgainstOmegaConf(t *testing.T) {
	t.Setenv("INDEX_CACHE", "/cache/from-env")
	dir := t.TempDir()
	for _, f := range configs(t) {
		_, py, js := render(t, f)
		base := strings.TrimSuffix(filepath.Base(f), ".yaml")
		pyPath, jsPath := filepath.Join(dir, base+".py"), filepath.Join(dir, base+".json")
		if err := os.WriteFile(pyPath, py, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(jsPath, js, 0o644); err != nil {
			t.Fatal(err)
		}
		out, stderr, err := oracle.RunErr(t, []string{"omegaconf"}, checkScript, f, pyPath, jsPath)
		if err != nil {
			t.Errorf("%s:\n%s%s", f, out, stderr)
			continue
		}
		if !strings.HasPrefix(string(out), "ok ") || strings.TrimSpace(string(out)) == "ok 0" {
			t.Errorf("%s: %s", f, out)
		}
		t.Logf("%s: %s", f, strings.TrimSpace(string(out)))
	}
}

// TestPublishedConfigs runs the same check on a directory of NeMo's own
// YAML configs, when NEMO_MIGRATE_NEMO_CONFIGS names one (for example the
// examples/nlp/language_modeling/conf files of a NeMo checkout); files that
// are refused (other families, not training configs) are counted, and
// their messages logged with -v.
func TestPublishedConfigs(t *testing.T) {
	dir := os.Getenv("NEMO_MIGRATE_NEMO_CONFIGS")
	if dir == "" {
		t.Skip("NEMO_MIGRATE_NEMO_CONFIGS is not set")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	tmp := t.TempDir()
	n, refused := 0, 0
	for _, f := range files {
		m, err := Load(f, nil)
		if err != nil {
			var ne *NotNeMoError
			var re *RefusedError
			if !errors.As(err, &ne) && !errors.As(err, &re) {
				t.Errorf("%s: %v", f, err)
			}
			t.Logf("refused: %v", err)
			refused++
			continue
		}
		checkAccounted(t, f, m)
		checkExclusive(t, f, m)
		checkClassFields(t, f, m)
		py, js := write(t, f, m)
		pyPath, jsPath := filepath.Join(tmp, "s.py"), filepath.Join(tmp, "s.json")
		os.WriteFile(pyPath, py, 0o644)
		os.WriteFile(jsPath, js, 0o644)
		out, stderr, err := oracle.RunErr(t, []string{"omegaconf"}, checkScript, f, pyPath, jsPath)
		if err != nil {
			t.Errorf("%s:\n%s%s", f, out, stderr)
		}
		n++
	}
	t.Logf("%d configs checked, %d refused", n, refused)
}

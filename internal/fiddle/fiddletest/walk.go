// Package fiddletest checks fiddle JSON files in tests the way fiddle's
// deserializer reads them, with a Python script run through
// internal/oracle (Python's json module only: fiddle itself is not a test
// dependency).
package fiddletest

import (
	"encoding/json"
	"testing"

	"github.com/nemo-migrate/nemo-migrate/internal/oracle"
)

// WalkScript walks a fiddle JSON file (argv[1]) as
// fiddle._src.experimental.serialization.Deserialization does: from the
// root, following refs into "objects" (each object deserialized once),
// resolving pyrefs, leaves and traversable objects, and checking on the
// way what the deserializer and NeMo's io.load_context rely on:
//
//   - the top level is exactly root, objects, refcounts, version "0.0.1";
//   - every ref resolves, every object is reached, and refcounts equal the
//     number of refs to each object;
//   - every object's type is a pyref (io.load_context imports each);
//   - a Buildable (fiddle or nemo_run Config/Partial) has a
//     BuildableTraverserMetadata whose argument_names match its items;
//     a dict's metadata lists its keys; a list's and tuple's is null;
//   - values outside metadata carry paths, values inside do not.
//
// It prints a JSON report: for every path of a Buildable, the configured
// class and its arguments (leaf values as JSON, pyrefs as "pyref:<dotted>",
// objects as "obj:<dotted class>").
const WalkScript = `
import json, sys

doc = json.load(open(sys.argv[1]))
assert sorted(doc) == ["objects", "refcounts", "root", "version"], sorted(doc)
assert doc["version"] == "0.0.1", doc["version"]
objects, refcounts = doc["objects"], doc["refcounts"]
BUILDABLES = {("fiddle._src.config", "Config"), ("fiddle._src.partial", "Partial"),
              ("nemo_run.config", "Config"), ("nemo_run.config", "Partial")}
BTM = ("fiddle._src.config", "BuildableTraverserMetadata")
counts, memo, report = {}, {}, {}

def pyref(v):
    assert isinstance(v, dict) and v.get("type") == "pyref", "not a pyref: %r" % (v,)
    assert isinstance(v["module"], str) and v["module"] and isinstance(v["name"], str) and v["name"], v
    return (v["module"], v["name"])

def dotted(r):
    return r[0] + "." + r[1]

def des(v, meta):
    if isinstance(v, list):
        return [des(x, meta) for x in v]
    if not isinstance(v, dict):
        assert meta, "bare primitive %r outside metadata" % (v,)
        return ("prim", v)
    t = v["type"]
    if t == "ref":
        k = v["key"]
        assert k in objects, "ref %r does not resolve" % k
        counts[k] = counts.get(k, 0) + 1
        if k not in memo:
            memo[k] = des(objects[k], meta)
        return memo[k]
    if t == "pyref":
        return ("pyref", pyref(v))
    if t == "leaf":
        assert not meta and isinstance(v["paths"], list), v
        return ("leaf", v["value"])
    typ = pyref(t)
    assert ("paths" in v) != meta, "paths on %r (metadata: %s)" % (typ, meta)
    items = v["items"]
    assert all(isinstance(i, list) and len(i) == 2 and isinstance(i[0], str) for i in items), items
    vals = [des(i[1], meta) for i in items]
    md = des(v["metadata"], True)
    reprs = [i[0] for i in items]
    if typ in BUILDABLES:
        assert md[0] == "obj" and md[1] == BTM, "buildable without BuildableTraverserMetadata: %r" % (md,)
        fields = dict(zip([r[len("Attr(name='"):-2] for r in md[2]], md[3]))
        assert list(fields) == ["fn_or_cls", "argument_names", "argument_tags", "argument_history"], fields
        fn = fields["fn_or_cls"]
        assert fn[0] == "pyref", fn
        names = fields["argument_names"]
        names = [] if names[0] == "obj" and names[2] == [] else [x[1] for x in names[3]]
        assert reprs == ["Attr(name=%r)" % n for n in names], (reprs, names)
        out = ("buildable", fn[1], names, vals)
        for p in v["paths"]:
            report[p] = {"class": dotted(fn[1]), "type": dotted(typ), "args": {n: show(x) for n, x in zip(names, vals)}}
        return out
    if typ == ("builtins", "dict"):
        keys = [] if md[0] == "obj" and md[3] == [] else [x[1] for x in md[3]]
        assert reprs == ["Key(key=%r)" % k for k in keys], (reprs, keys)
    elif typ in (("builtins", "list"), ("builtins", "tuple")):
        assert md == ("prim", None), md
        assert reprs == ["Index(index=%d)" % i for i in range(len(vals))], reprs
    elif typ == BTM:
        assert md[0] == "pyref" and md[1] == BTM, md
    return ("obj", typ, reprs, vals, md)

def show(x):
    if x[0] in ("leaf", "prim"):
        return x[1]
    if x[0] == "pyref":
        return "pyref:" + dotted(x[1])
    if x[0] == "buildable":
        return "obj:" + dotted(x[1])
    return "obj:" + dotted(x[1])

root = des(doc["root"], False)
assert root[0] in ("buildable", "obj"), root[0]
assert set(counts) == set(objects), "objects never referenced: %r" % (set(objects) - set(counts))
assert counts == refcounts, "refcounts %r, counted %r" % (refcounts, counts)
print(json.dumps(report, sort_keys=True))
`

// Object is what the walk reports for the Buildable at one path.
type Object struct {
	Class string         `json:"class"` // the configured class, dotted
	Type  string         `json:"type"`  // the Buildable's own class
	Args  map[string]any `json:"args"`
}

// Walk runs WalkScript on the fiddle JSON file at path and returns the
// Buildables found, by path. The test fails if the walk finds a problem,
// and is skipped when Python is unavailable (see package oracle).
func Walk(t testing.TB, path string) map[string]Object {
	t.Helper()
	out := oracle.Run(t, nil, WalkScript, path)
	var report map[string]Object
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("walk report: %v\n%s", err, out)
	}
	return report
}

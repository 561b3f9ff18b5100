package omegaconf

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// Options control [Resolve].
type Options struct {
	// Env looks up an environment variable for ${oc.env:NAME,default}.
	// When nil, such interpolations are left unresolved (with EnvVar set),
	// so that a migration does not bake the converting machine's
	// environment into its output.
	Env func(name string) (string, bool)
}

// InterpolationError says why an interpolation was left unresolved.
type InterpolationError struct {
	// Path is the dotted key of the value ("model.data.seq_length").
	Path         string
	Line, Column int
	Expr         string // the interpolation as written
	Reason       string
	// EnvVar is set when the value is exactly ${oc.env:NAME} or
	// ${oc.env:NAME,default} and only the environment was not read.
	EnvVar *EnvRef
}

// EnvRef is an environment variable an interpolation reads.
type EnvRef struct {
	Name string
	// Default is the value used when the variable is unset, already
	// converted as oc.env does (a string, or null); nil when there is none.
	Default *Node
}

func (e *InterpolationError) Error() string {
	return fmt.Sprintf("%d:%d: %s: cannot resolve %s: %s", e.Line, e.Column, e.Path, e.Expr, e.Reason)
}

// maxResolveDepth bounds chains of interpolations referring to
// interpolations.
const maxResolveDepth = 2000

// errTooLarge ends a resolution that would exceed the size limits.
var errTooLarge = errors.New("the config grows too large while resolving interpolations")

// Resolve returns a copy of root with every interpolation it can resolve
// replaced by its value, as OmegaConf.to_container(cfg, resolve=True)
// would give, and the interpolations it left unresolved, in document
// order. A value copied from another section by ${...} is a deep copy that
// keeps the positions of the values it copies. The error is non-nil only
// when the config grows past the size limits.
func Resolve(root *Node, opts *Options) (*Node, []*InterpolationError, error) {
	if opts == nil {
		opts = &Options{}
	}
	r := &resolver{
		opts:   opts,
		parent: map[*Node]*Node{},
		path:   map[*Node]string{},
		state:  map[*Node]uint8{},
		cache:  map[string][]piece{},
	}
	var err error
	r.root, err = r.copyRaw(root, nil, "")
	if err != nil {
		return nil, nil, err
	}
	var walkErr error
	Walk(r.root, func(path string, n *Node) bool {
		if walkErr != nil {
			return false
		}
		if r.pending(n) {
			if _, err := r.resolveNode(n); errors.Is(err, errTooLarge) {
				walkErr = err
			}
		}
		return true
	})
	if walkErr != nil {
		return nil, nil, walkErr
	}
	sort.SliceStable(r.errs, func(i, j int) bool {
		a, b := r.errs[i], r.errs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return r.root, r.errs, nil
}

const (
	stPending uint8 = iota + 1
	stActive
	stDone
)

type resolver struct {
	opts   *Options
	root   *Node
	parent map[*Node]*Node
	path   map[*Node]string
	state  map[*Node]uint8 // interpolation nodes of the tree
	active []*Node         // interpolations being resolved, outermost first
	errs   []*InterpolationError
	nodes  int
	cache  map[string][]piece
}

func (r *resolver) count() error {
	r.nodes++
	if r.nodes > maxNodes {
		return errTooLarge
	}
	return nil
}

// copyRaw copies the parsed tree, recording parents and paths and marking
// interpolations as pending.
func (r *resolver) copyRaw(n *Node, parent *Node, path string) (*Node, error) {
	if err := r.count(); err != nil {
		return nil, err
	}
	c := &Node{Kind: n.Kind, Bool: n.Bool, Int: n.Int, Float: n.Float, Str: n.Str, Line: n.Line, Column: n.Column, Expr: n.Expr, Unresolved: n.Unresolved}
	r.parent[c] = parent
	r.path[c] = path
	if c.IsInterpolation() && c.Expr == "" {
		c.Expr = c.Str
		r.state[c] = stPending
	}
	switch n.Kind {
	case Map:
		c.Entries = make([]*Entry, len(n.Entries))
		for i, e := range n.Entries {
			v, err := r.copyRaw(e.Value, c, join(path, e.Key))
			if err != nil {
				return nil, err
			}
			ce := *e
			ce.Value = v
			c.Entries[i] = &ce
		}
	case List:
		c.Items = make([]*Node, len(n.Items))
		for i, it := range n.Items {
			v, err := r.copyRaw(it, c, join(path, strconv.Itoa(i)))
			if err != nil {
				return nil, err
			}
			c.Items[i] = v
		}
	}
	return c, nil
}

func (r *resolver) pending(n *Node) bool { return r.state[n] == stPending }

// resolveNode resolves the tree node n in place if it is an interpolation
// and returns it. When n cannot be resolved the error is a *depError, or
// a plain error for a cycle through a value being resolved now.
func (r *resolver) resolveNode(n *Node) (*Node, error) {
	if n.Unresolved != nil {
		return nil, &depError{cause: n.Unresolved}
	}
	switch r.state[n] {
	case 0, stDone:
		return n, nil
	case stActive:
		var chain []string
		for i, a := range r.active {
			if a == n {
				for _, b := range r.active[i:] {
					chain = append(chain, r.path[b])
				}
				break
			}
		}
		chain = append(chain, r.path[n])
		return nil, fmt.Errorf("interpolation cycle: %s", strings.Join(chain, " -> "))
	}
	if len(r.active) >= maxResolveDepth {
		return nil, fmt.Errorf("interpolations refer to interpolations more than %d levels deep", maxResolveDepth)
	}
	r.state[n] = stActive
	r.active = append(r.active, n)
	v, err := r.evalConfigValue(n)
	if err == nil && (v.Kind == Map || v.Kind == List) {
		err = r.deepResolve(v)
	}
	if err == nil {
		err = r.assign(n, v)
	}
	r.active = r.active[:len(r.active)-1]
	r.state[n] = stDone
	if err == nil {
		return n, nil
	}
	if errors.Is(err, errTooLarge) {
		return nil, err
	}
	ie := &InterpolationError{Path: r.path[n], Line: n.Line, Column: n.Column, Expr: n.Expr, Reason: err.Error()}
	var ee *envError
	if errors.As(err, &ee) && ee.whole {
		ie.EnvVar = ee.ref
	}
	n.Kind, n.Str, n.Unresolved = String, n.Expr, ie
	n.Entries, n.Items = nil, nil
	r.errs = append(r.errs, ie)
	return nil, &depError{cause: ie}
}

// depError is a value that depends on an unresolved one.
type depError struct {
	cause *InterpolationError
}

func (e *depError) Error() string {
	return fmt.Sprintf("it refers to %s, which is unresolved: %s", e.cause.Path, e.cause.Reason)
}

// assign stores value v in tree node n, keeping n's position and Expr.
func (r *resolver) assign(n, v *Node) error {
	n.Kind, n.Bool, n.Int, n.Float, n.Str = v.Kind, v.Bool, v.Int, v.Float, v.Str
	n.Entries, n.Items = nil, nil
	switch v.Kind {
	case Map:
		n.Entries = make([]*Entry, len(v.Entries))
		for i, e := range v.Entries {
			c, err := r.clone(e.Value)
			if err != nil {
				return err
			}
			ce := *e
			ce.Value = c
			n.Entries[i] = &ce
		}
	case List:
		n.Items = make([]*Node, len(v.Items))
		for i, it := range v.Items {
			c, err := r.clone(it)
			if err != nil {
				return err
			}
			n.Items[i] = c
		}
	}
	return nil
}

// clone deep-copies a resolved value.
func (r *resolver) clone(v *Node) (*Node, error) {
	if err := r.count(); err != nil {
		return nil, err
	}
	c := *v
	if err := r.assign(&c, v); err != nil {
		return nil, err
	}
	return &c, nil
}

// deepResolve resolves every interpolation under container n. Values
// that stay unresolved stay in the container; a cycle back into a value
// being resolved now, or the size limit, ends it with an error.
func (r *resolver) deepResolve(n *Node) error {
	if _, err := r.resolveNode(n); err != nil {
		var de *depError
		if errors.As(err, &de) {
			return nil
		}
		return err
	}
	switch n.Kind {
	case Map:
		for _, e := range n.Entries {
			if err := r.deepResolve(e.Value); err != nil {
				return err
			}
		}
	case List:
		for _, it := range n.Items {
			if err := r.deepResolve(it); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *resolver) parse(s string) ([]piece, error) {
	if p, ok := r.cache[s]; ok {
		return p, nil
	}
	p, err := parseConfigValue(s)
	if err != nil {
		return nil, fmt.Errorf("OmegaConf cannot parse it: %v", err)
	}
	r.cache[s] = p
	return p, nil
}

// ctx is where an expression is evaluated: the tree node whose value it
// is, whose parent anchors relative keys.
type ctx struct {
	node *Node
}

func (r *resolver) evalConfigValue(n *Node) (*Node, error) {
	pieces, err := r.parse(n.Expr)
	if err != nil {
		return nil, err
	}
	c := ctx{node: n}
	return r.evalText(c, pieces, false)
}

func (r *resolver) scalar(c ctx, k Kind) *Node {
	return &Node{Kind: k, Line: c.node.Line, Column: c.node.Column}
}

func (r *resolver) str(c ctx, s string) (*Node, error) {
	if len(s) > maxStringLen {
		return nil, fmt.Errorf("the resulting string is longer than %d bytes", maxStringLen)
	}
	n := r.scalar(c, String)
	n.Str = s
	return n, nil
}

// evalText evaluates a config string or quoted text: a lone interpolation
// gives its value as is; anything else is a string.
func (r *resolver) evalText(c ctx, pieces []piece, quoted bool) (*Node, error) {
	if len(pieces) == 1 && pieces[0].inter != nil {
		return r.evalInterp(c, pieces[0].inter)
	}
	return r.concat(c, pieces, func(i int) string {
		var next *piece
		if i+1 < len(pieces) {
			next = &pieces[i+1]
		}
		return unescape(pieces[i].tok, next, quoted)
	})
}

// concat evaluates pieces as one string: each interpolation by its str(),
// each token i as text(i) gives it.
func (r *resolver) concat(c ctx, pieces []piece, text func(i int) string) (*Node, error) {
	var b strings.Builder
	for i, p := range pieces {
		if p.inter != nil {
			v, err := r.evalInterp(c, p.inter)
			if err != nil {
				return nil, err
			}
			b.WriteString(pyStr(v))
		} else {
			b.WriteString(text(i))
		}
		if b.Len() > maxStringLen {
			return nil, fmt.Errorf("the resulting string is longer than %d bytes", maxStringLen)
		}
	}
	return r.str(c, b.String())
}

// unescape gives a token's text as OmegaConf's GrammarVisitor._unescape
// does.
func unescape(t token, next *piece, quoted bool) string {
	nextInter := next != nil && next.inter != nil
	switch {
	case t.typ == tEscInter:
		return t.text[len(t.text)-(len(t.text)/2+1):]
	case t.typ == tEsc,
		t.typ == tTopEsc && nextInter,
		t.typ == tQuotedEsc && (next == nil || nextInter):
		var b strings.Builder
		for i := 1; i < len(t.text); i += 2 {
			b.WriteByte(t.text[i])
		}
		return b.String()
	}
	return t.text
}

// joinPieces is the text of a key path or a resolver name: its tokens as
// written and its nested interpolations by their values, which must be
// strings; notString is the error's format, given the kind, for one that
// is not.
func (r *resolver) joinPieces(c ctx, ps []piece, notString string) (string, error) {
	var b strings.Builder
	for _, p := range ps {
		if p.inter == nil {
			b.WriteString(p.tok.text)
			continue
		}
		v, err := r.evalInterp(c, p.inter)
		if err != nil {
			return "", err
		}
		if v.Kind != String {
			return "", fmt.Errorf(notString, v.Kind)
		}
		b.WriteString(v.Str)
	}
	return b.String(), nil
}

func (r *resolver) evalInterp(c ctx, in *interp) (*Node, error) {
	if in.resolver {
		return r.evalResolver(c, in)
	}
	key, err := r.joinPieces(c, in.key, "an interpolation used as a key gives a %s, not a string")
	if err != nil {
		return nil, err
	}
	v, err := r.selectNode(r.parent[c.node], key)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("interpolation key '%s' not found", key)
	}
	if v.Kind == Missing {
		return nil, fmt.Errorf("'%s' is ??? (a mandatory value that is not set)", key)
	}
	return v, nil
}

// selectNode finds key as OmegaConf's select does from container base:
// a key starting with dots is relative to base (each further dot goes one
// level up), any other key is relative to the root. It returns nil when
// the key does not exist.
func (r *resolver) selectNode(base *Node, key string) (*Node, error) {
	root := r.root
	if strings.HasPrefix(key, ".") {
		root = base
		orig := key
		for {
			key = key[1:]
			if !strings.HasPrefix(key, ".") {
				break
			}
			root = r.parent[root]
			if root == nil {
				return nil, fmt.Errorf("relative key '%s' goes above the top of the config", orig)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("key '%s' has no container to look in", key)
	}
	if key == "" {
		return root, nil
	}
	cur := root
	parts := splitKey(key)
	for i, k := range parts {
		var next *Node
		switch cur.Kind {
		case Map:
			next = cur.Get(k)
		case List:
			idx, ok := pyInt(k)
			if !ok {
				return nil, fmt.Errorf("index '%s' of list '%s' is not an int", k, strings.Join(parts[:i], "."))
			}
			if idx >= 0 && idx < len(cur.Items) {
				next = cur.Items[idx]
			}
		default:
			return nil, fmt.Errorf("'%s' is not a container and thus cannot contain '%s'", strings.Join(parts[:i], "."), k)
		}
		if next == nil {
			return nil, nil
		}
		if _, err := r.resolveNode(next); err != nil {
			return nil, err
		}
		cur = next
	}
	return cur, nil
}

// splitKey splits an interpolation key as OmegaConf's split_key does:
// "a.b" and "a[b]" both give [a b].
func splitKey(key string) []string {
	i := 0
	for i < len(key) && key[i] == '.' {
		i++
	}
	for i < len(key) && key[i] != '.' && key[i] != '[' {
		i++
	}
	toks := strings.Split(key[:i], ".")
	if i == len(key) {
		return toks
	}
	if key[i] == '[' && toks[len(toks)-1] == "" {
		toks = toks[:len(toks)-1]
	}
	rest := key[i:]
	for j := 0; j < len(rest); {
		switch rest[j] {
		case '.':
			k := j + 1
			for k < len(rest) && rest[k] != '.' && rest[k] != '[' {
				k++
			}
			toks = append(toks, rest[j+1:k])
			j = k
		case '[':
			end := strings.IndexByte(rest[j+1:], ']')
			if end < 0 {
				j++
				continue
			}
			toks = append(toks, rest[j+1:j+1+end])
			j += end + 2
		default:
			j++
		}
	}
	return toks
}

// pyInt parses a list index as Python's int(str) does.
func pyInt(s string) (int, bool) {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' {
			continue
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > math.MaxInt32 {
			n = math.MaxInt32
			continue
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// evalPrimitive evaluates a primitive (or dict key): one token is typed,
// several are concatenated as a string.
func (r *resolver) evalPrimitive(c ctx, pieces []piece) (*Node, error) {
	if len(pieces) == 1 {
		p := pieces[0]
		if p.inter != nil {
			return r.evalInterp(c, p.inter)
		}
		t := p.tok
		switch t.typ {
		case tNull:
			return r.scalar(c, Null), nil
		case tBool:
			n := r.scalar(c, Bool)
			n.Bool = strings.EqualFold(t.text, "true")
			return n, nil
		case tInt:
			z, ok := new(big.Int).SetString(strings.ReplaceAll(strings.TrimPrefix(t.text, "+"), "_", ""), 10)
			if !ok {
				return nil, fmt.Errorf("invalid int %q", t.text)
			}
			n := r.scalar(c, Int)
			n.Int = z
			return n, nil
		case tFloat:
			f, err := parsePyFloat(strings.ReplaceAll(t.text, "_", ""))
			if err != nil {
				return nil, fmt.Errorf("invalid float %q", t.text)
			}
			n := r.scalar(c, Float)
			n.Float = f
			return n, nil
		case tEsc:
			return r.str(c, unescape(t, nil, false))
		}
		return r.str(c, t.text)
	}
	return r.concat(c, pieces, func(i int) string { return unescape(pieces[i].tok, nil, false) })
}

// evalElement evaluates a resolver argument or oc.decode input.
func (r *resolver) evalElement(c ctx, e *element) (*Node, error) {
	if err := r.count(); err != nil {
		return nil, err
	}
	switch {
	case e.empty:
		return r.str(c, "")
	case e.kind == elPrimitive:
		return r.evalPrimitive(c, e.pieces)
	case e.kind == elQuoted:
		if len(e.pieces) == 0 {
			return r.str(c, "")
		}
		v, err := r.evalText(c, e.pieces, true)
		if err != nil {
			return nil, err
		}
		return r.str(c, pyStr(v))
	case e.kind == elList:
		n := r.scalar(c, List)
		for _, it := range e.items {
			v, err := r.evalElement(c, it)
			if err != nil {
				return nil, err
			}
			if v, err = r.value(v); err != nil {
				return nil, err
			}
			n.Items = append(n.Items, v)
		}
		return n, nil
	}
	n := r.scalar(c, Map)
	for i, kp := range e.keys {
		k, err := r.evalPrimitive(c, kp)
		if err != nil {
			return nil, err
		}
		v, err := r.evalElement(c, e.items[i])
		if err != nil {
			return nil, err
		}
		if v, err = r.value(v); err != nil {
			return nil, err
		}
		name, kind := keyName(k)
		if old := n.entry(name); old != nil && old.KeyKind == kind {
			old.Value = v
			continue
		}
		n.Entries = append(n.Entries, &Entry{Key: name, KeyKind: kind, Line: c.node.Line, Column: c.node.Column, Value: v})
	}
	return n, nil
}

// value turns a tree node used as a value into a free-standing copy.
func (r *resolver) value(v *Node) (*Node, error) {
	if _, inTree := r.parent[v]; !inTree {
		return v, nil
	}
	if v.Kind == Map || v.Kind == List {
		if err := r.deepResolve(v); err != nil {
			return nil, err
		}
	}
	return r.clone(v)
}

// envError is an oc.env interpolation left unresolved because the
// environment is not read.
type envError struct {
	ref   *EnvRef
	whole bool // the interpolation is exactly this oc.env call
}

func (e *envError) Error() string {
	return fmt.Sprintf("it reads the environment variable %s, which nemo-migrate does not read at conversion time", e.ref.Name)
}

func (r *resolver) evalResolver(c ctx, in *interp) (*Node, error) {
	name, err := r.joinPieces(c, in.name, "a resolver name must be a string, not a %s")
	if err != nil {
		return nil, err
	}
	switch name {
	case "gpu_name":
		return nil, errors.New("the gpu_name resolver names the GPU of the machine that runs the job")
	case "hydra", "now":
		return nil, fmt.Errorf("the %s resolver is filled in by Hydra when the job starts", name)
	case "oc.create", "oc.dict.keys", "oc.dict.values":
		return nil, fmt.Errorf("the %s resolver is not supported by nemo-migrate", name)
	case "multiply", "sum", "oc.env", "oc.select", "oc.decode", "oc.deprecated":
	default:
		return nil, fmt.Errorf("unknown resolver %q (NeMo registers multiply, sum and gpu_name; OmegaConf the oc.* ones)", name)
	}
	args := make([]*Node, len(in.args))
	for i, a := range in.args {
		v, err := r.evalElement(c, a)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	arity := func(lo, hi int) error {
		if len(args) < lo || len(args) > hi {
			if lo == hi {
				return fmt.Errorf("%s takes %d arguments, got %d", name, lo, len(args))
			}
			return fmt.Errorf("%s takes %d to %d arguments, got %d", name, lo, hi, len(args))
		}
		return nil
	}
	switch name {
	case "multiply", "sum":
		if err := arity(2, 2); err != nil {
			return nil, err
		}
		if name == "multiply" {
			return r.mul(c, args[0], args[1])
		}
		return r.add(c, args[0], args[1])
	case "oc.env":
		if err := arity(1, 2); err != nil {
			return nil, err
		}
		if args[0].Kind != String {
			return nil, fmt.Errorf("oc.env takes a variable name, not a %s", args[0].Kind)
		}
		ref := &EnvRef{Name: args[0].Str}
		if len(args) == 2 {
			ref.Default = args[1]
			if args[1].Kind != Null {
				d, err := r.str(c, pyStr(args[1]))
				if err != nil {
					return nil, err
				}
				ref.Default = d
			}
		}
		if r.opts.Env == nil {
			return nil, &envError{ref: ref, whole: c.node.Expr != "" && r.isWholeEnv(c.node.Expr)}
		}
		if v, ok := r.opts.Env(ref.Name); ok {
			return r.str(c, v)
		}
		if ref.Default != nil {
			return ref.Default, nil
		}
		return nil, fmt.Errorf("environment variable '%s' not found", ref.Name)
	case "oc.select":
		if err := arity(1, 2); err != nil {
			return nil, err
		}
		if args[0].Kind != String {
			return nil, fmt.Errorf("oc.select takes a key, not a %s", args[0].Kind)
		}
		v, err := r.selectNode(r.parent[c.node], args[0].Str)
		if err != nil && strings.Contains(err.Error(), "is not a container") {
			v, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		if v == nil || v.Kind == Missing {
			if len(args) == 2 {
				return args[1], nil
			}
			return r.scalar(c, Null), nil
		}
		return v, nil
	case "oc.decode":
		if err := arity(1, 1); err != nil {
			return nil, err
		}
		switch args[0].Kind {
		case Null:
			return r.scalar(c, Null), nil
		case String:
		default:
			return nil, fmt.Errorf("oc.decode can only take strings or None as input, not a %s", args[0].Kind)
		}
		e, err := parseSingleElement(args[0].Str)
		if err != nil {
			return nil, fmt.Errorf("oc.decode cannot parse %q: %v", args[0].Str, err)
		}
		return r.evalElement(c, e)
	default: // oc.deprecated
		if err := arity(1, 2); err != nil {
			return nil, err
		}
		if args[0].Kind != String {
			return nil, fmt.Errorf("oc.deprecated takes a key, not a %s", args[0].Kind)
		}
		v, err := r.selectNode(r.parent[c.node], args[0].Str)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return nil, fmt.Errorf("in oc.deprecated: key not found: '%s'", args[0].Str)
		}
		return v, nil
	}
}

// isWholeEnv reports whether expr is one ${oc.env:...} call and nothing
// else.
func (r *resolver) isWholeEnv(expr string) bool {
	p, err := r.parse(expr)
	return err == nil && len(p) == 1 && p[0].inter != nil && p[0].inter.resolver &&
		len(p[0].inter.name) == 3 && p[0].inter.name[0].tok.text == "oc" && p[0].inter.name[2].tok.text == "env"
}

// pyType is Python's type name of a value, for error messages.
func pyType(n *Node) string {
	switch n.Kind {
	case Null:
		return "NoneType"
	case String, Missing:
		return "str"
	case List:
		return "ListConfig"
	case Map:
		return "DictConfig"
	}
	return n.Kind.String()
}

func isNumber(n *Node) bool { return n.Kind == Bool || n.Kind == Int || n.Kind == Float }

func bigOf(n *Node) *big.Int {
	if n.Kind == Bool {
		if n.Bool {
			return newInt(1)
		}
		return newInt(0)
	}
	return n.Int
}

func floatOf(n *Node) (float64, error) {
	if n.Kind == Float {
		return n.Float, nil
	}
	f, _ := new(big.Float).SetInt(bigOf(n)).Float64()
	if math.IsInf(f, 0) {
		return 0, errors.New("int too large to convert to float")
	}
	return f, nil
}

// arith applies a Python numeric operator to two numbers.
func (r *resolver) arith(c ctx, a, b *Node, op byte) (*Node, error) {
	if a.Kind == Float || b.Kind == Float {
		x, err := floatOf(a)
		if err != nil {
			return nil, err
		}
		y, err := floatOf(b)
		if err != nil {
			return nil, err
		}
		n := r.scalar(c, Float)
		if op == '*' {
			n.Float = x * y
		} else {
			n.Float = x + y
		}
		return n, nil
	}
	z := new(big.Int)
	if op == '*' {
		if bigOf(a).BitLen()+bigOf(b).BitLen() > maxIntBits {
			return nil, errors.New("the product is too large")
		}
		z.Mul(bigOf(a), bigOf(b))
	} else {
		z.Add(bigOf(a), bigOf(b))
	}
	n := r.scalar(c, Int)
	n.Int = z
	return n, nil
}

// mul is NeMo's multiply resolver: Python's x * y.
func (r *resolver) mul(c ctx, a, b *Node) (*Node, error) {
	if isNumber(a) && isNumber(b) {
		return r.arith(c, a, b, '*')
	}
	s, k := a, b
	if b.Kind == String {
		s, k = b, a
	}
	if s.Kind == String && (k.Kind == Int || k.Kind == Bool) {
		times := bigOf(k)
		if times.Sign() <= 0 || s.Str == "" {
			return r.str(c, "")
		}
		if !times.IsInt64() || times.Int64() > int64(maxStringLen/len(s.Str)) {
			return nil, fmt.Errorf("the resulting string is longer than %d bytes", maxStringLen)
		}
		return r.str(c, strings.Repeat(s.Str, int(times.Int64())))
	}
	l, k := a, b
	if b.Kind == List {
		l, k = b, a
	}
	if _, inTree := r.parent[l]; l.Kind == List && !inTree && (k.Kind == Int || k.Kind == Bool) {
		// A list written in the resolver call is a Python list, which
		// repeats; a ListConfig from the config does not support *.
		n := r.scalar(c, List)
		times := bigOf(k)
		if times.Sign() <= 0 || len(l.Items) == 0 {
			return n, nil
		}
		if !times.IsInt64() || times.Int64() > int64(maxNodes/len(l.Items)) {
			return nil, errors.New("the resulting list is too long")
		}
		for range times.Int64() {
			for _, it := range l.Items {
				v, err := r.clone(it)
				if err != nil {
					return nil, err
				}
				n.Items = append(n.Items, v)
			}
		}
		return n, nil
	}
	return nil, fmt.Errorf("multiply: unsupported operand types for *: '%s' and '%s'", pyType(a), pyType(b))
}

// add is NeMo's sum resolver: Python's x + y.
func (r *resolver) add(c ctx, a, b *Node) (*Node, error) {
	if isNumber(a) && isNumber(b) {
		return r.arith(c, a, b, '+')
	}
	if a.Kind == String && b.Kind == String {
		return r.str(c, a.Str+b.Str)
	}
	if a.Kind == List && b.Kind == List {
		n := r.scalar(c, List)
		for _, it := range append(append([]*Node(nil), a.Items...), b.Items...) {
			v, err := r.value(it)
			if err != nil {
				return nil, err
			}
			if v == it {
				if v, err = r.clone(it); err != nil {
					return nil, err
				}
			}
			n.Items = append(n.Items, v)
		}
		return n, nil
	}
	return nil, fmt.Errorf("sum: unsupported operand types for +: '%s' and '%s'", pyType(a), pyType(b))
}

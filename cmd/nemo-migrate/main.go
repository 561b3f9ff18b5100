// Command nemo-migrate migrates NVIDIA NeMo 1.0 checkpoints and configs to
// NeMo 2.0, natively: no Python, no PyTorch, no GPU.
//
// The command stays thin: flags, progress and exit codes live here; the
// formats and the conversion live in the internal packages.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
)

const usage = `nemo-migrate moves NVIDIA NeMo 1.0 checkpoints and configs to NeMo 2.0.

Usage:
  nemo-migrate <command> [flags]

Commands:
  convert     turn a NeMo 1.0 checkpoint into a NeMo 2.0 checkpoint directory
  inspect     describe a checkpoint: form, backend, tensors, objects
  config      turn a NeMo 1.0 YAML config into NeMo 2.0 Python
  models      list the supported model ids and their NeMo 2.0 configs
  verify      prove a NeMo 2.0 checkpoint loads and matches its source
  export      write a NeMo 1.0 or 2.0 checkpoint as a Hugging Face checkpoint
  version     print the build's version and revision
  completion  print a bash, zsh or fish completion script
  help        show help for a command

Run 'nemo-migrate <command> -h' for a command's flags.

Exit codes: 0 success, 1 failure, 2 bad usage, 130 or 143 stopped by
Ctrl-C or SIGTERM (after cleaning up). With --json, errors are JSON too.
`

// errUsage marks errors caused by how the command was called (exit code 2).
var errUsage = errors.New("usage")

type usageError struct{ msg string }

func (e *usageError) Error() string   { return e.msg }
func (e *usageError) Is(t error) bool { return t == errUsage }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// env is what a command may touch: no globals, so tests run commands
// in-process.
type env struct {
	ctx    context.Context
	stdin  io.Reader // nil: nothing to read
	stdout io.Writer
	stderr io.Writer
	// tty, if set, is stderr unfiltered, for the progress bar's own
	// control characters; stdout and stderr escape any that output holds.
	tty io.Writer
	// isTerminal reports whether stderr is a terminal (progress is shown
	// only there), and term how to draw on it.
	isTerminal bool
	term       terminal

	// describe, if set, is handed each command's flags instead of running
	// it: shell completion learns the flags from the commands themselves.
	describe func(*flagSet)

	// lookupEnv reads an environment variable; nil means the process's.
	lookupEnv func(string) string
}

// getenv reads an environment variable through e.lookupEnv, so tests can
// give a command its own environment.
func (e *env) getenv(key string) string {
	if e.lookupEnv != nil {
		return e.lookupEnv(key)
	}
	return os.Getenv(key)
}

// errDescribed ends a command run only to describe its flags.
var errDescribed = errors.New("flags described")

type command struct {
	name string
	run  func(e *env, args []string) error
}

func commands() []command {
	return []command{
		{"convert", runConvert},
		{"export", runExport},
		{"inspect", runInspect},
		{"verify", runVerify},
		{"config", runConfig},
		{"models", runModels},
		{"version", runVersion},
		{"completion", runCompletion},
	}
}

// memoryLimit is the heap the runtime aims to stay under unless GOMEMLIMIT
// says otherwise: streaming needs a few MiB, but a large checkpoint index is
// decoded whole, and without a limit the collector lets the heap grow to
// twice what is live before it runs.
const memoryLimit = 256 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		// A second signal kills at once, as users expect of a stuck run.
		signal.Stop(sigs)
		cancel(interrupted{sig.(syscall.Signal)})
	}()
	e := &env{ctx: ctx, stdin: os.Stdin, stdout: &safeWriter{w: os.Stdout}, stderr: &safeWriter{w: os.Stderr}, tty: os.Stderr,
		isTerminal: isTerminal(os.Stderr), term: stderrTerminal()}
	os.Exit(run(e, os.Args[1:]))
}

// interrupted is the cause of a context cancelled by a signal.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return "interrupted by " + signalName(i.sig) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT (Ctrl-C)"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// exitCode is what a shell reports for a run ended by err: 128 plus the
// signal's number when a signal stopped it (130 for Ctrl-C, 143 for
// SIGTERM), after the command has cleaned up.
func (e *env) exitCode(err error) int {
	var sig interrupted
	if errors.As(context.Cause(e.ctx), &sig) {
		return 128 + int(sig.sig)
	}
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// wantsJSON reports whether the command line asks for JSON output, so an
// error can be reported in the same form.
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--json", "-json", "--json=true", "-json=true":
			return true
		case "--":
			return false
		}
	}
	return false
}

// run executes one command line and returns the exit code.
func run(e *env, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		fmt.Fprint(e.stdout, usage)
		return 0
	case "-version", "--version":
		fmt.Fprintln(e.stdout, versionString())
		return 0
	case "help":
		if len(rest) == 0 {
			fmt.Fprint(e.stdout, usage)
			return 0
		}
		name, rest = rest[0], []string{"-h"}
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(e, rest)
		var sig interrupted
		if err != nil && errors.As(context.Cause(e.ctx), &sig) && !strings.Contains(err.Error(), "interrupted") {
			err = fmt.Errorf("%s: %w", sig, err)
		}
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case wantsJSON(rest):
			// JSON readers get the error as JSON on stdout, where they
			// read; the exit code still tells failure from bad usage.
			printJSON(e.stdout, struct {
				Command string `json:"command"`
				Error   string `json:"error"`
				Usage   bool   `json:"usage_error,omitempty"`
			}{name, err.Error(), errors.Is(err, errUsage)})
		case errors.Is(err, errUsage):
			fmt.Fprintf(e.stderr, "nemo-migrate %s: %v\nRun 'nemo-migrate %s -h' for help.\n", name, err, name)
		default:
			fmt.Fprintf(e.stderr, "nemo-migrate %s: %v\n", name, err)
		}
		return e.exitCode(err)
	}
	fmt.Fprintf(e.stderr, "nemo-migrate: unknown command %q\n\n%s", name, usage)
	return 2
}

// flagSet is a flag.FlagSet that reports bad flags as usage errors, prints
// help (when asked for) to stdout, and knows which flags are aliases of
// another, so help lists each flag once.
type flagSet struct {
	*flag.FlagSet
	e        *env
	synopsis string
	help     string
	aliases  map[string][]string // primary name -> its aliases
	isAlias  map[string]bool
	required map[string]bool // primary names help marks as required
}

func newFlagSet(e *env, name, synopsis, help string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, e: e, synopsis: synopsis, help: help, aliases: map[string][]string{}, isAlias: map[string]bool{}, required: map[string]bool{}}
}

// stringVar defines a string flag under names[0] and its aliases.
func (fs *flagSet) stringVar(p *string, names []string, value, usage string) {
	for i, n := range names {
		fs.StringVar(p, n, value, usage)
		if i > 0 {
			fs.isAlias[n] = true
			fs.aliases[names[0]] = append(fs.aliases[names[0]], n)
		}
	}
}

// require marks flags as required in the help; the command checks them.
func (fs *flagSet) require(names ...string) {
	for _, n := range names {
		fs.required[n] = true
	}
}

// parse parses args. It returns flag.ErrHelp after printing help for -h.
// A long flag may be spelled with "_" or "-" between words, whichever it
// is defined with (--dry_run, --input-path), as users of NeMo's argparse
// scripts type them.
func (fs *flagSet) parse(args []string) error {
	if fs.e.describe != nil {
		fs.e.describe(fs)
		return errDescribed
	}
	err := fs.Parse(fs.respell(args))
	if err == nil {
		return nil
	}
	if errors.Is(err, flag.ErrHelp) {
		fs.printHelp()
		return err
	}
	if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
		return fs.unknownFlag(name, args)
	}
	return usagef("%v", err)
}

// unknownFlag words an undefined flag as the user typed it, with the
// defined flag it most likely meant.
func (fs *flagSet) unknownFlag(name string, args []string) error {
	typed := dashes(name)
	for _, a := range args {
		if n, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); n == name && strings.HasPrefix(a, "-") {
			typed, _, _ = strings.Cut(a, "=")
			break
		}
	}
	best, bestDist := "", 0
	key := strings.ReplaceAll(strings.ToLower(name), "-", "_")
	fs.VisitAll(func(f *flag.Flag) {
		d := editDistance(key, strings.ReplaceAll(f.Name, "-", "_"))
		if d <= max(2, len(key)/3) && (best == "" || d < bestDist) {
			best, bestDist = f.Name, d
		}
	})
	if best != "" {
		return usagef("unknown flag %s (did you mean %s?)", typed, dashes(best))
	}
	return usagef("unknown flag %s", typed)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// respell rewrites each flag name that is not defined as given but is
// with "_" and "-" swapped.
func (fs *flagSet) respell(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		dashes := len(a) - len(strings.TrimLeft(a, "-"))
		if dashes == 0 || dashes > 2 || len(a) == dashes {
			out = append(out, a)
			continue
		}
		name, value, hasValue := strings.Cut(a[dashes:], "=")
		if fs.Lookup(name) == nil {
			for _, alt := range []string{strings.ReplaceAll(name, "_", "-"), strings.ReplaceAll(name, "-", "_")} {
				if alt != name && fs.Lookup(alt) != nil {
					name = alt
					break
				}
			}
		}
		a = a[:dashes] + name
		if hasValue {
			a += "=" + value
		}
		out = append(out, a)
	}
	return out
}

// parseAll parses args allowing flags after positional arguments too (as in
// "verify out --source in") and returns the positional arguments.
func (fs *flagSet) parseAll(args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func (fs *flagSet) printHelp() {
	w := fs.e.stdout
	fmt.Fprintf(w, "Usage: nemo-migrate %s %s\n\n%s\n", fs.Name(), fs.synopsis, fs.help)
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if fs.isAlias[f.Name] {
			return
		}
		if first {
			fmt.Fprintln(w, "\nFlags:")
			first = false
		}
		names := []string{dashes(f.Name)}
		for _, a := range fs.aliases[f.Name] {
			names = append(names, dashes(a))
		}
		arg, usage := flag.UnquoteUsage(f)
		line := "  " + strings.Join(names, ", ")
		if arg != "" {
			line += " " + strings.ToUpper(arg)
		}
		if fs.required[f.Name] {
			line += "   (required)"
		}
		fmt.Fprintln(w, line)
		if f.DefValue != "" && f.DefValue != "false" {
			usage += fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintf(w, "      %s\n", usage)
	})
}

// dashes spells a flag as users type it: -x for one letter, --name else.
func dashes(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// mustExist fails for a path that is not there, naming where it came from
// (a flag such as --input_path, or the argument's role) so the user knows
// which of several paths to fix.
func mustExist(from, path string) error {
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s %s does not exist", from, path)
		}
		return fmt.Errorf("%s %s: %w", from, path, err)
	}
	return nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// printJSON writes v as the indented JSON every --json output uses.
// jsonSchema versions every JSON object the commands print; it changes
// when a field is renamed or removed, not when one is added.
const jsonSchema = 1

// printJSON writes v indented, with "schema" first when v is an object.
func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > 1 && b[0] == '{' {
		sep := ","
		if b[1] == '}' {
			sep = ""
		}
		b = append([]byte(fmt.Sprintf(`{"schema":%d%s`, jsonSchema, sep)), b[1:]...)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// withProgress runs a long job, drawing its progress on a terminal
// (unless quiet), and turns an interruption into a message that says
// nothing was written to out. The job asks bars for a progress function
// per phase ("decompressing", then "converting"); each phase draws its own
// line once it reports, ending the line of the phase before.
func (e *env) withProgress(quiet bool, out string, job func(bars func(label string) func(done, total int64)) error) error {
	var mu sync.Mutex
	var cur *progressBar
	bars := func(label string) func(done, total int64) {
		if !e.isTerminal || quiet {
			return nil
		}
		var bar *progressBar
		return func(done, total int64) {
			mu.Lock()
			if bar == nil {
				if cur != nil {
					cur.finish()
				}
				w := e.tty
				if w == nil {
					w = e.stderr
				}
				bar = newProgressBar(w, label, e.term)
				cur = bar
			}
			mu.Unlock()
			bar.update(done, total)
		}
	}
	err := job(bars)
	mu.Lock()
	if cur != nil {
		cur.finish() // end the bar's line before anything else is printed
	}
	mu.Unlock()
	if err != nil && e.ctx.Err() != nil && errors.Is(err, e.ctx.Err()) {
		why := "interrupted"
		var sig interrupted
		if errors.As(context.Cause(e.ctx), &sig) {
			why = sig.Error()
		}
		return fmt.Errorf("%s; nothing was written to %s", why, out)
	}
	return err
}

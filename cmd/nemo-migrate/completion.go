package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nemo-migrate/nemo-migrate/internal/models"
)

const completionHelp = `Completion prints a script that teaches a shell to complete nemo-migrate's
commands, flags (both _ and - spellings are accepted when typed), model ids
for --model_id, dtypes, tokenizer libraries and paths.

Examples:
  nemo-migrate completion bash > /etc/bash_completion.d/nemo-migrate
  source <(nemo-migrate completion bash)                # this shell only
  nemo-migrate completion zsh > "${fpath[1]}/_nemo-migrate"
  nemo-migrate completion fish > ~/.config/fish/completions/nemo-migrate.fish`

func runCompletion(e *env, args []string) error {
	fs := newFlagSet(e, "completion", "bash|zsh|fish", completionHelp)
	pos, err := fs.parseAll(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name the shell: bash, zsh or fish")
	}
	cmds, err := completionSpec()
	if err != nil {
		return err
	}
	switch pos[0] {
	case "bash":
		return writeBash(e.stdout, cmds)
	case "zsh":
		return writeZsh(e.stdout, cmds)
	case "fish":
		return writeFish(e.stdout, cmds)
	}
	return usagef("no completion for %q: the shells are bash, zsh and fish", pos[0])
}

// complCmd is what a shell completes for one command.
type complCmd struct {
	name, about string
	flags       []complFlag
	args        string // what its arguments are: "files", "dirs", "commands" or ""
}

// complFlag is one flag and what its value is.
type complFlag struct {
	names  []string // primary first, then aliases, without dashes
	about  string
	bool   bool     // takes no value
	values []string // the words its value is one of, if any
	files  bool     // its value is a path (directories included)
	dirs   bool     // its value is a directory (with values: as well)
}

// completionSpec learns each command's flags by running it with env's
// describe hook, so the scripts cannot fall behind the commands.
func completionSpec() ([]complCmd, error) {
	about := map[string]string{}
	for _, l := range strings.Split(usage, "\n") {
		if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "  nemo-migrate") {
			about[f[0]] = strings.Join(f[1:], " ")
		}
	}
	var ids []string
	for _, m := range models.Models() {
		ids = append(ids, m.ID)
	}
	ids = append(ids, models.AutoID)
	var out []complCmd
	for _, c := range commands() {
		var fs *flagSet
		e := &env{describe: func(f *flagSet) { fs = f }}
		if err := c.run(e, nil); !errors.Is(err, errDescribed) || fs == nil {
			return nil, fmt.Errorf("completion: command %s did not describe its flags (%v)", c.name, err)
		}
		cc := complCmd{name: c.name, about: about[c.name]}
		switch c.name {
		case "inspect", "config":
			cc.args = "files"
		case "verify":
			cc.args = "dirs"
		case "completion":
			cc.args = "shells"
		}
		fs.VisitAll(func(f *flag.Flag) {
			if fs.isAlias[f.Name] {
				return
			}
			arg, text := flag.UnquoteUsage(f)
			cf := complFlag{names: append([]string{f.Name}, fs.aliases[f.Name]...), about: firstClause(text), bool: arg == ""}
			switch arg {
			case "checkpoint", "path", "file":
				cf.files = true
			case "directory":
				cf.dirs = true
			case "model":
				cf.values, cf.dirs = ids, true
			case "dtype":
				cf.values = []string{"bfloat16", "float16", "float32"}
			case "library":
				cf.values = tokenizerLibraries(text)
			case "format":
				cf.values = []string{"hf"}
			}
			cc.flags = append(cc.flags, cf)
		})
		out = append(out, cc)
	}
	out = append(out, complCmd{name: "help", about: about["help"], args: "commands"})
	return out, nil
}

// tokenizerLibraries picks the library names a flag's help lists.
func tokenizerLibraries(help string) []string {
	var libs []string
	for _, l := range []string{"sentencepiece", "huggingface", "tiktoken", "megatron"} {
		if strings.Contains(help, l) {
			libs = append(libs, l)
		}
	}
	return libs
}

// firstClause shortens a flag's help to what fits a completion menu.
func firstClause(s string) string {
	if i := strings.IndexAny(s, ":;("); i > 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// typed lists the flag as menus offer it: its names as defined.
func (f complFlag) typed() []string {
	var out []string
	for _, n := range f.names {
		out = append(out, dashes(n))
	}
	return out
}

// spellings adds the other spelling of each long name ("_" for "-" and
// back), which the command accepts too, for recognizing a typed flag.
func (f complFlag) spellings() []string {
	var out []string
	for _, n := range f.names {
		out = append(out, dashes(n))
		if alt := strings.ReplaceAll(n, "_", "-"); alt != n {
			out = append(out, dashes(alt))
		} else if alt := strings.ReplaceAll(n, "-", "_"); alt != n {
			out = append(out, dashes(alt))
		}
	}
	return out
}

func names(cmds []complCmd) []string {
	var out []string
	for _, c := range cmds {
		out = append(out, c.name)
	}
	return out
}

func writeBash(w io.Writer, cmds []complCmd) error {
	var b strings.Builder
	b.WriteString(`# bash completion for nemo-migrate (nemo-migrate completion bash)
_nemo_migrate() {
    local cur prev cmd i
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    if [[ $prev == "=" ]]; then prev=${COMP_WORDS[COMP_CWORD-2]}; fi
    if [[ $cur == "=" ]]; then cur=""; fi
    cmd=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in -*) ;; *) cmd=${COMP_WORDS[i]}; break ;; esac
    done
    if [[ -z $cmd ]]; then
`)
	fmt.Fprintf(&b, "        COMPREPLY=($(compgen -W %q -- \"$cur\"))\n        return\n    fi\n    case $cmd in\n", strings.Join(append(names(cmds), "--help", "--version"), " "))
	for _, c := range cmds {
		fmt.Fprintf(&b, "    %s)\n        case $prev in\n", c.name)
		var flags []string
		for _, f := range c.flags {
			sp := f.spellings()
			flags = append(flags, f.typed()...)
			if f.bool {
				continue
			}
			fmt.Fprintf(&b, "            %s)\n", strings.Join(sp, "|"))
			switch {
			case len(f.values) > 0:
				fmt.Fprintf(&b, "                COMPREPLY=($(compgen -W %q -- \"$cur\"))\n", strings.Join(f.values, " "))
				if f.dirs {
					b.WriteString("                compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -d -- \"$cur\"))\n")
				}
			case f.dirs:
				b.WriteString("                compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\"))\n")
			case f.files:
				b.WriteString("                compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\"))\n")
			default:
				b.WriteString("                COMPREPLY=()\n")
			}
			b.WriteString("                return ;;\n")
		}
		b.WriteString("        esac\n")
		fmt.Fprintf(&b, "        if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W %q -- \"$cur\")); return; fi\n", strings.Join(append(flags, "--help"), " "))
		switch c.args {
		case "files":
			b.WriteString("        compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\"))\n")
		case "dirs":
			b.WriteString("        compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\"))\n")
		case "shells":
			b.WriteString("        COMPREPLY=($(compgen -W \"bash zsh fish\" -- \"$cur\"))\n")
		case "commands":
			fmt.Fprintf(&b, "        COMPREPLY=($(compgen -W %q -- \"$cur\"))\n", strings.Join(names(cmds), " "))
		}
		b.WriteString("        ;;\n")
	}
	b.WriteString("    esac\n}\ncomplete -F _nemo_migrate nemo-migrate\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// zshQuote escapes text for an _arguments spec or _describe entry.
func zshQuote(s string) string {
	r := strings.NewReplacer("'", "'\\''", "[", "\\[", "]", "\\]", ":", "\\:")
	return r.Replace(s)
}

func writeZsh(w io.Writer, cmds []complCmd) error {
	var b strings.Builder
	b.WriteString("#compdef nemo-migrate\n# zsh completion for nemo-migrate (nemo-migrate completion zsh)\n_nemo-migrate() {\n    local -a commands\n    commands=(\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "        '%s:%s'\n", c.name, zshQuote(c.about))
	}
	b.WriteString("    )\n    if (( CURRENT == 2 )); then\n        _describe 'command' commands\n        return\n    fi\n    case $words[2] in\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "    %s)\n        _arguments -s \\\n", c.name)
		for _, f := range c.flags {
			for _, sp := range f.typed() {
				spec := fmt.Sprintf("'%s[%s]", sp, zshQuote(f.about))
				switch {
				case f.bool:
				case len(f.values) > 0: // a --model_id directory is typed in full
					spec += ":value:(" + strings.Join(f.values, " ") + ")"
				case f.dirs:
					spec += ":directory:_files -/"
				case f.files:
					spec += ":file:_files"
				default:
					spec += ":value: "
				}
				fmt.Fprintf(&b, "            %s' \\\n", spec)
			}
		}
		switch c.args {
		case "files":
			b.WriteString("            '*:file:_files'\n")
		case "dirs":
			b.WriteString("            '*:directory:_files -/'\n")
		case "shells":
			b.WriteString("            '1:shell:(bash zsh fish)'\n")
		case "commands":
			b.WriteString("            '1:command:(" + strings.Join(names(cmds), " ") + ")'\n")
		default:
			b.WriteString("            '--help[show help]'\n")
		}
		b.WriteString("        ;;\n")
	}
	b.WriteString(`    esac
}
if [[ $funcstack[1] == _nemo-migrate ]]; then
    _nemo-migrate "$@"
else
    compdef _nemo-migrate nemo-migrate
fi
`)
	_, err := io.WriteString(w, b.String())
	return err
}

// fishQuote quotes a word for fish.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func writeFish(w io.Writer, cmds []complCmd) error {
	var b strings.Builder
	b.WriteString("# fish completion for nemo-migrate (nemo-migrate completion fish)\ncomplete -c nemo-migrate -f\n")
	all := strings.Join(names(cmds), " ")
	for _, c := range cmds {
		fmt.Fprintf(&b, "complete -c nemo-migrate -n 'not __fish_seen_subcommand_from %s' -a %s -d %s\n", all, c.name, fishQuote(c.about))
	}
	for _, c := range cmds {
		cond := fmt.Sprintf("-n '__fish_seen_subcommand_from %s'", c.name)
		for _, f := range c.flags {
			for _, sp := range f.typed() {
				opt := "-l " + strings.TrimLeft(sp, "-")
				if len(sp) == 2 {
					opt = "-s " + sp[1:]
				}
				line := fmt.Sprintf("complete -c nemo-migrate %s %s -d %s", cond, opt, fishQuote(f.about))
				switch {
				case f.bool:
				case len(f.values) > 0 && f.dirs:
					line += " -r -a " + fishQuote(strings.Join(f.values, " ")+" (__fish_complete_directories)")
				case len(f.values) > 0:
					line += " -x -a " + fishQuote(strings.Join(f.values, " "))
				case f.dirs:
					line += " -r -a '(__fish_complete_directories)'"
				case f.files:
					line += " -r -F"
				default:
					line += " -x"
				}
				b.WriteString(line + "\n")
			}
		}
		switch c.args {
		case "files", "dirs":
			fmt.Fprintf(&b, "complete -c nemo-migrate %s -F\n", cond)
		case "shells":
			fmt.Fprintf(&b, "complete -c nemo-migrate %s -a 'bash zsh fish'\n", cond)
		case "commands":
			fmt.Fprintf(&b, "complete -c nemo-migrate %s -a %s\n", cond, fishQuote(strings.Join(slices.DeleteFunc(names(cmds), func(n string) bool { return n == "help" }), " ")))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

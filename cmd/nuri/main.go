// Command nuri is Nuri's single binary: serve, run, bench, inspect,
// quantize, synth, tokenize, logits, devices and more, one subcommand each.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand. Each lives in its own file and adds itself to
// the table in that file's init, so subcommands can be added independently.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

// commandTable is a set of subcommands, each added by its file's init:
// nuri's own commands, and bench's benchmarks.
type commandTable struct {
	prog   string // what the user typed before the subcommand: "nuri", "nuri bench"
	noun   string // what a subcommand is called: "command", "benchmark"
	byName map[string]command
}

// add registers c; two subcommands of one name are a programming error.
func (t *commandTable) add(c command) {
	if _, dup := t.byName[c.name]; dup {
		panic(fmt.Sprintf("nuri: duplicate %s %q in %s", t.noun, c.name, t.prog))
	}
	if t.byName == nil {
		t.byName = map[string]command{}
	}
	t.byName[c.name] = c
}

// usage lists the subcommands, sorted, with their summaries.
func (t *commandTable) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s <%s> [flags]\n\n%ss:\n", t.prog, t.noun, t.noun)
	names := make([]string, 0, len(t.byName))
	width := 0
	for n := range t.byName {
		names = append(names, n)
		width = max(width, len(n))
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, t.byName[n].summary)
	}
	fmt.Fprintf(w, "\nrun '%s <%s> -h' for its flags\n", t.prog, t.noun)
}

// dispatch runs the subcommand args[0] names with the rest of args. A
// missing or unknown name prints the usage and returns errUsage; -h
// prints it and returns nil.
func (t *commandTable) dispatch(args []string, stdout, stderr io.Writer) (command, error) {
	if len(args) == 0 {
		t.usage(stderr)
		return command{}, errUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		t.usage(stdout)
		return command{}, nil
	}
	c, ok := t.byName[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown %s %q\n\n", t.prog, t.noun, args[0])
		t.usage(stderr)
		return command{}, errUsage
	}
	err := c.run(args[1:], stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		err = nil // -h: the usage is printed, as asked
	}
	return c, err
}

// commands are nuri's subcommands.
var commands = commandTable{prog: "nuri", noun: "command"}

func register(c command) { commands.add(c) }

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	c, err := commands.dispatch(args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(stderr, "nuri %s: %v\n", c.name, err)
	return 1
}

// flagsError is what a subcommand returns when its flags do not parse
// (err from FlagSet.Parse; the flag package has printed why and the
// usage): flag.ErrHelp for -h, which exits 0 as the usage was asked for,
// errUsage for anything else, which exits 2.
func flagsError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return flag.ErrHelp
	}
	return errUsage
}

// usageError prints "nuri NAME: " and the message to stderr, then fs's
// usage, and returns errUsage: a command's answer to arguments it cannot
// take.
func usageError(fs *flag.FlagSet, stderr io.Writer, format string, a ...any) error {
	fmt.Fprintf(stderr, "nuri %s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.Usage()
	return errUsage
}

// errUsage is returned by a subcommand after it has printed a usage error.
var errUsage = fmt.Errorf("usage")

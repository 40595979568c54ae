package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestCommandTable(t *testing.T) {
	failed := errors.New("it failed")
	var tab commandTable
	tab.prog, tab.noun = "nuri test", "thing"
	var got []string
	tab.add(command{name: "ok", summary: "succeeds", run: func(args []string, _, _ io.Writer) error {
		got = args
		return nil
	}})
	tab.add(command{name: "a-longer-name", summary: "fails", run: func([]string, io.Writer, io.Writer) error { return failed }})
	tab.add(command{name: "misused", summary: "prints its own usage", run: func([]string, io.Writer, io.Writer) error { return errUsage }})
	for _, c := range []struct {
		args         []string
		err          error
		stdout, errs string // substrings of each stream ("" there: empty)
		ran          string // the args "ok" ran with
	}{
		{args: nil, err: errUsage, errs: "usage: nuri test <thing> [flags]"},
		{args: []string{"-h"}, stdout: "things:"},
		{args: []string{"help"}, stdout: "run 'nuri test <thing> -h' for its flags"},
		{args: []string{"nope"}, err: errUsage, errs: `nuri test: unknown thing "nope"`},
		{args: []string{"ok", "-x", "y"}, ran: "-x y"},
		{args: []string{"a-longer-name"}, err: failed},
		{args: []string{"misused"}, err: errUsage},
	} {
		var stdout, stderr bytes.Buffer
		got = nil
		cmd, err := tab.dispatch(c.args, &stdout, &stderr)
		if !errors.Is(err, c.err) || (err == nil) != (c.err == nil) {
			t.Errorf("%q: error %v, want %v", c.args, err, c.err)
		}
		for _, s := range []struct {
			name, want string
			buf        *bytes.Buffer
		}{{"stdout", c.stdout, &stdout}, {"stderr", c.errs, &stderr}} {
			if (s.want == "") != (s.buf.Len() == 0) || !strings.Contains(s.buf.String(), s.want) {
				t.Errorf("%q: %s %q, want it to hold %q", c.args, s.name, s.buf.String(), s.want)
			}
		}
		if r := strings.Join(got, " "); r != c.ran {
			t.Errorf("%q: ok ran with %q, want %q", c.args, r, c.ran)
		}
		if name := c.args; len(name) > 0 && !strings.HasPrefix(name[0], "-") && name[0] != "help" && name[0] != "nope" && cmd.name != name[0] {
			t.Errorf("%q: dispatch returned command %q", c.args, cmd.name)
		}
	}
	// Names line up in one column, sorted.
	var usage bytes.Buffer
	tab.usage(&usage)
	want := "  a-longer-name  fails\n  misused        prints its own usage\n  ok             succeeds\n"
	if !strings.Contains(usage.String(), want) {
		t.Errorf("usage:\n%s\nwant the lines\n%s", usage.String(), want)
	}
	defer func() {
		if recover() == nil {
			t.Error("adding a second \"ok\" did not panic")
		}
	}()
	tab.add(command{name: "ok"})
}

// TestHelpExitsZero: -h on every command and benchmark prints its usage
// and exits 0; an unknown flag exits 2.
func TestHelpExitsZero(t *testing.T) {
	var names [][]string
	for n := range commands.byName {
		names = append(names, []string{n})
	}
	for n := range benchCommands.byName {
		names = append(names, []string{"bench", n})
	}
	for _, name := range names {
		var stdout, stderr bytes.Buffer
		if rc := realMain(append(append([]string(nil), name...), "-h"), &stdout, &stderr); rc != 0 {
			t.Errorf("nuri %s -h: exit %d, want 0; stderr:\n%s", strings.Join(name, " "), rc, stderr.String())
		}
		want := "usage: nuri " + strings.Join(name, " ")
		if !strings.Contains(stdout.String()+stderr.String(), want) {
			t.Errorf("nuri %s -h: no %q in\n%s%s", strings.Join(name, " "), want, stdout.String(), stderr.String())
		}
		stdout.Reset()
		stderr.Reset()
		if rc := realMain(append(append([]string(nil), name...), "--no-such-flag"), &stdout, &stderr); rc != 2 {
			t.Errorf("nuri %s --no-such-flag: exit %d, want 2", strings.Join(name, " "), rc)
		}
	}
}

// TestUsageError: arguments a command cannot take exit 2 with the
// command's name, the complaint and its usage on stderr.
func TestUsageError(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"plan", "--qps", "0"}, "nuri plan: --model, and positive --qps"},
		{[]string{"quantize", "a", "b", "c", "d"}, `nuri quantize: the fourth argument is the thread count, got "d"`},
		{[]string{"quantize", "a", "b", "c", "2", "e"}, "nuri quantize: want 3 arguments, got 5"},
		{[]string{"devices", "extra"}, "nuri devices: no arguments expected"},
		{[]string{"bench", "model"}, "nuri bench model: "},
		{[]string{"logits"}, "nuri logits: "},
		{[]string{"version", "extra"}, "nuri version: unexpected arguments"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if rc := realMain(tt.args, &stdout, &stderr); rc != 2 {
			t.Errorf("nuri %s: exit %d, want 2", strings.Join(tt.args, " "), rc)
		}
		if !strings.HasPrefix(stderr.String(), tt.want) || !strings.Contains(stderr.String(), "usage: nuri ") {
			t.Errorf("nuri %s: stderr %q, want it to start with %q and hold the usage", strings.Join(tt.args, " "), stderr.String(), tt.want)
		}
	}
}

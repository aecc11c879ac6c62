package docgen

import (
	"fmt"
	"slices"
	"strings"
)

// Xvrrpd is what xvrrpd's man page and completion are made of.
type Xvrrpd struct {
	Flags []Flag // from ParseDefaults of `xvrrpd -h`
	Doc   string // PackageDoc of cmd/xvrrpd
}

// XvrrpdPage is xvrrpd(8).
func XvrrpdPage(x Xvrrpd) Page {
	syn := "xvrrpd"
	for _, f := range x.Flags {
		if f.Type == "" {
			syn += fmt.Sprintf(" [%s]", Dashed(f.Name))
		} else {
			syn += fmt.Sprintf(" [%s %s]", Dashed(f.Name), f.Metavar())
		}
	}
	return Page{
		Name:     "xvrrpd",
		Section:  8,
		Summary:  "VRRP daemon that reads keepalived.conf",
		Synopsis: []string{syn},
		Sections: []Section{
			{Title: "DESCRIPTION", Text: x.Doc},
			{Title: "OPTIONS", Text: "Every flag may be written with one dash or two.", Flags: x.Flags},
			{Title: "EXIT STATUS", Text: xvrrpdExit},
			{Title: "CONFIGURATION TEST", Text: xvrrpdTest},
			{Title: "FILES", Pre: strings.Join([]string{
				"/etc/keepalived/keepalived.conf   the configuration (-f)",
				"/run/xvrrp/net-INODE.lock         one daemon per network namespace (holds its pid)",
				"/run/xvrrp/net-INODE/             run directory: xvrrpd.pid, the control socket,",
				"                                  xvrrpd.data (SIGUSR1), xvrrpd.stats (SIGUSR2)",
				"/sys/fs/bpf/xvrrp/net-INODE/      the BPF maps, pinned with BTF (bpftool map dump pinned ...)",
			}, "\n")},
			{Title: "SEE ALSO", Text: "xvrrpctl(8), keepalived.conf(5), bpftool(8), systemd.service(5); docs/OPERATIONS.md and docs/MIGRATING.md in the source."},
		},
	}
}

// xvrrpdExit is the EXIT STATUS of xvrrpd(8).
const xvrrpdExit = "0 after a clean stop, and when -t passes. 1 when -t fails, or when the daemon cannot start or stops on an error (the reason is printed on standard error or logged). " +
	"-t fails on the problems keepalived -t fails on (keepalived exits 5 or 6 there): an unknown keyword or a typo, a value keepalived reports and corrects, " +
	"a vrrp_script that cannot run (missing, or insecure with enable_script_security), scripts without enable_script_security; " +
	"on the errors xvrrpd refuses to run with; and, where keepalived -t passes and keepalived then drops the script at start, on a notify script whose user or group does not exist. " +
	"Warnings do not fail it: keepalived keywords xvrrpd ignores, interfaces missing here, notify scripts not installed yet, script lines keepalived runs otherwise than they read."

// xvrrpdTest is the CONFIGURATION TEST section of xvrrpd(8).
const xvrrpdTest = "xvrrpd -t [-f FILE] prints every error, problem and warning with its file and line, the keywords without effect on VRRP, " +
	"the ignored keywords keepalived would act on, and a last line with the verdict. " +
	"xvrrpd -t --json prints the same verdict as one JSON object, with the same exit status: its schema (\"schema\": 1, the findings with their severity and kind) " +
	"is described in docs/MIGRATING.md, section \"xvrrpd -t --json\", and by the type Verdict of package github.com/xvrrp/xvrrp/vrrp/config."

// Command is one xvrrpctl command.
type Command struct {
	Name, Summary string
	Usage         string // what `xvrrpctl help NAME` prints
	Flags         []Flag // defined on its FlagSet
}

// Xvrrpctl is what xvrrpctl's man page and completion are made of.
type Xvrrpctl struct {
	Usage    string // what `xvrrpctl --help` prints
	Global   []Flag // the FlagSet named "xvrrpctl"
	Commands []Command
	Doc      string // PackageDoc of cmd/xvrrpctl
}

// ParseCommandList reads the "Commands:" block of xvrrpctl's usage: one
// "  name   summary" line per command.
func ParseCommandList(usage string) []Command {
	var out []Command
	in := false
	for line := range strings.SplitSeq(usage, "\n") {
		switch {
		case strings.TrimSpace(line) == "Commands:":
			in = true
		case in && strings.HasPrefix(line, "  "):
			name, summary, _ := strings.Cut(strings.TrimSpace(line), " ")
			out = append(out, Command{Name: name, Summary: strings.TrimSpace(summary)})
		case in:
			return out
		}
	}
	return out
}

// Describe returns the description a usage text gives a flag: the text
// after "--name ..." on its line, and the more indented lines after it.
func Describe(usage, name string) string {
	d, _ := describe(usage, name)
	return d
}

// describe also returns the word naming the flag's value on its line
// ("--run-dir DIR   ..." gives "DIR").
func describe(usage, name string) (desc, meta string) {
	lines := strings.Split(usage, "\n")
	for i, line := range lines {
		t := strings.TrimLeft(line, " ")
		indent := len(line) - len(t)
		if !strings.HasPrefix(t, Dashed(name)+" ") && t != Dashed(name) && !strings.HasPrefix(t, "-"+name+" ") {
			continue
		}
		// The description starts after the first run of two spaces.
		head, desc, ok := strings.Cut(t, "  ")
		if !ok {
			desc = ""
		}
		if f := strings.Fields(head); len(f) == 2 {
			meta = f[1]
		}
		parts := []string{strings.TrimSpace(desc)}
		for _, next := range lines[i+1:] {
			nt := strings.TrimLeft(next, " ")
			if nt == "" || len(next)-len(nt) <= indent || strings.HasPrefix(nt, "-") {
				break
			}
			parts = append(parts, nt)
		}
		return strings.TrimSpace(strings.Join(parts, " ")), meta
	}
	return "", ""
}

// Undocumented lists the flags of x that the texts of the page never
// name: a flag added to a FlagSet without a line in its usage.
func (x Xvrrpctl) Undocumented() []string {
	var out []string
	for _, f := range x.Global {
		if Describe(x.Usage, f.Name) == "" && !strings.Contains(x.Usage, Dashed(f.Name)) {
			out = append(out, "xvrrpctl "+Dashed(f.Name))
		}
	}
	for _, c := range x.Commands {
		for _, f := range c.Flags {
			if !strings.Contains(c.Usage, Dashed(f.Name)) {
				out = append(out, "xvrrpctl "+c.Name+" "+Dashed(f.Name))
			}
		}
	}
	return out
}

// XvrrpctlPage is xvrrpctl(8).
func XvrrpctlPage(x Xvrrpctl) Page {
	p := Page{Name: "xvrrpctl", Section: 8, Summary: "query and control a running xvrrpd"}
	first, _, _ := strings.Cut(strings.TrimPrefix(x.Usage, "usage: "), "\n")
	p.Synopsis = append(p.Synopsis, first)
	var cmds []Section
	for _, c := range x.Commands {
		line, rest, _ := strings.Cut(c.Usage, "\n")
		p.Synopsis = append(p.Synopsis, strings.TrimPrefix(line, "usage: "))
		s := Section{Title: c.Name, Text: c.Summary + ".", Pre: strings.Trim(rest, "\n")}
		// Flags the usage text does not describe get an entry of their own.
		for _, f := range c.Flags {
			if !strings.Contains(c.Usage, Dashed(f.Name)) {
				s.Flags = append(s.Flags, f)
			}
		}
		cmds = append(cmds, s)
	}
	global := slices.Clone(x.Global)
	for i := range global {
		if d, meta := describe(x.Usage, global[i].Name); d != "" {
			global[i].Usage = d
			if global[i].Type != "" {
				global[i].Meta = meta
			}
		}
	}
	var tail []string
	for line := range strings.SplitSeq(x.Usage, "\n") {
		if strings.HasPrefix(line, "Exit codes:") {
			tail = append(tail, strings.TrimSpace(strings.TrimPrefix(line, "Exit codes:")))
		}
	}
	p.Sections = []Section{
		{Title: "DESCRIPTION", Text: x.Doc},
		{Title: "GLOBAL OPTIONS", Text: "Given before the command. Every flag may be written with one dash or two; --help after any command describes it.", Flags: global},
		{Title: "COMMANDS", Sub: cmds},
		{Title: "EXIT STATUS", Text: strings.Join(tail, "\n")},
		{Title: "SEE ALSO", Text: "xvrrpd(8); docs/OPERATIONS.md in the source."},
	}
	return p
}

package docgen

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// LoadXvrrpd reads xvrrpd's flags from the binary's -h output and its
// description from cmd/xvrrpd under root.
func LoadXvrrpd(bin, root string) (Xvrrpd, error) {
	var x Xvrrpd
	var out bytes.Buffer
	cmd := exec.Command(bin, "-h")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return x, fmt.Errorf("%s -h: %w\n%s", bin, err, out.String())
	}
	flags, err := ParseDefaults(out.String())
	if err != nil {
		return x, fmt.Errorf("%s -h: %w", bin, err)
	}
	x.Flags = flags
	x.Doc, err = PackageDoc(os.DirFS(root), "cmd/xvrrpd")
	return x, err
}

// LoadXvrrpctl reads xvrrpctl's commands and usage texts from the binary
// (--help, help COMMAND) and its flags from the FlagSets in cmd/xvrrpctl
// under root: "xvrrpctl" holds the global flags, each other is named
// after its command.
func LoadXvrrpctl(bin, root string) (Xvrrpctl, error) {
	var x Xvrrpctl
	help := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("%s %s: %w\n%s", bin, strings.Join(args, " "), err, errb.String())
		}
		return out.String(), nil
	}
	var err error
	if x.Usage, err = help("--help"); err != nil {
		return x, err
	}
	sets, err := SourceFlagSets(filepath.Join(root, "cmd/xvrrpctl"))
	if err != nil {
		return x, err
	}
	x.Global = sets["xvrrpctl"]
	x.Commands = ParseCommandList(x.Usage)
	if len(x.Commands) == 0 {
		return x, fmt.Errorf("%s --help lists no command", bin)
	}
	for i := range x.Commands {
		c := &x.Commands[i]
		if c.Usage, err = help("help", c.Name); err != nil {
			return x, err
		}
		c.Flags = sets[c.Name]
	}
	for name := range sets {
		if name == "xvrrpctl" {
			continue
		}
		found := false
		for _, c := range x.Commands {
			found = found || c.Name == name
		}
		if !found {
			return x, fmt.Errorf("cmd/xvrrpctl: FlagSet %q is not a command that --help lists", name)
		}
	}
	x.Doc, err = PackageDoc(os.DirFS(root), "cmd/xvrrpctl")
	return x, err
}

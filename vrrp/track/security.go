package track

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/xvrrp/xvrrp/vrrp/config"
)

// DefaultScriptUser is the user scripts run as when neither the script nor
// global_defs names one, if it exists (keepalived's default).
const DefaultScriptUser = "keepalived_script"

// SecurityError is a problem found with a script before running it.
// Disabled tells whether the script will not run (xvrrpd refuses it, as
// keepalived disables it); otherwise the error is a warning.
type SecurityError struct {
	Where    string // e.g. "vrrp_script chk_haproxy", "vrrp_instance VI_1 notify_master"
	Cmd      string
	Disabled bool
	Err      error
}

func (e *SecurityError) Error() string {
	s := e.Where
	if e.Cmd != "" {
		s += " (" + e.Cmd + ")"
	}
	s += ": " + e.Err.Error()
	if e.Disabled {
		// keepalived removes the script the same way and runs on.
		if strings.HasPrefix(e.Where, "vrrp_script ") {
			s += ": script disabled, as keepalived does: the instances and sync groups that track it run without this health check"
		} else {
			s += ": script disabled, as keepalived does: it is not run"
		}
	}
	return s
}

func (e *SecurityError) Unwrap() error { return e.Err }

// PrepareCommand takes the words c runs (c.Argv, else c.Cmd split), resolves the user it runs as (c.User, else
// global script_user, else DefaultScriptUser if that user exists, else the
// daemon's own user) and checks it as keepalived does at start
// (check_script_secure in keepalived 2.2.7's lib/notify.c):
//
//   - the program must exist (bare names are searched in PATH) and be
//     executable;
//   - the program runs by its path with symbolic links resolved, keeping
//     the name as written when it is the same file there (on a usr-merged
//     system "/bin/true" runs as /usr/bin/true, "/bin/sh" as
//     /usr/bin/sh); with use_symlink_paths (keepalived 2.3) it runs by
//     the path as written;
//   - when it runs as root (uid or gid 0, or set-uid/gid root), no part of
//     the path it runs by nor of the resolved path may be owned by a
//     non-root user, nor be a file or a directory without the sticky bit
//     that is world-writable or group-writable by a non-root group; a
//     symbolic link on the way must be owned by root and its target must
//     pass the same checks.
//
// An insecure script is refused when g.EnableScriptSecurity is set, and
// only reported otherwise. The returned error is a *SecurityError; the
// Command is nil exactly when the error's Disabled is true.
func PrepareCommand(where string, c config.Command, g config.Global) (*Command, error) {
	fail := func(disabled bool, err error) *SecurityError {
		return &SecurityError{Where: where, Cmd: c.Cmd, Disabled: disabled, Err: err}
	}
	argv, err := commandWords(c)
	if err != nil {
		return nil, fail(true, err)
	}
	cred, name, err := resolveUser(c, g)
	if err != nil {
		if c.User != "" && !strings.HasPrefix(where, "vrrp_script ") {
			// keepalived reads the words after a notify command as the
			// user and group: often arguments meant for the command.
			err = fmt.Errorf("%w (keepalived takes the word after the command, %q, for the user to run it as, and the next for the group: to pass them as arguments, quote the command with them)", err, c.User)
		}
		return nil, fail(true, err)
	}
	cmd := &Command{Argv: argv, Cred: cred, User: name}
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	if cred != nil {
		uid, gid = cred.Uid, cred.Gid
	}

	prog := argv[0]
	if !strings.Contains(prog, "/") {
		p, err := exec.LookPath(prog)
		if err != nil {
			return nil, fail(true, fmt.Errorf("find %s in PATH: %w", prog, err))
		}
		prog = p
		cmd.Argv[0] = p
	}
	if abs, err := filepath.Abs(prog); err == nil {
		prog = abs
	}
	real, err := filepath.EvalSymlinks(prog)
	if err != nil {
		return nil, fail(true, fmt.Errorf("script cannot be accessed: %w", err))
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, fail(true, fmt.Errorf("script cannot be accessed: %w", err))
	}
	run := runPath(prog, real, g.UseSymlinkPaths)
	cmd.Argv[0] = run
	st := fi.Sys().(*syscall.Stat_t)
	if !fi.Mode().IsRegular() || !executable(st, uid, gid) {
		return nil, fail(true, fmt.Errorf("%s is not an executable file for uid %d gid %d", real, uid, gid))
	}
	setuidRoot := st.Uid == 0 && st.Mode&syscall.S_ISUID != 0 || st.Gid == 0 && st.Mode&syscall.S_ISGID != 0
	if uid == 0 || gid == 0 || setuidRoot {
		for _, p := range uniq(run, real) {
			if err := pathSecure(p, false, 0); err != nil {
				err = fmt.Errorf("runs as root but %w", err)
				if g.EnableScriptSecurity {
					return nil, fail(true, err)
				}
				return cmd, fail(false, err)
			}
		}
	}
	return cmd, nil
}

// runPath is the path a script runs by, written prog and resolved to
// real. keepalived 2.2.7 runs it by the resolved directory and the name as
// written when that is the same file (some programs act on their name:
// /bin/sh runs as /usr/bin/sh, not /usr/bin/dash), else by the resolved
// path. For that last case xvrrpd keeps the path as written instead:
// keepalived would run /bin/pidof, a link to /sbin/killall5, as killall5,
// which then does not act as pidof. With use_symlink_paths (keepalived
// 2.3) the path as written, always.
func runPath(prog, real string, useSymlinks bool) string {
	if useSymlinks {
		return filepath.Clean(prog)
	}
	if filepath.Base(prog) == filepath.Base(real) {
		return real
	}
	cand := filepath.Join(filepath.Dir(real), filepath.Base(prog))
	a, err1 := os.Stat(cand)
	b, err2 := os.Stat(real)
	if err1 == nil && err2 == nil && os.SameFile(a, b) {
		return cand
	}
	return filepath.Clean(prog)
}

func uniq(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}

// executable reports whether uid/gid may execute a file with stat st.
func executable(st *syscall.Stat_t, uid, gid uint32) bool {
	m := st.Mode
	switch {
	case uid == 0:
		return m&0o111 != 0
	case uid == st.Uid:
		return m&0o100 != 0
	case gid == st.Gid:
		return m&0o010 != 0
	}
	return m&0o001 != 0
}

// maxLinks bounds the symbolic links followed while checking a path (the
// kernel's limit for one lookup).
const maxLinks = 40

// pathSecure checks every component of the absolute path p, from "/" down,
// as keepalived's check_security does: each must be owned by root, and no
// regular file or non-sticky directory may be writable by others or by a
// non-root group. keepalived 2.2.7 only meets symbolic links as the last
// component (it checks the resolved directories); here a link anywhere is
// accepted when it is owned by root and its target passes the same checks
// (as a directory when more components follow), so that /bin/true on a
// usr-merged system, where /bin is a root-owned link to usr/bin, is as
// secure as /usr/bin/true. p names a directory when dir is set, else a
// file. links counts the links followed so far.
func pathSecure(p string, dir bool, links int) error {
	if !filepath.IsAbs(p) {
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		p = abs
	}
	p = filepath.Clean(p)
	parts := strings.Split(p, "/")
	cur := "/"
	for i := 0; i < len(parts); i++ {
		if i > 0 {
			if parts[i] == "" {
				continue
			}
			cur = filepath.Join(cur, parts[i])
		}
		last := i == len(parts)-1
		var st syscall.Stat_t
		if err := syscall.Lstat(cur, &st); err != nil {
			return fmt.Errorf("stat %s: %w", cur, err)
		}
		typ := st.Mode & syscall.S_IFMT
		isDir, isReg, isLink := typ == syscall.S_IFDIR, typ == syscall.S_IFREG, typ == syscall.S_IFLNK
		wantDir := !last || dir
		if wantDir && !isDir && !isLink || !wantDir && !isReg && !isLink {
			return fmt.Errorf("%s has the wrong file type", cur)
		}
		if st.Uid != 0 {
			return fmt.Errorf("%s is owned by uid %d, not root", cur, st.Uid)
		}
		if (isDir && st.Mode&syscall.S_ISVTX == 0 || isReg) &&
			(st.Gid != 0 && st.Mode&0o020 != 0 || st.Mode&0o002 != 0) {
			return fmt.Errorf("%s is writable by non-root users (mode %#o)", cur, st.Mode&0o7777)
		}
		if isLink {
			if links >= maxLinks {
				return fmt.Errorf("%s: too many levels of symbolic links", p)
			}
			target, err := os.Readlink(cur)
			if err != nil {
				return fmt.Errorf("read link %s: %w", cur, err)
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(cur), target)
			}
			if err := pathSecure(target, wantDir, links+1); err != nil {
				return fmt.Errorf("%s links to %s: %w", cur, target, err)
			}
		}
	}
	return nil
}

// resolveUser returns the credentials a command runs with (nil: the
// daemon's own) and the user name.
func resolveUser(c config.Command, g config.Global) (*syscall.Credential, string, error) {
	name, group := c.User, c.Group
	if name == "" {
		name, group = g.ScriptUser, g.ScriptGroup
	}
	if name == "" {
		if _, err := user.Lookup(DefaultScriptUser); err == nil {
			name = DefaultScriptUser
		} else if g.EnableScriptSecurity {
			// keepalived: enable_script_security "enforces the default
			// script_user is keepalived_script" instead of falling back
			// to the daemon's user; without it, every script that names
			// no user is removed.
			return nil, "", fmt.Errorf("enable_script_security is set, no script_user is given and user %s does not exist", DefaultScriptUser)
		} else {
			return nil, "", nil
		}
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, "", fmt.Errorf("script user: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, "", fmt.Errorf("script user %s: %w", name, err)
	}
	group = strings.TrimPrefix(group, ":")
	if group != "" {
		gr, err := user.LookupGroup(group)
		if err != nil {
			return nil, "", fmt.Errorf("script group: %w", err)
		}
		if gid, err = strconv.ParseUint(gr.Gid, 10, 32); err != nil {
			return nil, "", fmt.Errorf("script group %s: %w", group, err)
		}
	}
	if uint32(uid) == uint32(os.Getuid()) && uint32(gid) == uint32(os.Getgid()) {
		return nil, name, nil
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if os.Getuid() != 0 {
		cred.NoSetGroups = true
	} else if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if v, err := strconv.ParseUint(s, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(v))
			}
		}
	}
	return cred, name, nil
}

// CheckScriptSecurity checks every script of cfg (vrrp_script blocks and
// the notify commands of instances and sync groups) with PrepareCommand and
// returns every problem as a *SecurityError, in file order. It also returns
// keepalived's warning when scripts exist but enable_script_security is not
// set. It is meant for "xvrrpd -t" and for logging at start.
func CheckScriptSecurity(cfg *config.Config) []error {
	var errs []error
	n := 0
	check := func(where string, c config.Command) {
		if c.Cmd == "" {
			return
		}
		n++
		if _, err := PrepareCommand(where, c, cfg.Global); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range cfg.Scripts {
		check("vrrp_script "+s.Name, s.Command())
	}
	notifies := func(kind, name string, nt config.Notify) {
		check(kind+" "+name+" notify_master", nt.Master)
		check(kind+" "+name+" notify_backup", nt.Backup)
		check(kind+" "+name+" notify_fault", nt.Fault)
		check(kind+" "+name+" notify_stop", nt.Stop)
		check(kind+" "+name+" notify", nt.Generic)
	}
	for _, in := range cfg.Instances {
		notifies("vrrp_instance", in.Name, in.Notify)
	}
	for _, g := range cfg.SyncGroups {
		notifies("vrrp_sync_group", g.Name, g.Notify)
	}
	if n > 0 && !cfg.Global.EnableScriptSecurity {
		errs = append(errs, &SecurityError{Where: "global_defs",
			Err: errors.New("scripts are executed but enable_script_security is not set")})
	}
	return errs
}

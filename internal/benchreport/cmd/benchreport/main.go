// Command benchreport writes the generated part of docs/BENCHMARKS.md, its
// charts and the README's headline table from the output of make bench
// (internal/benchreport), and records the run's environment.
//
//	benchreport env -command "make bench" -mode full      > bin/bench/env.txt
//	benchreport report -in bin/bench -doc docs/BENCHMARKS.md -charts docs/charts -readme README.md
//	benchreport report -in bin/bench-quick -out bin/bench-quick/report.md -charts bin/bench-quick/charts
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/xvrrp/xvrrp/internal/benchreport"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: benchreport env|report [flags]")
	}
	switch args[0] {
	case "env":
		return runEnv(args[1:], stdout, stderr)
	case "report":
		return runReport(args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown command %q (env or report)", args[0])
}

func runEnv(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	fs.SetOutput(stderr)
	command := fs.String("command", "make bench", "the command that ran the benchmarks")
	mode := fs.String("mode", "full", "full or quick")
	if err := fs.Parse(args); err != nil {
		return err
	}
	now := time.Now().UTC()
	kv := [][2]string{
		{"date", now.Format("2006-01-02 15:04 MST")},
		{"started", strconv.FormatInt(now.Unix(), 10)},
		{"command", *command},
		{"mode", *mode},
		{"machine", cpuModel()},
		{"cpus", strconv.Itoa(runtime.NumCPU())},
		{"memory", memTotal()},
		{"kernel", firstLine("uname", "-r")},
		{"os", osName()},
		{"go", firstLine("go", "version")},
		{"keepalived", firstLine("keepalived", "-v")},
		{"xvrrpd", gitDescribe()},
		{"load", loadAvg()},
	}
	_, err := fmt.Fprintln(stdout, benchreport.EnvLine(kv))
	return err
}

func runReport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "bin/bench", "directory of the runs' output (*.txt)")
	doc := fs.String("doc", "", "document whose generated block is replaced (docs/BENCHMARKS.md)")
	out := fs.String("out", "", "write a standalone report here instead of -doc")
	charts := fs.String("charts", "", "directory for the PNG charts")
	readme := fs.String("readme", "", "README whose headline block is replaced")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*doc == "") == (*out == "") {
		return errors.New("report: give one of -doc and -out")
	}
	files, err := filepath.Glob(filepath.Join(*in, "*.txt"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no *.txt in %s", *in)
	}
	var res benchreport.Results
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return err
		}
		err = res.Parse(fh, filepath.Base(f))
		fh.Close()
		if err != nil {
			return err
		}
	}
	rep := benchreport.Build(&res)
	if s, err := strconv.ParseInt(rep.Env["started"], 10, 64); err == nil {
		rep.Env["duration"] = time.Since(time.Unix(s, 0)).Round(time.Second).String()
	}
	target := *doc
	if target == "" {
		target = *out
	}
	chartRel := "charts"
	if *charts != "" {
		if err := rep.WriteCharts(*charts); err != nil {
			return err
		}
		if r, err := filepath.Rel(filepath.Dir(target), *charts); err == nil {
			chartRel = filepath.ToSlash(r)
		}
	}
	md := rep.Markdown(chartRel)
	if *out != "" {
		if err := os.WriteFile(*out, []byte("# Benchmark report\n\n"+md), 0o644); err != nil {
			return err
		}
	} else if err := splice(*doc, benchreport.DocBegin, benchreport.DocEnd, md); err != nil {
		return err
	}
	if *readme != "" {
		rel, err := filepath.Rel(filepath.Dir(*readme), *doc)
		if err != nil || *doc == "" {
			rel = "docs/BENCHMARKS.md"
		}
		cmd := rep.Env["command"]
		if cmd == "" {
			cmd = "make bench"
		}
		block := rep.HeadlineMarkdown() + "\nFrom `" + cmd + "`" + dateOf(rep) + "; every scenario, method and chart: [" +
			filepath.ToSlash(rel) + "](" + filepath.ToSlash(rel) + ").\n"
		if err := splice(*readme, benchreport.ReadmeBegin, benchreport.ReadmeEnd, block); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "benchreport: %d records from %d files, %d failed tests; wrote %s\n", len(res.Records), len(files), len(res.Failures), target)
	return nil
}

func dateOf(r *benchreport.Report) string {
	if d := r.Env["date"]; d != "" {
		return " (" + d + ")"
	}
	return ""
}

// splice replaces the block between begin and end in the file path.
func splice(path, begin, end, block string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s, err := benchreport.Splice(string(b), begin, end, block)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

// firstLine is the first line of a command's output (stdout and stderr),
// or "unknown".
func firstLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if err != nil && line == "" {
		return "unknown"
	}
	return strings.TrimSpace(line)
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "MemTotal:" {
			if kb, err := strconv.Atoi(f[1]); err == nil {
				return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	return "unknown"
}

func osName() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "unknown"
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// gitDescribe is the commit the binaries were built from, "+ changes"
// when the work tree differs from it.
func gitDescribe() string {
	rev := firstLine("git", "rev-parse", "--short", "HEAD")
	out, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output()
	if err == nil && len(bytes.TrimSpace(out)) > 0 {
		rev += " + uncommitted changes in the work tree"
	}
	return "commit " + rev
}

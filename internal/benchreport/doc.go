// Package benchreport turns the output of the benchmark runs of make bench
// (the greppable lines the e2e benchmarks and go test -bench print) into
// the generated part of docs/BENCHMARKS.md: tables of medians over the
// repetitions, keepalived beside xvrrpd with their ratio, and one PNG
// chart per scenario drawn with gonum.org/v1/plot.
//
// Parse reads the lines; Build groups them into a Report; Markdown and
// Charts render it; Splice replaces the generated block of a document.
// Nothing here measures or asserts timings: it only formats what the runs
// measured. None of its types are safe for concurrent use.
package benchreport

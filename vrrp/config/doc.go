// Package config reads keepalived.conf files as keepalived users already have
// them and turns them into typed, validated settings for xvrrpd.
//
// Reading happens in three steps:
//
//  1. The lexer reads the lines as keepalived 2.2.7's lib/parser.c does, in
//     its two passes (its parent process writes a copy of the files, its
//     VRRP process reads that copy): comments ('#', '!' outside quotes),
//     "@ID" lines (Options.ConfigID, keepalived's -i), "$NAME=value"
//     definitions and their substitution, ~SEQ and ~LST lines, includes
//     (the rest of the line one glob pattern, relative to the including
//     file), every '{' and '}' cut to a line of its own; then it splits
//     each line into words: a '"' ends a word and starts a quoted string,
//     with no escapes. Tokens are those words (with their line, which
//     script keywords split again), the braces and the line ends. Every
//     decision is in docs/MIGRATING.md, "How xvrrpd reads the file".
//  2. The tokens become a generic block tree: keyword, arguments, optional
//     children, and the file and line of each keyword. Braces may sit on the
//     keyword's line or the next one.
//  3. The tree is read again as keepalived's parser reads the file, with
//     the keywords keepalived knows in each block (keywords_keepalived.go,
//     generated from keepalived's sources): a keyword it does not know is
//     reported and dropped, and the lines of an unknown block are read one
//     level up, where keepalived reads them.
//  4. The tree is decoded into Config: global_defs, vrrp_script, track_file,
//     vrrp_instance and vrrp_sync_group, with keepalived's defaults, and then
//     validated as a whole (track_script names resolved in file order,
//     duplicate virtual router IDs, advert_int for the protocol version, ...).
//
// Every problem carries the file and line it comes from. Errors are all
// collected (reading never stops at the first) and returned as Errors.
// Keywords xvrrpd does not implement are never ignored silently: each one
// becomes a Warning. Report prints both, as "xvrrpd -t" does.
//
// Where keepalived would silently adjust a value (rounding a VRRPv2
// sub-second advert_int, clamping an out-of-range priority), this package
// reports an error instead, so that the operator sees the problem before a
// failover does. Where keepalived reports a value and runs with a
// correction (state SLAVE, a track_script naming no vrrp_script, an
// address of the other family, vrrp_strict dropping authentication), the
// decoded Config has the same correction and a Warning of kind
// KindCorrected says so: "xvrrpd -t" fails on it as "keepalived -t" does,
// and the daemon runs as keepalived would.
//
// The package imports the standard library and package vrrp only. A Config is
// a plain value: safe to read from several goroutines, not to modify
// concurrently.
package config

// Package config reads keepalived.conf files as keepalived users already have
// them and turns them into typed, validated settings for xvrrpd.
//
// Reading happens in three steps:
//
//  1. The lexer splits each file into tokens: words, "quoted strings" (one
//     token, quotes removed), '{' and '}', and line ends. '!' and '#' start a
//     comment anywhere outside quotes. "include PATTERN" lines are replaced by
//     the tokens of every file the glob pattern matches, relative to the
//     directory of the including file, with a depth limit and cycle check.
//  2. The tokens become a generic block tree: keyword, arguments, optional
//     children, and the file and line of each keyword. Braces may sit on the
//     keyword's line or the next one.
//  3. The tree is decoded into Config: global_defs, vrrp_script, track_file,
//     vrrp_instance and vrrp_sync_group, with keepalived's defaults, and then
//     validated as a whole (unknown track_script names, duplicate virtual
//     router IDs, advert_int for the protocol version, ...).
//
// Every problem carries the file and line it comes from. Errors are all
// collected (reading never stops at the first) and returned as Errors.
// Keywords xvrrpd does not implement are never ignored silently: each one
// becomes a Warning. Report prints both, as "xvrrpd -t" does.
//
// Where keepalived would silently adjust a value (rounding a VRRPv2
// sub-second advert_int, clamping an out-of-range priority), this package
// reports an error instead, so that the operator sees the problem before a
// failover does. Where keepalived changes behaviour in a way its peers rely
// on (vrrp_strict drops authentication and forces state BACKUP below
// priority 255), the decoded Config does the same and says so in a warning.
//
// The package imports the standard library and package vrrp only. A Config is
// a plain value: safe to read from several goroutines, not to modify
// concurrently.
package config

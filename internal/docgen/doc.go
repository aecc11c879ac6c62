// Package docgen generates documentation from the code it documents, so
// that the two cannot drift:
//
//   - man pages and bash completions for xvrrpd and xvrrpctl, from their
//     flag definitions: xvrrpd's FlagSet as its -h prints it, xvrrpctl's
//     FlagSets found in its source (every flag.NewFlagSet and the flags
//     defined on it) with each command's usage text as the binary prints it;
//   - the keyword table of docs/MIGRATING.md, from the keepalived.conf
//     parser's own switch statements and unsupported-keyword sets
//     (vrrp/config/decode.go), each keyword classified by what the parser
//     does with it.
//
// The gendocs command (internal/docgen/gendocs) writes them; `make man`,
// `make install` and `make docs` run it. Nothing here is safe for
// concurrent use unless said so; nothing is used at run time by the
// daemon.
package docgen

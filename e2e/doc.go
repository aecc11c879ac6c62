// Package e2e holds end-to-end tests of xvrrpd: real daemons in network
// namespaces joined by a bridge, observed from the outside (addresses on the
// interfaces, frames a client sees, the control socket's status). The tests
// need root; under CI=true they must run.
//
// harness_test.go builds xvrrpd once per test binary and provides the
// topology, process and configuration helpers every e2e test uses
// (including the keepalived interop tests).
package e2e

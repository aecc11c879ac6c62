// Package control is the one owner of the control protocol between xvrrpd
// and xvrrpctl: its types (Status, InstanceStatus, VIPStatus, Reply), the
// server (Serve) that answers on the daemon's unix socket, and the client
// (Query, QueryStatus, QueryReload).
//
// The protocol is one request per connection. The client writes a command
// and a newline; the server answers one line of JSON and closes the
// connection:
//
//	status  → a Status
//	reload  → {"ok":true}, or {"error":"..."} with every configuration error
//	other   → {"error":"unknown command ..."}
//
// The socket lives in the daemon's run directory (SocketName) with mode
// 0600: only its owner, root, can connect.
//
// The package imports the standard library and zap only, so that xvrrpctl
// links neither the daemon nor cilium/ebpf (imports_test.go checks it).
package control

// Package control is the one owner of the control protocol between xvrrpd
// and xvrrpctl: its types (Status, InstanceStatus, VIPStatus, Event,
// Reply), the server (Serve) that answers on the daemon's unix socket, the
// client (Query, QueryStatus, QueryReload, Watch), and the mapping of a
// Status onto keepalived's JSON dump and counter names (Keepalived,
// KeepalivedErrors).
//
// The protocol is one request per connection. The client writes a command
// and a newline; the server answers one line of JSON and closes the
// connection, except for watch, which streams:
//
//	status  → a Status
//	reload  → {"ok":true}, or {"error":"..."} with every configuration error
//	watch   → {"ok":true}, then one Event per line as state changes happen,
//	          until the client disconnects or the daemon stops
//	          ({"error":"..."} when the handler cannot watch)
//	other   → {"error":"unknown command ..."}
//
// The socket lives in the daemon's run directory (SocketName) with mode
// 0600: only its owner, root, can connect.
//
// The package imports the standard library and zap only, so that xvrrpctl
// links neither the daemon nor cilium/ebpf (imports_test.go checks it).
package control

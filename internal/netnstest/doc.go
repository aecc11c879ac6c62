// Package netnstest builds throw-away network namespaces and small topologies
// (a Linux bridge with veth-attached nodes) for integration tests.
//
// Every namespace is named ("ip netns add" semantics: bind-mounted under
// /run/netns), so external programs such as keepalived or tcpdump can be run
// inside it with "ip netns exec". Names are unique per run, so tests in
// parallel packages do not collide. Everything a test creates — namespaces,
// the links inside them, netlink handles and processes started in them — is
// removed by t.Cleanup.
//
// Go code enters a namespace with NS.Do, which runs a function on a locked OS
// thread switched into the namespace. Sockets and links created inside Do stay
// bound to the namespace after Do returns, so the usual pattern is to open a
// socket inside Do and use it from any goroutine afterwards.
//
// The helpers need root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and the ip command
// from iproute2; callers check with testenv.RequireRoot first.
package netnstest

// Package daemon is the I/O shell around the protocol core: it builds a
// vrrp.Router per vrrp_instance and runs the one control loop that steps
// them and carries out their actions.
//
// The loop (Daemon.Run) is one goroutine. Its inputs — adverts and drop
// samples from the Dataplane (raw sockets or the BPF path, behind one
// interface), link and address changes from the host watch (Env.Watch),
// tracker verdicts, reload requests, the periodic attachment check and
// the timer at the earliest deadline — all go through Daemon.handle, so
// the unit tests drive it with fakes of Env, Dataplane, Tracker and
// Notifier and a fake clock, without root. An instance talks to the world
// only through its binding's Port and Env; it holds no reference to the
// Daemon.
//
// An instance whose interface or primary address is missing waits in
// FAULT and binds when the host watch reports it usable; a deleted or
// renamed interface puts it back in FAULT (priority 0 first). A VIP that
// disappears from a master is added again. Reload applies a new
// configuration by difference.
//
// A Daemon is built by New and run once by Run; Status, Reload, WriteData
// and WriteStats are safe to call concurrently with Run. The control
// protocol (types, socket) lives in package control.
package daemon

// Package notify runs keepalived's notify scripts (notify_master,
// notify_backup, notify_fault, notify_stop and the generic notify) and
// writes notify_fifo lines, for instances and sync groups, with
// keepalived 2.2's arguments and line format (keepalived/vrrp/vrrp_notify.c).
//
// keepalived starts notify scripts without waiting for them. A Runner
// starts those of one instance or group in order, each one when the
// previous has ended or after a short grace (Options.OrderGrace, 1 s), so
// that a script normally sees the states in the order they happened while
// a slow or hung one delays the next by at most the grace. Each run is
// bounded by a timeout (DefaultTimeout) after which its process group is
// killed. At Close, what is queued (notify_stop) starts without delay, in
// order, each waiting at most 200 ms for the one before it, and what
// still runs at Close's deadline is left running, as keepalived leaves it.
package notify

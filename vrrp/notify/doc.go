// Package notify runs keepalived's notify scripts (notify_master,
// notify_backup, notify_fault, notify_stop and the generic notify) and
// writes notify_fifo lines, for instances and sync groups, with
// keepalived 2.2's arguments and line format (keepalived/vrrp/vrrp_notify.c).
//
// Unlike keepalived, which starts notify scripts without waiting for them,
// a Runner runs them one after the other per instance or group, so that a
// script always sees the states in the order they happened; each run is
// bounded by a timeout (DefaultTimeout) after which its process group is
// killed.
package notify

// Package track runs keepalived's health trackers — vrrp_script,
// track_interface and track_file, on instances and on sync groups — and
// turns their results into an effective priority and a fault flag per
// vrrp_instance, delivered as Updates to the control loop.
//
// Semantics follow keepalived 2.2 (vrrp_track.c, vrrp_scheduler.c,
// trackers/track_file.c, core/notify.c):
//
//   - A script runs every interval, never twice at once; after timeout
//     (default: interval) its process group gets SIGTERM, then SIGKILL,
//     and the run counts as a failure. rise successes make it OK, fall
//     failures make it FAILED. Without init_fail the first result decides;
//     with init_fail it starts FAILED.
//   - A positive weight is added while OK, a negative one while FAILED;
//     reverse inverts the direction; weight 0 means FAULT while FAILED
//     (reverse: while OK). An instance whose weight-0 script has not
//     reported yet is Waiting (keepalived keeps it in INIT).
//   - track_interface: down (not IFF_UP and IFF_RUNNING) works like a
//     failed script; the instance's own interface is tracked with weight 0
//     unless dont_track_primary.
//   - track_file: value × weight is added (weight 0: non-zero means
//     FAULT); a product of -254 or less means FAULT; a missing file reads 0.
//   - Effective priority: configured + weights, clamped to 1..254; the
//     address owner (255) keeps 255, and like sync-group members runs no
//     weighted trackers (weighted scripts dropped, interfaces and files
//     tracked with weight 0 in a sync group).
//
// Scripts are executed directly (SplitCommand), not through a shell, as the
// user PrepareCommand resolves, after its security checks.
package track

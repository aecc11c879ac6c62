package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xvrrp/xvrrp/internal/testenv"
	"github.com/xvrrp/xvrrp/vrrp"
)

// benchVRIDs and benchInterval: the steady state of docs/BENCHMARKS.md
// ("Kernel path"): a Backup of 255 virtual routers whose master advertises
// every 10 ms (25 500 adverts a second).
const (
	benchVRIDs    = 255
	benchInterval = 10 * time.Millisecond
)

// TestKernelPathBackupCPU measures the CPU time of an xvrrpd Backup with
// 255 VRRPv3 instances at advert_int 0.01, fed by a generator that sends
// the 255 masters' adverts every 10 ms, on each dataplane in the same run
// (XVRRP_BENCH_DATAPLANES, default xdp,xdp-mapread,socket; window XVRRP_BENCH_WINDOW,
// default 10s). It prints one KERNELPATH line per dataplane and a table.
// It is a benchmark: it runs only with XVRRP_BENCH=1 (make bench) and
// asserts only that the adverts arrived and the Backup stayed Backup.
func TestKernelPathBackupCPU(t *testing.T) {
	if os.Getenv("XVRRP_BENCH") != "1" {
		t.Skip("benchmark: set XVRRP_BENCH=1 (make bench)")
	}
	testenv.RequireRoot(t)
	// xdp-mapread: the XDP dataplane without the kernel's silence watch
	// (XVRRP_KERNEL_WATCH=0): Backups read the adverts map at each
	// master-down deadline instead.
	dps := []string{"xdp", "xdp-mapread", "socket"}
	if s := os.Getenv("XVRRP_BENCH_DATAPLANES"); s != "" {
		dps = strings.Split(s, ",")
	}
	window := 10 * time.Second
	if s := os.Getenv("XVRRP_BENCH_WINDOW"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("XVRRP_BENCH_WINDOW: %v", err)
		}
		window = d
	}
	var lines []string
	for _, dp := range dps {
		t.Run(dp, func(t *testing.T) {
			if dp == "xdp-mapread" {
				t.Setenv("XVRRP_KERNEL_WATCH", "0")
			}
			r := benchBackup(t, strings.TrimSuffix(dp, "-mapread"), window)
			r = strings.Replace(r, "dataplane=", "variant="+dp+" dataplane=", 1)
			t.Log(r)
			lines = append(lines, r)
		})
	}
	t.Logf("\n%s", strings.Join(lines, "\n"))
}

// benchBackup runs one measurement and returns its KERNELPATH line.
func benchBackup(t *testing.T, dataplane string, window time.Duration) string {
	l := newLAN(t, "gen", "bk")
	gen, bk := l.Node(t, "gen"), l.Node(t, "bk")

	vip := func(vrid int) netip.Addr { return netip.AddrFrom4([4]byte{172, 16, byte(vrid), 1}) }
	var frames [][]byte
	var insts []vrrpInstance
	src := gen.IPv4.Addr()
	for v := 1; v <= benchVRIDs; v++ {
		a := vrrp.Advert{Version: vrrp.V3, VRID: uint8(v), Priority: 200, Interval: benchInterval, Addrs: []netip.Addr{vip(v)}}
		p, err := a.Marshal(src, vrrp.GroupIPv4)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		frames = append(frames, frameV4(gen.Link.HardwareAddr, src, vrrp.GroupIPv4, 255, p))
		insts = append(insts, vrrpInstance{State: "BACKUP", VRID: v, Priority: 100, AdvertInt: "0.01", Version: 3,
			VIPs: []string{vip(v).String() + "/32"}})
	}

	// The generator: every 10 ms one advert per VRID, bounded in time.
	pc := openPacket(t, gen.NS, ifName, 0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sendErrs int
	var lastSend atomic.Int64 // UnixNano after the last complete burst
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(benchInterval)
		defer tick.Stop()
		end := time.After(window + 60*time.Second)
		for {
			select {
			case <-stop:
				return
			case <-end:
				return
			case <-tick.C:
			}
			for _, f := range frames {
				if pc.Send(f) != nil {
					sendErrs++
				}
			}
			lastSend.Store(time.Now().UnixNano())
		}
	}()
	var once sync.Once
	halt := func() { once.Do(func() { close(stop); wg.Wait() }) }
	t.Cleanup(halt)

	time.Sleep(200 * time.Millisecond)
	x := startXvrrpd(t, bk.NS, "bk", keepalivedConf("bk", nil, insts...), "--dataplane", dataplane, "--log-level", "info")
	waitFor(t, 30*time.Second, "255 backups that know the master", func() bool {
		s, err := x.QueryStatus()
		if err != nil || len(s.Instances) != benchVRIDs {
			return false
		}
		for _, in := range s.Instances {
			if in.State != "BACKUP" || in.Master == "" {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second) // settle

	s0 := x.Status(t)
	c0, r0, w0 := procCPU(t, x.Pid()), procRunTime(t, x.Pid()), time.Now()
	time.Sleep(window)
	c1, r1, w1 := procCPU(t, x.Pid()), procRunTime(t, x.Pid()), time.Now()
	s1 := x.Status(t)
	halt()

	// The masters fall silent: every Backup takes over after its
	// Master_Down_Interval (RFC 5798 §6.1; 36.1 ms at priority 100).
	// Reference: RFC 5798 §6.4.2.
	stopped := time.Unix(0, lastSend.Load())
	var first, last time.Duration
	waitFor(t, 10*time.Second, "255 masters after the generator stopped", func() bool {
		s, err := x.QueryStatus()
		if err != nil {
			return false
		}
		first, last = time.Hour, 0
		for _, in := range s.Instances {
			if in.State != "MASTER" {
				return false
			}
			d := in.Since.Sub(stopped)
			first, last = min(first, d), max(last, d)
		}
		return true
	})
	mdi := masterDownInterval(benchInterval, 100)
	if first < mdi-benchInterval || first > mdi+100*time.Millisecond {
		t.Errorf("first takeover %v after the last advert burst, want Master_Down_Interval %v (+ margin)", first, mdi)
	}

	el := w1.Sub(w0).Seconds()
	if s1.Transitions != s0.Transitions {
		t.Errorf("%d transitions during the window: the Backup did not stay Backup", s1.Transitions-s0.Transitions)
	}
	for _, in := range s1.Instances {
		if in.State != "BACKUP" {
			t.Errorf("%s is %s after the window", in.Name, in.State)
		}
	}
	rate := float64(s1.Accepted-s0.Accepted) / el
	if rate < 0.9*benchVRIDs/benchInterval.Seconds() {
		t.Errorf("only %.0f adverts/s accepted (want about %.0f; %d send errors)", rate, benchVRIDs/benchInterval.Seconds(), sendErrs)
	}
	return fmt.Sprintf("KERNELPATH dataplane=%s vrids=%d interval=%s accepted_per_s=%.0f cpu=%.3f%% (schedstat) cpu_stat=%.2f%% (utime+stime) window=%.1fs takeover_first=%.1fms takeover_last=%.1fms (mdi %.1fms)",
		s1.Dataplane, benchVRIDs, benchInterval, rate,
		100*(r1-r0).Seconds()/el, 100*(c1-c0).Seconds()/el, el,
		ms(first), ms(last), ms(mdi))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// procCPU is utime + stime of pid (fields 14 and 15 of /proc/PID/stat, in
// USER_HZ = 100 ticks a second), every thread included.
func procCPU(t testing.TB, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("cpu time of %d: %v", pid, err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	var ticks uint64
	for _, v := range f[11:13] { // f[0] is field 3
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("parse /proc/%d/stat: %v", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// procRunTime is the time pid's threads spent on a CPU (the first field of
// /proc/PID/task/*/schedstat, in ns): finer than procCPU's 10 ms ticks.
func procRunTime(t testing.TB, pid int) time.Duration {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	var sum time.Duration
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			t.Fatalf("parse %s: %v", p, err)
		}
		sum += time.Duration(n)
	}
	return sum
}

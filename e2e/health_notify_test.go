package e2e

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xvrrp/xvrrp/internal/testenv"
)

// healthFifo reads the lines written to a notify_fifo.
type healthFifo struct {
	mu    sync.Mutex
	lines []string
}

// openHealthFifo creates a fifo at path and reads its lines in the
// background until cleanup. The fifo is opened read-write, so it never
// sees end-of-file when the daemon closes its end.
func openHealthFifo(t testing.TB, path string) *healthFifo {
	t.Helper()
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatalf("mkfifo %s: %v", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open fifo %s: %v", path, err)
	}
	hf := &healthFifo{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(f)
		for n := 0; n < 10000 && sc.Scan(); n++ {
			hf.mu.Lock()
			hf.lines = append(hf.lines, sc.Text())
			hf.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		f.Close() // the poller wakes the blocked read
		<-done
	})
	return hf
}

// Lines returns the lines read so far.
func (hf *healthFifo) Lines() []string {
	hf.mu.Lock()
	defer hf.mu.Unlock()
	return slices.Clone(hf.lines)
}

// TestHealthNotifyScripts runs the seed 003 notify pattern (notify_master,
// notify_backup, notify_fault with a word argument, plus notify_stop and the
// generic notify script and a notify_fifo) through a whole life: start →
// BACKUP → MASTER, a weight-0 check failing → FAULT, healing → BACKUP →
// MASTER, SIGTERM → STOP. Every transition runs its own script, then the
// generic one, then writes its fifo line: once, in order.
func TestHealthNotifyScripts(t *testing.T) {
	testenv.RequireRoot(t)
	t.Parallel()
	l := newLAN(t, "r1")
	n1 := l.Node(t, "r1")
	vip := l.VIP4(1)
	flag := newHealthFlag(t)
	script, out := healthNotifyScript(t)
	fifoPath := filepath.Join(t.TempDir(), "notify.fifo")
	fifo := openHealthFifo(t, fifoPath)

	s := healthScript{Name: "chk", Script: flag.Script, Interval: "1", Fall: 1, Rise: 1}
	in := vrrpInstance{Name: "VI_1", State: "MASTER", VRID: 51, Priority: 110, AdvertInt: "0.1", Version: 3,
		VIPs: []string{vip.String() + "/24"},
		Extra: append(healthTrackScript("chk"),
			`notify_master "`+script+` master"`,
			`notify_backup "`+script+` backup"`,
			`notify_fault "`+script+` fault"`,
			`notify_stop "`+script+` stop"`,
			`notify "`+script+`"`,
		)}
	conf := healthConf("r1", []string{"notify_fifo " + fifoPath}, []string{healthScriptConf(s)}, in)
	r1 := startXvrrpd(t, n1.NS, "r1", conf)

	want := func(word, state string) []string {
		return []string{word, "INSTANCE VI_1 " + state + " 110"}
	}
	var lines []string
	// step waits for the notify file to hold exactly the lines so far
	// plus the ones of one transition, and for nothing more to come.
	step := func(what string, add ...string) {
		t.Helper()
		lines = append(lines, add...)
		waitFor(t, 3*time.Second, what+": notify lines "+strings.Join(lines, " | "), func() bool {
			return len(healthLines(t, out)) >= len(lines)
		})
		if got := healthLines(t, out); !slices.Equal(got, lines) {
			t.Fatalf("after %s notify lines:\n%s\nwant:\n%s", what, strings.Join(got, "\n"), strings.Join(lines, "\n"))
		}
	}

	waitFor(t, 5*time.Second, "r1 MASTER with the VIP", func() bool {
		return r1.State("VI_1") == "MASTER" && hasVIP(t, n1.NS, ifName, vip)
	})
	step("start", append(want("backup", "BACKUP"), want("master", "MASTER")...)...)

	flag.Fail(t)
	waitFor(t, 3*time.Second, "r1 FAULT without the VIP", func() bool {
		return r1.State("VI_1") == "FAULT" && !hasVIP(t, n1.NS, ifName, vip)
	})
	step("check failing", want("fault", "FAULT")...)

	flag.Heal(t)
	waitFor(t, 3*time.Second, "r1 MASTER again", func() bool {
		return r1.State("VI_1") == "MASTER" && hasVIP(t, n1.NS, ifName, vip)
	})
	step("check healing", append(want("backup", "BACKUP"), want("master", "MASTER")...)...)
	holdFor(t, 300*time.Millisecond, "no further notify line while MASTER", func() bool {
		return len(healthLines(t, out)) == len(lines)
	})

	if err := syscall.Kill(r1.Pid(), syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if err := r1.Wait(5 * time.Second); err != nil {
		t.Errorf("xvrrpd exit after SIGTERM: %v", err)
	}
	step("SIGTERM", want("stop", "STOP")...)

	wantFifo := []string{
		`INSTANCE "VI_1" BACKUP 110`, `INSTANCE "VI_1" MASTER 110`,
		`INSTANCE "VI_1" FAULT 110`,
		`INSTANCE "VI_1" BACKUP 110`, `INSTANCE "VI_1" MASTER 110`,
		`INSTANCE "VI_1" STOP 110`,
	}
	waitFor(t, 2*time.Second, "the notify_fifo lines", func() bool { return len(fifo.Lines()) >= len(wantFifo) })
	if got := fifo.Lines(); !slices.Equal(got, wantFifo) {
		t.Errorf("notify_fifo lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantFifo, "\n"))
	}
}

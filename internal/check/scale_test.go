package check

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/check/checktest"
	"github.com/govs/govs/internal/testutil"
)

func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// cpuTime is this process's user and system CPU time.
func cpuTime() (user, sys time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// thousandAddrs are 1,000 loopback addresses, 127.0.1.1 onwards.
func thousandAddrs() []netip.Addr {
	out := make([]netip.Addr, 0, 1000)
	for i := 0; i < 1000; i++ {
		out = append(out, netip.AddrFrom4([4]byte{127, 0, byte(1 + i/250), byte(1 + i%250)}))
	}
	return out
}

// thousandRun is what one run of thousandServers measured.
type thousandRun struct {
	checks    uint64
	wall      time.Duration
	user, sys time.Duration
}

func (r thousandRun) share() float64 { return float64(r.user+r.sys) / float64(r.wall) }

// thousandServers checks 1,000 real servers (one nginx listening on 1,000 loopback
// addresses) every second with TCP_CHECK (HTTP_GET for every other one when
// GOVS_SCALE_HTTP is set) and measures, over window, the checks done and this process's
// CPU: the process runs nothing but the checkers meanwhile. It also verifies that every
// server stays up, that the checkers keep pace, and that stopping leaves no goroutine
// or file descriptor behind.
func thousandServers(t testing.TB, window time.Duration) thousandRun {
	addrs := thousandAddrs()
	var listen strings.Builder
	for _, a := range addrs {
		fmt.Fprintf(&listen, "  listen %s:{{.Port}};\n", a)
	}
	ng := checktest.StartNginx(t, "server {\n  listen 127.0.0.1:{{.Port}};\n"+listen.String()+"  location / { return 200 \"ok\\n\"; }\n}\n")
	fdsBefore := openFDs(t)

	timing := Timing{DelayLoop: Dur(time.Second), ConnectTimeout: Dur(2 * time.Second), Retry: Int(1),
		DelayBeforeRetry: Dur(time.Second), Warmup: Dur(time.Second)}
	rss := make([]RealServer, len(addrs))
	for i, a := range addrs {
		spec := Spec{Type: "TCP_CHECK"}
		if os.Getenv("GOVS_SCALE_HTTP") != "" && i%2 == 1 {
			spec = Spec{Type: "HTTP_GET", Options: &HTTPOptions{URLs: []URL{{Path: "/", Digest: md5hex("ok\n")}}}}
		}
		rss[i] = RealServer{VS: testVS, Addr: netip.AddrPortFrom(a, uint16(ng.Port)), Weight: 1, Timing: timing, Checkers: []Spec{spec}}
	}
	m, stop := runManager(t, Options{}, rss)
	time.Sleep(2 * time.Second) // past warmup: every checker has started

	count := func() (n uint64, down int) {
		for _, st := range m.Status() {
			n += st.Checkers[0].Checks
			if !st.Up {
				down++
			}
		}
		return n, down
	}
	checks0, _ := count()
	user0, sys0 := cpuTime()
	wall0 := time.Now()
	time.Sleep(window)
	user, sys := cpuTime()
	run := thousandRun{wall: time.Since(wall0), user: user - user0, sys: sys - sys0}
	checks, down := count()
	run.checks = checks - checks0
	t.Logf("1000 real servers: %d checks in %v (%.0f/s), CPU user %v + system %v = %.1f%% of one core (%.0f µs/check)",
		run.checks, run.wall.Round(time.Millisecond), float64(run.checks)/run.wall.Seconds(),
		run.user.Round(time.Millisecond), run.sys.Round(time.Millisecond), 100*run.share(),
		float64((run.user+run.sys).Microseconds())/float64(max(run.checks, 1)))
	if down > 0 {
		t.Errorf("%d of 1000 healthy servers are down", down)
	}
	if float64(run.checks) < 0.9*float64(len(addrs))*run.wall.Seconds() {
		t.Errorf("only %d checks in %v: the checkers fall behind", run.checks, run.wall)
	}
	select {
	case ev := <-m.Events():
		t.Errorf("unexpected event %+v", ev)
	default:
	}
	stop()
	if after := openFDs(t); after > fdsBefore {
		t.Errorf("file descriptors: %d before, %d after", fdsBefore, after)
	}
	return run
}

// TestThousandServers is the correctness half of the 1,000-server run; its CPU figure
// is logged, and BenchmarkThousandServers reports it as the performance goal (below 10 %
// of one core).
func TestThousandServers(t *testing.T) {
	testutil.Integration(t)
	leakCheck(t)
	thousandServers(t, 5*time.Second)
}

// BenchmarkThousandServers reports the checkers' CPU for 1,000 real servers checked
// every second, as a percentage of one core (goal: below 10). Run with
//
//	GOVS_INTEGRATION=1 go test -run '^$' -bench ThousandServers -benchtime 1x ./internal/check
func BenchmarkThousandServers(b *testing.B) {
	testutil.Integration(b)
	var run thousandRun
	for b.Loop() {
		run = thousandServers(b, 10*time.Second)
	}
	b.ReportMetric(100*run.share(), "%core")
	b.ReportMetric(float64((run.user+run.sys).Microseconds())/float64(max(run.checks, 1)), "µs-cpu/check")
	b.ReportMetric(float64(run.checks)/run.wall.Seconds(), "checks/s")
}

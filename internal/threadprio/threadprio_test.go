package threadprio

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
	"golang.org/x/sys/unix"
)

// The main goroutine keeps the main thread, so a test's goroutine never lands there:
// the runtime parks, rather than ends, a main thread whose locked goroutine exits.
func init() { runtime.LockOSThread() }

// threadState is what the kernel says of one thread's scheduling.
type threadState struct {
	policy, rtPrio, nice int
	cpus                 int // how many CPUs it may run on
}

func stateOf(t *testing.T, tid int) threadState {
	t.Helper()
	attr, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		t.Fatal(err)
	}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(tid, &set); err != nil {
		t.Fatal(err)
	}
	return threadState{policy: int(attr.Policy), rtPrio: int(attr.Priority), nice: int(attr.Nice), cpus: set.Count()}
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_NICE, CAP_IPC_LOCK)")
	}
}

// joinedThread starts a goroutine that joins g and waits for stop; it returns its
// thread and stopped, closed once the goroutine (and so the thread) ended.
func joinedThread(g *Group) (tid int, stop, stopped chan struct{}) {
	tids := make(chan int)
	stop, stopped = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		defer g.Join()()
		tids <- unix.Gettid()
		<-stop
	}()
	return <-tids, stop, stopped
}

// TestGroup: a thread that joins gets the group's settings, Set moves it (and back to
// the process's defaults), and the thread ends with its goroutine.
func TestGroup(t *testing.T) {
	needRoot(t)
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		t.Fatal(err)
	}
	g := NewGroup("test", Settings{RealTime: 7, CPUs: []int{0}}, slog.New(slog.DiscardHandler))
	tid, stop, stopped := joinedThread(g)
	for _, step := range []struct {
		set  *Settings
		want threadState
	}{
		{nil, threadState{policy: unix.SCHED_RR, rtPrio: 7, cpus: 1}},
		{&Settings{Nice: 5}, threadState{policy: unix.SCHED_NORMAL, nice: 5, cpus: all.Count()}},
		{&Settings{RealTime: 3}, threadState{policy: unix.SCHED_RR, rtPrio: 3, cpus: all.Count()}},
		{&Settings{}, threadState{policy: unix.SCHED_NORMAL, cpus: all.Count()}},
	} {
		if step.set != nil {
			g.Set(*step.set)
		}
		if got := stateOf(t, tid); got != step.want {
			t.Fatalf("after %+v: %+v, want %+v", step.set, got, step.want)
		}
	}
	close(stop)
	<-stopped
	if !testutil.Eventually(2e9, func() bool {
		_, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid))
		return os.IsNotExist(err)
	}) {
		t.Fatal("the thread outlived its goroutine")
	}
}

// TestAutoRealTime: max_auto_priority raises the group one SCHED_RR step per overdue
// timer beyond min_auto_priority_delay, from none up to the maximum, with keepalived's
// log lines; a reload keeps the raised priority; turning it off drops it.
func TestAutoRealTime(t *testing.T) {
	needRoot(t)
	log := &testutil.SyncBuffer{}
	g := NewGroup("test", Settings{Nice: 3, AutoRealTime: 2, AutoDelay: 10 * time.Millisecond}, slog.New(slog.NewTextHandler(log, nil)))
	tid, stop, stopped := joinedThread(g)
	defer func() { close(stop); <-stopped }()
	rr := func(prio int) threadState {
		return threadState{policy: unix.SCHED_RR, rtPrio: prio, cpus: stateOf(t, tid).cpus}
	}
	normal := threadState{policy: unix.SCHED_NORMAL, nice: 3, cpus: stateOf(t, tid).cpus}
	for _, step := range []struct {
		late time.Duration
		set  *Settings
		want threadState
	}{
		{late: 5 * time.Millisecond, want: normal}, // within the delay
		{late: 20 * time.Millisecond, want: rr(1)},
		{late: 20 * time.Millisecond, want: rr(2)},
		{late: 20 * time.Millisecond, want: rr(2)}, // at the maximum
		{set: &Settings{Nice: 3, AutoRealTime: 5, AutoDelay: time.Second}, want: rr(2)},
		{set: &Settings{Nice: 3, AutoRealTime: 1, AutoDelay: time.Second}, want: rr(1)},
		{set: &Settings{Nice: 3}, want: normal},
	} {
		if step.set != nil {
			g.Set(*step.set)
		}
		if step.late > 0 {
			g.Overdue(step.late)
		}
		if got := stateOf(t, tid); got != step.want {
			t.Fatalf("after %v late, %+v: %+v, want %+v", step.late, step.set, got, step.want)
		}
	}
	if n := strings.Count(log.String(), "A thread timer expired 0.020000 seconds ago"); n != 3 {
		t.Errorf("%d overdue lines, want 3:\n%s", n, log)
	}
	for _, want := range []string{"Set realtime priority 1", "Set realtime priority 2"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("no %q:\n%s", want, log)
		}
	}
}

// TestLockMemory: *_no_swap locks pages as they are used, and unlocking lets go.
func TestLockMemory(t *testing.T) {
	needRoot(t)
	t.Cleanup(func() { LockMemory(false) })
	if err := LockMemory(true); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8<<20)
	for i := range buf {
		buf[i] = 1
	}
	if kb := lockedKB(t); kb < 8<<10 {
		t.Fatalf("%d kB locked after touching 8 MiB", kb)
	}
	if err := LockMemory(false); err != nil {
		t.Fatal(err)
	}
	if kb := lockedKB(t); kb != 0 {
		t.Fatalf("%d kB still locked", kb)
	}
}

func lockedKB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmLck:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	t.Fatal("no VmLck in /proc/self/status")
	return 0
}

// TestRTTimeLimit: keepalived's soft half and hard limit, and back to the original.
func TestRTTimeLimit(t *testing.T) {
	needRoot(t)
	var orig, got unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_RTTIME, &orig); err != nil {
		t.Fatal(err)
	}
	var l RTTimeLimit
	if err := l.Set(10000); err != nil {
		t.Fatal(err)
	}
	unix.Getrlimit(unix.RLIMIT_RTTIME, &got)
	if got.Cur != 5000 || got.Max != orig.Max {
		t.Errorf("limit %+v, want a soft 5000 and the hard %d", got, orig.Max)
	}
	if err := l.Set(0); err != nil {
		t.Fatal(err)
	}
	unix.Getrlimit(unix.RLIMIT_RTTIME, &got)
	if got != orig {
		t.Errorf("limit %+v after reset, want %+v", got, orig)
	}
}

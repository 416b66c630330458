package threadprio

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

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

// TestGroup: a thread that joins gets the group's settings, Set moves it (and back to
// the process's defaults), and the thread ends with its goroutine.
func TestGroup(t *testing.T) {
	needRoot(t)
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		t.Fatal(err)
	}
	g := NewGroup("test", Settings{RealTime: 7, CPUs: []int{0}}, slog.New(slog.DiscardHandler))
	tids, stop, stopped := make(chan int), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		defer g.Join()()
		tids <- unix.Gettid()
		<-stop
	}()
	tid := <-tids
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

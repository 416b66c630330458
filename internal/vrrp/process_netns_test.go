package vrrp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
	"golang.org/x/sys/unix"
)

// trackedSleep is a copy of /bin/sleep under a name no other process on the machine
// has, so that only the processes a test starts can match it.
type trackedSleep struct {
	t    *testing.T
	path string
	name string
}

func newTrackedSleep(t *testing.T) *trackedSleep {
	t.Helper()
	name := fmt.Sprintf("gvs%d", os.Getpid()%1000000) // comm is at most 15 characters
	path := filepath.Join(t.TempDir(), name)
	src, err := os.Open("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return &trackedSleep{t: t, path: path, name: name}
}

// start runs the copy for at most a minute; the test's cleanup kills it.
func (s *trackedSleep) start() *exec.Cmd {
	s.t.Helper()
	cmd := exec.Command(s.path, "60")
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { stopCmd(cmd) })
	return cmd
}

// stopCmd kills a process this test started and reaps it; a second call is harmless.
func stopCmd(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// testProcConn opens a proc connector socket for the rest of the test.
func testProcConn(t *testing.T) *procConn {
	t.Helper()
	testutil.Integration(t)
	testutil.NeedRoot(t)
	c, err := openProcConn()
	if err != nil {
		t.Fatalf("proc connector: %v", err)
	}
	t.Cleanup(c.close)
	return c
}

// TestProcConnEvents: the kernel's proc connector reports the exec and the exit of a
// process the test starts.
func TestProcConnEvents(t *testing.T) {
	c := testProcConn(t)
	s := newTrackedSleep(t)
	cmd := s.start()
	pid := cmd.Process.Pid
	waitEvent := func(what uint32) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			evs, err := c.read(100 * time.Millisecond)
			if err != nil {
				t.Logf("read: %v", err)
			}
			for _, ev := range evs {
				if ev.what == what && ev.tgid == pid && ev.pid == pid {
					return
				}
			}
		}
		t.Fatalf("no event %#x for pid %d within 5 s", what, pid)
	}
	waitEvent(procEventExec)
	stopCmd(cmd)
	waitEvent(procEventExit)
}

// TestProcConnGrow: after an overflow the proc connector socket's buffer is doubled,
// as keepalived doubles process_monitor_rcv_bufs, and the error says to what.
func TestProcConnGrow(t *testing.T) {
	c := testProcConn(t)
	c.force = true
	if err := (RcvBuf{Bytes: 100000, Force: true}).set(c.fd); err != nil {
		t.Fatal(err)
	}
	err := c.grow()
	got, _ := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if !errors.Is(err, errMissedEvents) || !strings.Contains(fmt.Sprint(err), "set to 400000") || got != 800000 {
		t.Fatalf("after grow: %v, SO_RCVBUF %d; want set to 400000 (read back doubled)", err, got)
	}
}

// TestTrackProcessFailover: the master tracks a process the test runs. Killing it
// lowers the master's priority (weight -60) and the VIP moves to the backup; starting
// it again restores the priority and preemption brings the VIP back. A reload then
// changes the block to weight 0 matched on the full command line: the process's exit
// puts the master in FAULT.
func TestTrackProcessFailover(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b")
	s := newTrackedSleep(t)
	mk := func(block TrackProcessConfig) Config {
		c := single(instanceCfg("VI_1", 81, 150, 3, 100*time.Millisecond, testVIP))
		c.TrackProcesses = []TrackProcessConfig{block}
		c.Instances[0].TrackProcesses = []TrackRef{{Name: "sleeper"}}
		return c
	}
	byName := TrackProcessConfig{Name: "sleeper", Process: s.name, Weight: -60}
	cmd := s.start()
	a := startNode(t, hosts["a"], mk(byName))
	startNode(t, hosts["b"], single(instanceCfg("VI_1", 81, 100, 3, 100*time.Millisecond, testVIP)))
	waitVIP(t, 5*time.Second, testVIP, hosts["a"], hosts)

	stopCmd(cmd)
	waitVIP(t, 5*time.Second, testVIP, hosts["b"], hosts)
	if !testutil.Eventually(2*time.Second, func() bool {
		st := a.Status()[0]
		return st.EffectivePriority == 90 && st.State == StateBackup
	}) {
		st := a.Status()[0]
		t.Fatalf("a without its process: %v priority %d, want BACKUP 90", st.State, st.EffectivePriority)
	}
	cmd = s.start()
	waitVIP(t, 5*time.Second, testVIP, hosts["a"], hosts)
	if st := a.Status()[0]; st.EffectivePriority != 150 {
		t.Fatalf("a with its process back: priority %d, want 150", st.EffectivePriority)
	}

	// Reload: weight 0, the full path and exact parameters.
	exact := TrackProcessConfig{Name: "sleeper", Process: s.path, Params: []string{"60"}, ParamMatch: ParamMatchExact, FullCommand: true}
	if err := a.Update(mk(exact)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	waitVIP(t, time.Second, testVIP, hosts["a"], hosts)
	stopCmd(cmd)
	if !testutil.Eventually(3*time.Second, func() bool { return stateOf(a.Node, "VI_1") == StateFault }) {
		t.Fatalf("a is %v after its process exited, want FAULT", stateOf(a.Node, "VI_1"))
	}
	waitVIP(t, 5*time.Second, testVIP, hosts["b"], hosts)
	s.start()
	waitVIP(t, 5*time.Second, testVIP, hosts["a"], hosts)
}

// TestTrackProcessSyncGroup: a track_process on a sync group applies to every member
// with its weight (keepalived's vrrp_complete_init keeps a group's own weights; only
// the members' own ones are ignored without sync_group_tracking_weight): the process's
// exit drops both to 90, below the peer's 100, and both VIPs move together.
func TestTrackProcessSyncGroup(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b")
	s := newTrackedSleep(t)
	mk := func(prio uint8, track bool) Config {
		c := Config{
			Instances: []InstanceConfig{
				instanceCfg("VI_1", 83, prio, 3, 100*time.Millisecond, testVIP),
				instanceCfg("VI_2", 84, prio, 3, 100*time.Millisecond, testVIP2),
			},
			SyncGroups: []SyncGroupConfig{{Name: "G", Members: []string{"VI_1", "VI_2"}}},
		}
		if track {
			c.TrackProcesses = []TrackProcessConfig{{Name: "sleeper", Process: s.name, Weight: -60}}
			c.SyncGroups[0].TrackProcesses = []TrackRef{{Name: "sleeper"}}
		}
		return c
	}
	cmd := s.start()
	a := startNode(t, hosts["a"], mk(150, true))
	startNode(t, hosts["b"], mk(100, false))
	waitVIP(t, 5*time.Second, testVIP, hosts["a"], hosts)
	waitVIP(t, time.Second, testVIP2, hosts["a"], hosts)

	stopCmd(cmd)
	waitVIP(t, 5*time.Second, testVIP, hosts["b"], hosts)
	waitVIP(t, time.Second, testVIP2, hosts["b"], hosts)
	for _, name := range []string{"VI_1", "VI_2"} {
		waitState(t, a.Node, name, StateBackup, "a (150-60 = 90, below the peer's 100)")
	}
	s.start()
	waitVIP(t, 5*time.Second, testVIP, hosts["a"], hosts)
	waitVIP(t, time.Second, testVIP2, hosts["a"], hosts)
}

package vrrp

import (
	"log/slog"
	"testing"
	"time"
)

// TestTrackProcessStates: the tracker a procWatch reports to knows each block's count
// at once, and its quorum only once a delay has confirmed it, as keepalived's
// num_cur_proc and have_quorum.
func TestTrackProcessStates(t *testing.T) {
	fp := newFakeProc(t)
	fp.start(10, "web", "S")
	cfgs := []TrackProcessConfig{
		{Name: "web", Process: "web", Quorum: 2, ForkDelay: 3 * time.Second},
		{Name: "none", Process: "db", Quorum: 1},
	}
	tr := newTracker(Config{}, nil)
	w := newProcWatch(fp.root, cfgs, slog.New(slog.DiscardHandler), tr.setProcess)
	w.count = tr.setProcessCount
	t0 := time.Unix(1000, 0)
	for _, step := range []struct {
		name string
		do   func()
		want ProcessState // web's
	}{
		{"initial scan", func() { w.scan(t0, true) }, ProcessState{Processes: 1}},
		{"a fork counts before fork_delay", func() {
			w.handle(procEvent{what: procEventFork, parentPID: 10, parentTGID: 10, childPID: 11, childTGID: 11}, t0)
		}, ProcessState{Processes: 2}},
		{"quorum after fork_delay", func() { w.expire(t0.Add(3 * time.Second)) }, ProcessState{Processes: 2, Quorum: true}},
		{"an exit", func() { w.handle(procEvent{what: procEventExit, pid: 11, tgid: 11}, t0.Add(4*time.Second)) }, ProcessState{Processes: 1}},
	} {
		step.do()
		got := tr.processStates()
		if got["web"] != step.want || got["none"] != (ProcessState{}) || len(got) != 2 {
			t.Errorf("%s: states %+v, want web %+v and none at zero", step.name, got, step.want)
		}
	}
}

// TestNodeBFDStates: BFDStates is what SetBFD reported, and a copy.
func TestNodeBFDStates(t *testing.T) {
	n, err := New(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.SetBFD("a", true)
	n.SetBFD("b", false)
	got := n.BFDStates()
	got["a"] = false
	if again := n.BFDStates(); !again["a"] || again["b"] || len(again) != 2 {
		t.Errorf("BFDStates %v after SetBFD a up, b down", again)
	}
	if n.TrackProcessStates() != nil {
		t.Error("process states before Run")
	}
}

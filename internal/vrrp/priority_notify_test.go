package vrrp

import (
	"bufio"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPriorityFIFOLine: keepalived's send_instance_priority_notifies line.
func TestPriorityFIFOLine(t *testing.T) {
	for _, tc := range []struct {
		name   string
		master bool
		prio   uint8
		want   string
	}{
		{"VI_1", true, 90, "INSTANCE \"VI_1\" MASTER_PRIORITY 90\n"},
		{"VI_1", false, 110, "INSTANCE \"VI_1\" BACKUP_PRIORITY 110\n"},
		{`we"ird`, false, 1, "INSTANCE \"we\\\"ird\" BACKUP_PRIORITY 1\n"},
	} {
		if got := PriorityFIFOLine(tc.name, tc.master, tc.prio); got != tc.want {
			t.Errorf("PriorityFIFOLine(%q, %v, %d) = %q, want %q", tc.name, tc.master, tc.prio, got, tc.want)
		}
	}
}

// TestNotifierPriorityChangeRunsNoScript: a priority change writes the FIFO only; the
// instance's notify scripts are for state changes.
func TestNotifierPriorityChangeRunsNoScript(t *testing.T) {
	fifo, log := runNotifier(t, func(log string) []notifyJob {
		cmd := &Command{Argv: []string{"/bin/sh", "-c", `echo "$@" >> ` + log, "notify"}}
		return []notifyJob{{name: "VI_1", state: StateFault, priority: 70, priorityChange: true, cmds: NotifyConfig{Generic: cmd, Fault: cmd}}}
	})
	if b, _ := os.ReadFile(fifo); string(b) != "INSTANCE \"VI_1\" BACKUP_PRIORITY 70\n" {
		t.Errorf("FIFO got %q", b)
	}
	if _, err := os.Stat(log); err == nil {
		t.Error("a priority change ran a notify script")
	}
}

// TestNotifyPriorityChanges: with notify_priority_changes, every change of the
// effective priority that a tracked file makes writes a MASTER_PRIORITY line to a real
// notify FIFO; an instance without it writes none.
func TestNotifyPriorityChanges(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	dir := t.TempDir()
	fifo, lines := readFIFO(t, filepath.Join(dir, "notify.fifo"))
	track := filepath.Join(dir, "weight")
	if err := os.WriteFile(track, []byte("0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	with := instanceCfg("VI_1", 71, 100, 3, 100*time.Millisecond, testVIP)
	with.NotifyPriorityChanges = true
	with.TrackFiles = []TrackRef{{Name: "w"}}
	without := instanceCfg("VI_2", 72, 100, 3, 100*time.Millisecond, testVIP2)
	without.TrackFiles = []TrackRef{{Name: "w"}}
	n := startNode(t, hosts["a"], Config{
		Instances:  []InstanceConfig{with, without},
		TrackFiles: []TrackFileConfig{{Name: "w", File: track, Weight: 10}},
		NotifyFIFO: fifo,
	})
	waitState(t, n.Node, "VI_1", StateMaster, "a")
	waitState(t, n.Node, "VI_2", StateMaster, "a")
	var got []string
	next := func(want string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case l := <-lines:
				if strings.Contains(l, "_PRIORITY") {
					got = append(got, l)
					if l != want {
						t.Fatalf("FIFO line %q, want %q (so far %q)", l, want, got)
					}
					return
				}
			case <-deadline:
				t.Fatalf("no %q on the FIFO within 5 s (got %q)", want, got)
			}
		}
	}
	for _, step := range []struct {
		file string
		want string
	}{
		{"-2", `INSTANCE "VI_1" MASTER_PRIORITY 80`},
		{"1", `INSTANCE "VI_1" MASTER_PRIORITY 110`},
	} {
		if err := os.WriteFile(track, []byte(step.file+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		next(step.want)
	}
	n.stop(t)
	for {
		select {
		case l := <-lines:
			if strings.Contains(l, "_PRIORITY") {
				t.Errorf("unexpected FIFO line %q", l)
			}
			continue
		case <-time.After(200 * time.Millisecond):
		}
		break
	}
}

// TestNotifierRxLowerPri: a master hearing a lower priority master writes keepalived's
// MASTER_RX_LOWER_PRI line and runs notify_master_rx_lower_pri with its own arguments,
// and nothing else (not the generic notify, not notify_master).
func TestNotifierRxLowerPri(t *testing.T) {
	fifo, log := runNotifier(t, func(log string) []notifyJob {
		script := func(tag string) *Command {
			return &Command{Argv: []string{"/bin/sh", "-c", `echo ` + tag + ` "$@" >> ` + log, "notify", "arg1"}}
		}
		return []notifyJob{{name: "VI_1", state: StateMaster, priority: 150, rxLowerPri: true,
			cmds: NotifyConfig{Generic: script("generic"), Master: script("master"), MasterRxLowerPri: script("rxlower")}}}
	})
	if b, _ := os.ReadFile(fifo); string(b) != "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150\n" {
		t.Errorf("FIFO got %q", b)
	}
	if b, _ := os.ReadFile(log); string(b) != "rxlower arg1\n" {
		t.Errorf("scripts ran: %q, want only notify_master_rx_lower_pri with its own argument", b)
	}
}

// TestFIFOStatesOnReload: with fifo_write_vrrp_states_on_reload, a reload writes the
// state of every instance and sync group to the notify FIFO; without it, a reload that
// changes no state writes nothing.
func TestFIFOStatesOnReload(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	fifo, lines := readFIFO(t, filepath.Join(t.TempDir(), "notify.fifo"))
	cfg := single(instanceCfg("VI_1", 73, 150, 3, 100*time.Millisecond, testVIP))
	cfg.SyncGroups = []SyncGroupConfig{{Name: "G", Members: []string{"VI_1"}}}
	cfg.NotifyFIFO = fifo
	n := startNode(t, hosts["a"], cfg)
	waitVIP(t, 5*time.Second, testVIP, hosts["a"], hosts)
	drain := func(d time.Duration) []string {
		var got []string
		for end := time.After(d); ; {
			select {
			case l := <-lines:
				got = append(got, l)
			case <-end:
				return got
			}
		}
	}
	drain(300 * time.Millisecond) // the takeover's lines
	if err := n.Update(cfg); err != nil {
		t.Fatal(err)
	}
	if got := drain(500 * time.Millisecond); len(got) != 0 {
		t.Fatalf("a reload without fifo_write_vrrp_states_on_reload wrote %q", got)
	}
	cfg.FIFOStatesOnReload = true
	if err := n.Update(cfg); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(drain(500*time.Millisecond), "\n")
	for _, want := range []string{`INSTANCE "VI_1" MASTER 150`, `GROUP "G" MASTER 0`} {
		if !strings.Contains(got, want) {
			t.Errorf("after the reload the FIFO got %q, want a line %q", got, want)
		}
	}
}

// readFIFO makes a FIFO at path and delivers the lines written to it. The test holds
// it open for reading and writing (O_RDWR), so the node's writes always find a reader.
func readFIFO(t *testing.T, path string) (string, <-chan string) {
	t.Helper()
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return path, lines
}

// runNotifier runs a notifier whose FIFO is a regular file (appended to), gives it the
// jobs made for a script log, and returns the FIFO's and the log's paths once it has
// stopped.
func runNotifier(t *testing.T, jobs func(log string) []notifyJob) (fifo, log string) {
	t.Helper()
	dir := t.TempDir()
	fifo, log = filepath.Join(dir, "fifo.txt"), filepath.Join(dir, "notify.log")
	if err := os.WriteFile(fifo, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	n := newNotifier(Config{NotifyFIFO: fifo}, nil, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.run(ctx); close(done) }()
	for _, j := range jobs(log) {
		n.enqueue(j)
	}
	cancel()
	<-done
	return fifo, log
}

package vrrp

import (
	"context"
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func cmdline(words ...string) []byte {
	return []byte(strings.Join(words, "\x00") + "\x00")
}

func TestTrackProcessMatches(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  TrackProcessConfig
		proc procInfo
		want bool
	}{
		{"comm equal", TrackProcessConfig{Process: "nginx"}, procInfo{comm: "nginx"}, true},
		{"comm differs", TrackProcessConfig{Process: "nginx"}, procInfo{comm: "nginx2"}, false},
		{"comm ignores the command line", TrackProcessConfig{Process: "nginx"}, procInfo{comm: "nginx", cmdline: cmdline("/usr/sbin/nginx", "-g")}, true},
		// The kernel keeps 15 characters of a name and keepalived compares it whole.
		{"long name never matches the kernel's name", TrackProcessConfig{Process: "a-very-long-process"}, procInfo{comm: "a-very-long-pro"}, false},
		{"long name with full_command", TrackProcessConfig{Process: "a-very-long-process", FullCommand: true}, procInfo{comm: "a-very-long-pro", cmdline: cmdline("a-very-long-process")}, true},
		{"full command argv0", TrackProcessConfig{Process: "/usr/sbin/nginx", FullCommand: true}, procInfo{comm: "nginx", cmdline: cmdline("/usr/sbin/nginx", "-g", "x")}, true},
		{"full command not comm", TrackProcessConfig{Process: "nginx", FullCommand: true}, procInfo{comm: "nginx", cmdline: cmdline("/usr/sbin/nginx")}, false},
		{"full command kernel thread", TrackProcessConfig{Process: "kthreadd", FullCommand: true}, procInfo{comm: "kthreadd"}, false},
		{"exact params", TrackProcessConfig{Process: "sleep", Params: []string{"100"}, ParamMatch: ParamMatchExact, FullCommand: true}, procInfo{cmdline: cmdline("sleep", "100")}, true},
		{"exact params extra", TrackProcessConfig{Process: "sleep", Params: []string{"100"}, ParamMatch: ParamMatchExact, FullCommand: true}, procInfo{cmdline: cmdline("sleep", "100", "x")}, false},
		{"exact no params wants none", TrackProcessConfig{Process: "sleep", ParamMatch: ParamMatchExact, FullCommand: true}, procInfo{cmdline: cmdline("sleep", "1")}, false},
		{"exact no params", TrackProcessConfig{Process: "sleep", ParamMatch: ParamMatchExact, FullCommand: true}, procInfo{cmdline: cmdline("sleep")}, true},
		{"partial prefix", TrackProcessConfig{Process: "app", Params: []string{"-c", "x"}, ParamMatch: ParamMatchPartial, FullCommand: true}, procInfo{cmdline: cmdline("app", "-c", "x", "-v")}, true},
		{"partial whole words", TrackProcessConfig{Process: "app", Params: []string{"-c", "x"}, ParamMatch: ParamMatchPartial, FullCommand: true}, procInfo{cmdline: cmdline("app", "-c", "xy")}, false},
		{"partial order", TrackProcessConfig{Process: "app", Params: []string{"-c", "x"}, ParamMatch: ParamMatchPartial, FullCommand: true}, procInfo{cmdline: cmdline("app", "x", "-c")}, false},
		{"initial last word prefix", TrackProcessConfig{Process: "app", Params: []string{"-c", "x"}, ParamMatch: ParamMatchInitial, FullCommand: true}, procInfo{cmdline: cmdline("app", "-c", "xy", "-v")}, true},
		{"initial earlier word whole", TrackProcessConfig{Process: "app", Params: []string{"-", "x"}, ParamMatch: ParamMatchInitial, FullCommand: true}, procInfo{cmdline: cmdline("app", "-c", "x")}, false},
		{"initial too short", TrackProcessConfig{Process: "app", Params: []string{"--config"}, ParamMatch: ParamMatchInitial, FullCommand: true}, procInfo{cmdline: cmdline("app", "--c")}, false},
		{"no param_match ignores params", TrackProcessConfig{Process: "app", FullCommand: true}, procInfo{cmdline: cmdline("app", "anything")}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.matches(tc.proc); got != tc.want {
				t.Fatalf("matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		in    string
		comm  string
		state byte
		ok    bool
	}{
		{"12 (nginx) S 1 12", "nginx", 'S', true},
		{"13 (a) b) (c) Z 1", "a) b) (c", 'Z', true},
		{"14 (x)", "", 0, false},
		{"15 nginx S", "", 0, false},
		{"", "", 0, false},
	} {
		comm, state, ok := parseStat([]byte(tc.in))
		if comm != tc.comm || state != tc.state || ok != tc.ok {
			t.Errorf("%q: %q %q %v", tc.in, comm, state, ok)
		}
	}
}

func TestTrackProcessNormalize(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     TrackProcessConfig
		quorum  int
		wantErr string
	}{
		{"defaults", TrackProcessConfig{Name: "p", Process: "x"}, 1, ""},
		{"quorum_max 0 alone", TrackProcessConfig{Name: "p", Process: "x", QuorumMaxSet: true}, 0, ""},
		{"no process", TrackProcessConfig{Name: "p"}, 0, "no process"},
		{"weight", TrackProcessConfig{Name: "p", Process: "x", Weight: 255}, 0, "weight 255"},
		{"max below quorum", TrackProcessConfig{Name: "p", Process: "x", Quorum: 3, QuorumMax: 2, QuorumMaxSet: true}, 0, "quorum_max 2 is less than quorum 3"},
		{"params without full_command", TrackProcessConfig{Name: "p", Process: "x", Params: []string{"a"}}, 0, "full_command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			err := c.normalize()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || c.Quorum != tc.quorum {
				t.Fatalf("err %v quorum %d, want %d", err, c.Quorum, tc.quorum)
			}
		})
	}
}

// fakeProc is a /proc under t.TempDir(): numeric directories with stat and cmdline.
type fakeProc struct {
	t    *testing.T
	root string
}

func newFakeProc(t *testing.T) *fakeProc { return &fakeProc{t: t, root: t.TempDir()} }

func (f *fakeProc) start(pid int, comm, state string, argv ...string) {
	dir := filepath.Join(f.root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	stat := strconv.Itoa(pid) + " (" + comm + ") " + state + " 1 1 1"
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
		f.t.Fatal(err)
	}
	var cl []byte
	if len(argv) > 0 {
		cl = cmdline(argv...)
	}
	if err := os.WriteFile(filepath.Join(dir, "cmdline"), cl, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeProc) stop(pid int) {
	if err := os.RemoveAll(filepath.Join(f.root, strconv.Itoa(pid))); err != nil {
		f.t.Fatal(err)
	}
}

// recorder collects what a procWatch publishes.
type recorder map[string]bool

func (r recorder) publish(name string, up bool) { r[name] = up }

func TestProcWatchScanQuorum(t *testing.T) {
	fp := newFakeProc(t)
	fp.start(10, "web", "S", "/usr/bin/web", "-w")
	fp.start(11, "web", "S", "/usr/bin/web", "-w")
	fp.start(12, "web", "Z")
	fp.start(13, "db", "R", "/usr/bin/db", "--data=/x")
	if err := os.WriteFile(filepath.Join(fp.root, "self"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfgs := []TrackProcessConfig{
		{Name: "one", Process: "web", Quorum: 1},
		{Name: "three", Process: "web", Quorum: 3},
		{Name: "atmost1", Process: "web", Quorum: 1, QuorumMax: 1, QuorumMaxSet: true},
		{Name: "none", Process: "web", QuorumMaxSet: true},
		{Name: "nodb", Process: "db2", QuorumMaxSet: true},
		{Name: "db", Process: "/usr/bin/db", Params: []string{"--data="}, ParamMatch: ParamMatchInitial, FullCommand: true, Quorum: 1},
	}
	rec := recorder{}
	w := newProcWatch(fp.root, cfgs, slog.New(slog.DiscardHandler), rec.publish)
	w.scan(time.Now(), true)
	want := recorder{"one": true, "three": false, "atmost1": false, "none": false, "nodb": true, "db": true}
	for name, up := range want {
		if rec[name] != up {
			t.Errorf("%s: up %v, want %v (all %v)", name, rec[name], up, rec)
		}
	}
}

func TestProcWatchDelays(t *testing.T) {
	fp := newFakeProc(t)
	fp.start(10, "web", "S")
	cfg := TrackProcessConfig{Name: "web", Process: "web", Quorum: 1, TerminateDelay: 2 * time.Second, ForkDelay: 3 * time.Second}
	rec := recorder{}
	w := newProcWatch(fp.root, []TrackProcessConfig{cfg}, slog.New(slog.DiscardHandler), rec.publish)
	t0 := time.Unix(1000, 0)
	w.scan(t0, true)
	if !rec["web"] {
		t.Fatal("not up at start")
	}
	// The process exits: down only once terminate_delay has passed.
	w.handle(procEvent{what: procEventExit, pid: 10, tgid: 10}, t0)
	if next := w.expire(t0.Add(time.Second)); !rec["web"] || !next.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("down before terminate_delay (next %v)", next)
	}
	w.expire(t0.Add(2 * time.Second))
	if rec["web"] {
		t.Fatal("still up after terminate_delay")
	}
	// A new exec counts at once.
	fp.start(20, "web", "S")
	w.handle(procEvent{what: procEventExec, pid: 20, tgid: 20}, t0.Add(3*time.Second))
	if !rec["web"] {
		t.Fatal("exec did not bring it up")
	}
	// Exit and back within terminate_delay: no change at all.
	w.handle(procEvent{what: procEventExit, pid: 20, tgid: 20}, t0.Add(4*time.Second))
	fp.start(21, "web", "S")
	w.handle(procEvent{what: procEventExec, pid: 21, tgid: 21}, t0.Add(5*time.Second))
	w.expire(t0.Add(10 * time.Second))
	if !rec["web"] {
		t.Fatal("a loss shorter than terminate_delay took effect")
	}
	w.handle(procEvent{what: procEventExit, pid: 21, tgid: 21}, t0.Add(20*time.Second))
	w.expire(t0.Add(30 * time.Second))
	if rec["web"] {
		t.Fatal("not down")
	}
}

func TestProcWatchForkDelay(t *testing.T) {
	fp := newFakeProc(t)
	fp.start(10, "web", "S")
	cfg := TrackProcessConfig{Name: "web", Process: "web", Quorum: 2, ForkDelay: 3 * time.Second}
	rec := recorder{}
	w := newProcWatch(fp.root, []TrackProcessConfig{cfg}, slog.New(slog.DiscardHandler), rec.publish)
	t0 := time.Unix(1000, 0)
	w.scan(t0, true)
	if rec["web"] {
		t.Fatal("up with 1 of 2")
	}
	// A thread is not a process.
	w.handle(procEvent{what: procEventFork, parentPID: 10, parentTGID: 10, childPID: 12, childTGID: 10}, t0)
	// A fork of an untracked parent is not counted.
	w.handle(procEvent{what: procEventFork, parentPID: 99, parentTGID: 99, childPID: 100, childTGID: 100}, t0)
	w.handle(procEvent{what: procEventFork, parentPID: 10, parentTGID: 10, childPID: 11, childTGID: 11}, t0)
	if w.expire(t0.Add(2 * time.Second)); rec["web"] {
		t.Fatal("up before fork_delay")
	}
	if w.expire(t0.Add(3 * time.Second)); !rec["web"] {
		t.Fatal("not up after fork_delay")
	}
	// The child renames itself (PROC_EVENT_COMM): it no longer counts.
	w.handle(procEvent{what: procEventComm, pid: 11, tgid: 11, comm: "worker"}, t0.Add(4*time.Second))
	if rec["web"] || len(w.blocks[0].pids) != 1 {
		t.Fatalf("comm change not seen: up %v pids %v", rec["web"], w.blocks[0].pids)
	}
}

func TestProcWatchPollFallback(t *testing.T) {
	fp := newFakeProc(t)
	fp.start(10, "web", "S")
	rec := recorder{}
	up := make(chan bool, 16)
	w := newProcWatch(fp.root, []TrackProcessConfig{{Name: "web", Process: "web", Quorum: 1}}, slog.New(slog.DiscardHandler),
		func(name string, v bool) { rec.publish(name, v); up <- v })
	w.pollInterval = 20 * time.Millisecond
	w.scan(time.Now(), true)
	<-up
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); w.run(ctx, nil) }()
	fp.stop(10)
	select {
	case v := <-up:
		if v {
			t.Fatal("published up, want down")
		}
	case <-ctx.Done():
		t.Fatal("exit not seen by the poll")
	}
	cancel()
	<-done
}

func TestEffectivePriorityProcess(t *testing.T) {
	vals := trackValues{procs: map[string]bool{"up": true, "down": false}}
	for _, tc := range []struct {
		name   string
		items  []trackItem
		want   uint8
		faults int
	}{
		{"weight 0 down is FAULT", []trackItem{{kind: trackProcess, name: "down"}}, 100, 1},
		{"weight 0 up", []trackItem{{kind: trackProcess, name: "up"}}, 100, 0},
		{"weight 0 reverse up is FAULT", []trackItem{{kind: trackProcess, name: "up", reverse: true}}, 100, 1},
		{"positive while up", []trackItem{{kind: trackProcess, name: "up", weight: 10}}, 110, 0},
		{"positive while down", []trackItem{{kind: trackProcess, name: "down", weight: 10}}, 100, 0},
		{"negative while down", []trackItem{{kind: trackProcess, name: "down", weight: -30}}, 70, 0},
		{"negative while up", []trackItem{{kind: trackProcess, name: "up", weight: -30}}, 100, 0},
		// reverse negates the adjustment, as keepalived's weight_multiplier does.
		{"positive reverse while up", []trackItem{{kind: trackProcess, name: "up", weight: 10, reverse: true}}, 90, 0},
		{"positive reverse while down", []trackItem{{kind: trackProcess, name: "down", weight: 10, reverse: true}}, 100, 0},
		{"negative reverse while down", []trackItem{{kind: trackProcess, name: "down", weight: -10, reverse: true}}, 110, 0},
		{"negative reverse while up", []trackItem{{kind: trackProcess, name: "up", weight: -10, reverse: true}}, 100, 0},
		{"weight 0 reverse down", []trackItem{{kind: trackProcess, name: "down", reverse: true}}, 100, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, faults := effectivePriority(100, tc.items, vals)
			if got != tc.want || len(faults) != tc.faults {
				t.Fatalf("priority %d faults %v, want %d and %d faults", got, faults, tc.want, tc.faults)
			}
		})
	}
}

func TestTrackItemsProcess(t *testing.T) {
	in := InstanceConfig{Interface: "eth0", DontTrackPrimary: true, TrackProcesses: []TrackRef{{Name: "p"}, {Name: "q", Weight: 5, WeightSet: true}}}
	procs := map[string]TrackProcessConfig{"p": {Name: "p", Weight: -20, Reverse: true}, "q": {Name: "q", Weight: -7}}
	items := trackItems(&in, nil, nil, nil, procs)
	want := []trackItem{{kind: trackProcess, name: "p", weight: -20, reverse: true}, {kind: trackProcess, name: "q", weight: 5}}
	if len(items) != 2 || items[0] != want[0] || items[1] != want[1] {
		t.Fatalf("items %+v, want %+v", items, want)
	}
	g := &SyncGroupConfig{Name: "G", TrackProcesses: []TrackRef{{Name: "q"}}}
	items = trackItems(&InstanceConfig{Interface: "eth0", DontTrackPrimary: true}, g, nil, nil, procs)
	if len(items) != 1 || items[0].name != "q" || items[0].weight != -7 { // a group's processes keep their weights
		t.Fatalf("group items %+v", items)
	}
}

// procMsg builds one netlink message of the proc connector carrying a proc_event.
func procMsg(what uint32, data ...uint32) []byte {
	ne := binary.NativeEndian
	ev := make([]byte, procEventHdr+4*len(data))
	ne.PutUint32(ev, what)
	for i, d := range data {
		ne.PutUint32(ev[procEventHdr+4*i:], d)
	}
	b := make([]byte, nlmsgHdrLen+cnMsgHdrLen+len(ev))
	ne.PutUint32(b, uint32(len(b)))
	ne.PutUint16(b[4:], 3)
	c := b[nlmsgHdrLen:]
	ne.PutUint32(c, cnIdxProc)
	ne.PutUint32(c[4:], cnValProc)
	ne.PutUint16(c[16:], uint16(len(ev)))
	copy(c[cnMsgHdrLen:], ev)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func TestDecodeProcEvents(t *testing.T) {
	comm := []uint32{7, 7, 0, 0, 0, 0}
	name := []byte("renamed\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	for i := 0; i < 4; i++ {
		comm[2+i] = binary.NativeEndian.Uint32(name[4*i:])
	}
	var buf []byte
	buf = append(buf, procMsg(procEventFork, 1, 1, 5, 5)...)
	buf = append(buf, procMsg(procEventExec, 5, 5)...)
	buf = append(buf, procMsg(0x4, 5, 5, 0, 0)...) // UID change: skipped
	buf = append(buf, procMsg(procEventComm, comm...)...)
	buf = append(buf, procMsg(procEventExit, 5, 5, 0, 9)...)
	evs, err := decodeProcEvents(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := []procEvent{
		{what: procEventFork, parentPID: 1, parentTGID: 1, childPID: 5, childTGID: 5},
		{what: procEventExec, pid: 5, tgid: 5},
		{what: procEventComm, pid: 7, tgid: 7, comm: "renamed"},
		{what: procEventExit, pid: 5, tgid: 5},
	}
	if len(evs) != len(want) {
		t.Fatalf("events %+v, want %+v", evs, want)
	}
	for i := range want {
		if evs[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, evs[i], want[i])
		}
	}
	for _, bad := range []struct {
		name string
		b    []byte
	}{
		{"short header", make([]byte, 8)},
		{"length past end", func() []byte { b := procMsg(procEventExec, 1, 1); binary.NativeEndian.PutUint32(b, 999); return b }()},
		{"data past end", func() []byte {
			b := procMsg(procEventExec, 1, 1)
			binary.NativeEndian.PutUint16(b[nlmsgHdrLen+16:], 500)
			return b
		}()},
	} {
		if _, err := decodeProcEvents(bad.b); err == nil {
			t.Errorf("%s: no error", bad.name)
		}
	}
}

func FuzzDecodeProcEvents(f *testing.F) {
	f.Add(procMsg(procEventFork, 1, 1, 5, 5))
	f.Add(append(procMsg(procEventExec, 5, 5), procMsg(procEventExit, 5, 5, 0, 0)...))
	f.Add(procMsg(procEventComm, 7, 7, 0x6e6e6e6e, 0, 0, 0))
	f.Add(encodeProcListen(42, procCNMcastListen))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, _ := decodeProcEvents(b)
		if len(evs) > len(b)/(nlmsgHdrLen+cnMsgHdrLen+procEventHdr)+1 {
			t.Fatalf("%d events from %d bytes", len(evs), len(b))
		}
	})
}

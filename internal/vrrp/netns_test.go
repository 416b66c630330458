package vrrp

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// childConfig makes the test binary run one node from a JSON Config instead of the
// tests: namespace tests start it inside a namespace to kill -9 a real process.
var childConfig = flag.String("vrrp-child", "", "run a VRRP node from this JSON config (used by the tests)")

func TestMain(m *testing.M) {
	flag.Parse()
	if *childConfig != "" {
		os.Exit(runChild(*childConfig))
	}
	os.Exit(m.Run())
}

func runChild(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	n, err := New(cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := n.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

const (
	testVIP  = "10.77.0.254"
	testVIP2 = "10.77.0.253"
)

// lanHosts builds a LAN with hosts named a, b, c... at 10.77.0.1, .2, ...
func lanHosts(t *testing.T, names ...string) (*testutil.LAN, map[string]*testutil.Host) {
	t.Helper()
	testutil.Integration(t)
	lan := testutil.NewLAN(t)
	hosts := map[string]*testutil.Host{}
	for i, n := range names {
		hosts[n] = lan.AddHost(n, fmt.Sprintf("10.77.0.%d/24", i+1))
	}
	return lan, hosts
}

func instanceCfg(name string, vrid uint8, prio uint8, version uint8, interval time.Duration, vips ...string) InstanceConfig {
	in := InstanceConfig{
		Name: name, Interface: "eth0", VRID: vrid, Priority: prio, Version: version,
		AdvertInterval: interval, GARP: GARPConfig{MasterDelay: -1, MasterRepeat: 2},
	}
	for _, v := range vips {
		in.VIPs = append(in.VIPs, VIP{Prefix: netip.MustParsePrefix(v + "/24")})
	}
	return in
}

// runningNode is a node run in-process inside a host's namespace.
type runningNode struct {
	*Node
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// stop cancels the node's context and waits for Run to return.
func (r *runningNode) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Errorf("Run: %v", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("node did not stop within 10 s")
	}
}

func startNode(t *testing.T, h *testutil.Host, cfg Config, opts ...Option) *runningNode {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(testWriter{t, h.Name}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	n, err := New(cfg, logger, append([]Option{WithNetNS(h.NS)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningNode{Node: n, cancel: cancel, done: make(chan struct{})}
	go func() { r.err = n.Run(ctx); close(r.done) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// testWriter sends log lines to t.Log while the test runs.
type testWriter struct {
	t    *testing.T
	name string
}

func (w testWriter) Write(p []byte) (int, error) {
	defer func() { _ = recover() }() // a line logged after the test ended
	w.t.Log(w.name + ": " + strings.TrimSpace(string(p)))
	return len(p), nil
}

// startChild runs a node as a separate process (this test binary) in h's namespace.
func startChild(t *testing.T, h *testutil.Host, cfg Config) (pid int, logs *testutil.SyncBuffer) {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd, buf := h.Start(exe, "-vrrp-child="+path)
	return cmd.Process.Pid, buf
}

func hasAddr(t *testing.T, h *testutil.Host, addr string) bool {
	t.Helper()
	out, err := h.Exec("ip", "-o", "addr", "show", "dev", "eth0")
	if err != nil {
		t.Fatalf("ip addr in %s: %v %s", h.Name, err, out)
	}
	return strings.Contains(out, " "+addr+"/")
}

// waitState waits up to two seconds for instance name of n to be in state want: a node
// adds or removes its addresses a moment before it publishes the state it entered, so a
// state read once right after an address moved may still be the old one.
func waitState(t *testing.T, n *Node, name string, want State, who string) {
	t.Helper()
	if !testutil.Eventually(2*time.Second, func() bool { return stateOf(n, name) == want }) {
		t.Fatalf("%s: %s is %v, want %v", who, name, stateOf(n, name), want)
	}
}

func stateOf(n *Node, name string) State {
	for _, s := range n.Status() {
		if s.Name == name {
			return s.State
		}
	}
	return StateInit
}

// waitVIP waits until exactly owner (nil: nobody) holds addr among hosts.
func waitVIP(t *testing.T, timeout time.Duration, addr string, owner *testutil.Host, hosts map[string]*testutil.Host) {
	t.Helper()
	ok := testutil.Eventually(timeout, func() bool {
		for _, h := range hosts {
			if hasAddr(t, h, addr) != (h == owner) {
				return false
			}
		}
		return true
	})
	if !ok {
		var where []string
		for n, h := range hosts {
			if hasAddr(t, h, addr) {
				where = append(where, n)
			}
		}
		want := "nobody"
		if owner != nil {
			want = owner.Name
		}
		t.Fatalf("%s: want it on %s only, it is on %v", addr, want, where)
	}
}

func macOf(t *testing.T, h *testutil.Host) string {
	t.Helper()
	out, err := h.Exec("cat", "/sys/class/net/eth0/address")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// arpAnswer asks for addr's MAC from h and returns the MAC that answered.
func arpAnswer(t *testing.T, h *testutil.Host, addr string) string {
	t.Helper()
	testutil.NeedCommand(t, "arping")
	out, _ := h.Exec("arping", "-c", "1", "-w", "2", "-I", "eth0", addr)
	return strings.ToLower(out)
}

func single(in ...InstanceConfig) Config { return Config{Instances: in} }

// TestElectionFailoverPreemption: two govs nodes, v2 with PASS authentication. The higher
// priority wins, answers ARP for the VIP; a kill -9 moves the VIP, the restart preempts.
func TestElectionFailoverPreemption(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b", "client")
	nodes := map[string]*testutil.Host{"a": hosts["a"], "b": hosts["b"]}
	mk := func(prio uint8) Config {
		in := instanceCfg("VI_1", 51, prio, 2, time.Second, testVIP)
		in.AuthType, in.AuthPass = AuthPass, "govstest"
		return single(in)
	}
	b := startNode(t, hosts["b"], mk(100))
	pid, logs := startChild(t, hosts["a"], mk(150))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("child a:\n%s", logs.String())
		}
	})
	waitVIP(t, 10*time.Second, testVIP, hosts["a"], nodes)
	waitState(t, b.Node, "VI_1", StateBackup, "b")
	if out := arpAnswer(t, hosts["client"], testVIP); !strings.Contains(out, macOf(t, hosts["a"])) {
		t.Fatalf("ARP for the VIP not answered by a (%s):\n%s", macOf(t, hosts["a"]), out)
	}

	// kill -9: no priority-0 advert, b takes over after Master_Down_Interval (≈3.6 s).
	start := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !testutil.Eventually(8*time.Second, func() bool { return hasAddr(t, hosts["b"], testVIP) }) {
		t.Fatal("b did not take the VIP after a was killed")
	}
	t.Logf("takeover after kill -9: %v", time.Since(start).Round(time.Millisecond))
	if out := arpAnswer(t, hosts["client"], testVIP); !strings.Contains(out, macOf(t, hosts["b"])) {
		t.Fatalf("ARP for the VIP not answered by b after failover:\n%s", out)
	}

	// Restart a: it removes the VIP it left behind, then preempts.
	_, logs = startChild(t, hosts["a"], mk(150))
	waitVIP(t, 10*time.Second, testVIP, hosts["a"], nodes)
	waitState(t, b.Node, "VI_1", StateBackup, "b after a came back")
}

// TestNopreemptAndGracefulStop: v3 at 0.1 s. A returning higher priority node with
// nopreempt stays backup; a graceful stop of the master moves the VIP after Skew_Time.
func TestNopreemptAndGracefulStop(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b")
	b := startNode(t, hosts["b"], single(instanceCfg("VI_1", 52, 100, 3, 100*time.Millisecond, testVIP)))
	waitVIP(t, 5*time.Second, testVIP, hosts["b"], hosts)
	in := instanceCfg("VI_1", 52, 150, 3, 100*time.Millisecond, testVIP)
	in.Nopreempt = true
	a := startNode(t, hosts["a"], single(in))
	time.Sleep(1500 * time.Millisecond) // > 4 × Master_Down_Interval
	waitVIP(t, time.Second, testVIP, hosts["b"], hosts)
	if got := stateOf(a.Node, "VI_1"); got != StateBackup {
		t.Fatalf("nopreempt a is %v, want BACKUP", got)
	}
	start := time.Now()
	b.stop(t)
	waitVIP(t, 3*time.Second, testVIP, hosts["a"], hosts)
	took := time.Since(start)
	t.Logf("takeover after graceful stop: %v (skew time %v)", took.Round(time.Millisecond), SkewTime(3, 150, 100*time.Millisecond))
	if took > MasterDownInterval(Params{Version: 3, Priority: 150, DownTimerAdverts: 3}, 100*time.Millisecond)+time.Second {
		t.Errorf("graceful takeover took %v: the priority-0 advert was not honoured", took)
	}
	st := b.Status()[0]
	if st.Priority0Sent == 0 || st.State != StateStop {
		t.Errorf("b status after stop: %+v", st)
	}
}

// TestLinkDownAndTrackScript: link down puts the master in FAULT and the backup takes
// over; a failing track_script with a negative weight moves the VIP too.
func TestLinkDownAndTrackScript(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b")
	flagFile := filepath.Join(t.TempDir(), "fail")
	cfgA := single(instanceCfg("VI_1", 53, 150, 3, 100*time.Millisecond, testVIP))
	cfgA.Scripts = []ScriptConfig{{Name: "chk", Command: Command{Argv: []string{"/usr/bin/test", "!", "-e", flagFile}}, Interval: 100 * time.Millisecond, Weight: -60}}
	cfgA.Instances[0].TrackScripts = []TrackRef{{Name: "chk"}}
	a := startNode(t, hosts["a"], cfgA)
	b := startNode(t, hosts["b"], single(instanceCfg("VI_1", 53, 100, 3, 100*time.Millisecond, testVIP)))
	waitVIP(t, 5*time.Second, testVIP, hosts["a"], hosts)

	if _, err := hosts["a"].Exec("ip", "link", "set", "eth0", "down"); err != nil {
		t.Fatal(err)
	}
	if !testutil.Eventually(3*time.Second, func() bool { return stateOf(a.Node, "VI_1") == StateFault }) {
		t.Fatalf("a is %v after link down, want FAULT", stateOf(a.Node, "VI_1"))
	}
	if !testutil.Eventually(3*time.Second, func() bool { return stateOf(b.Node, "VI_1") == StateMaster }) {
		t.Fatal("b did not become master when a's link went down")
	}
	if _, err := hosts["a"].Exec("ip", "link", "set", "eth0", "up"); err != nil {
		t.Fatal(err)
	}
	waitVIP(t, 5*time.Second, testVIP, hosts["a"], hosts)

	if err := os.WriteFile(flagFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitVIP(t, 5*time.Second, testVIP, hosts["b"], hosts)
	if !testutil.Eventually(2*time.Second, func() bool {
		st := a.Status()[0]
		return st.EffectivePriority == 90 && st.State == StateBackup
	}) {
		st := a.Status()[0]
		t.Fatalf("a with a failed script: %v priority %d, want BACKUP 90", st.State, st.EffectivePriority)
	}
	os.Remove(flagFile)
	waitVIP(t, 5*time.Second, testVIP, hosts["a"], hosts)
}

// TestSyncGroup: a fault of one member moves both instances' VIPs together.
func TestSyncGroup(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b")
	failFile := filepath.Join(t.TempDir(), "fault")
	mk := func(prio uint8, track bool) Config {
		c := Config{
			Instances: []InstanceConfig{
				instanceCfg("VI_1", 61, prio, 3, 100*time.Millisecond, testVIP),
				instanceCfg("VI_2", 62, prio, 3, 100*time.Millisecond, testVIP2),
			},
			SyncGroups: []SyncGroupConfig{{Name: "G", Members: []string{"VI_1", "VI_2"}}},
		}
		if track {
			c.TrackFiles = []TrackFileConfig{{Name: "f", File: failFile}}
			c.Instances[0].TrackFiles = []TrackRef{{Name: "f"}}
		}
		return c
	}
	a := startNode(t, hosts["a"], mk(150, true))
	startNode(t, hosts["b"], mk(100, false))
	waitVIP(t, 5*time.Second, testVIP, hosts["a"], hosts)
	waitVIP(t, time.Second, testVIP2, hosts["a"], hosts)

	// VI_1's track file (weight 0) reports a fault: the whole group goes FAULT on a.
	if err := os.WriteFile(failFile, []byte("1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitVIP(t, 5*time.Second, testVIP, hosts["b"], hosts)
	waitVIP(t, time.Second, testVIP2, hosts["b"], hosts)
	for _, st := range a.Status() {
		if st.State != StateFault {
			t.Errorf("a %s is %v, want FAULT", st.Name, st.State)
		}
	}
	if err := os.WriteFile(failFile, []byte("0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitVIP(t, 5*time.Second, testVIP, hosts["a"], hosts)
	waitVIP(t, time.Second, testVIP2, hosts["a"], hosts)
}

// TestAuthMismatchIgnored: adverts with the wrong password are dropped and counted, so
// both nodes believe they are master.
func TestAuthMismatchIgnored(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b")
	mk := func(prio uint8, pass string) Config {
		in := instanceCfg("VI_1", 54, prio, 2, time.Second, testVIP)
		in.AuthType, in.AuthPass = AuthPass, pass
		return single(in)
	}
	a := startNode(t, hosts["a"], mk(150, "right"))
	b := startNode(t, hosts["b"], mk(100, "wrong"))
	ok := testutil.Eventually(8*time.Second, func() bool {
		return stateOf(a.Node, "VI_1") == StateMaster && stateOf(b.Node, "VI_1") == StateMaster &&
			b.Status()[0].BadPackets["auth"] > 0
	})
	if !ok {
		t.Fatalf("a %+v\nb %+v", a.Status()[0], b.Status()[0])
	}
	if b.Status()[0].AdvertsReceived != 0 {
		t.Errorf("b accepted %d adverts with the wrong password", b.Status()[0].AdvertsReceived)
	}
}

// TestThreeNodes: the highest priority wins; when it stops the next highest does.
func TestThreeNodes(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b", "c")
	cfg := func(p uint8) Config {
		return single(instanceCfg("VI_1", 55, p, 3, 100*time.Millisecond, testVIP))
	}
	c := startNode(t, hosts["c"], cfg(50))
	a := startNode(t, hosts["a"], cfg(250))
	b := startNode(t, hosts["b"], cfg(200))
	waitVIP(t, 5*time.Second, testVIP, hosts["a"], hosts)
	a.stop(t)
	waitVIP(t, 3*time.Second, testVIP, hosts["b"], hosts)
	waitState(t, c.Node, "VI_1", StateBackup, "c")
	_ = b
}

// TestIPv6 runs a VRRPv3 IPv6 pair: link-local sources, ff02::12, unsolicited NAs.
func TestIPv6(t *testing.T) {
	testutil.Integration(t)
	lan := testutil.NewLAN(t)
	hosts := map[string]*testutil.Host{
		"a": lan.AddHost("a", "fd77::1/64"),
		"b": lan.AddHost("b", "fd77::2/64"),
	}
	mk := func(p uint8) Config {
		in := instanceCfg("VI_6", 56, p, 3, 100*time.Millisecond)
		in.VIPs = []VIP{{Prefix: netip.MustParsePrefix("fd77::254/64")}}
		return single(in)
	}
	// Link-local addresses appear when the link comes up; wait for them.
	for _, h := range hosts {
		if !testutil.Eventually(5*time.Second, func() bool {
			out, _ := h.Exec("ip", "-6", "addr", "show", "dev", "eth0", "scope", "link")
			return strings.Contains(out, "fe80")
		}) {
			t.Fatalf("%s: no link-local address", h.Name)
		}
	}
	a := startNode(t, hosts["a"], mk(150))
	b := startNode(t, hosts["b"], mk(100))
	waitVIP(t, 5*time.Second, "fd77::254", hosts["a"], hosts)
	if !testutil.Eventually(2*time.Second, func() bool {
		st := b.Status()[0]
		return st.State == StateBackup && st.AdvertsReceived > 0
	}) {
		t.Fatalf("b: %+v", b.Status()[0])
	}
	a.stop(t)
	waitVIP(t, 3*time.Second, "fd77::254", hosts["b"], hosts)
}

// TestUnicastTTL: unicast adverts leave with unicast_ttl (plain and AH), and the peer,
// which checks no TTL on unicast adverts, still follows the master.
func TestUnicastTTL(t *testing.T) {
	for _, auth := range []AuthType{AuthNone, AuthAH} {
		t.Run(auth.String(), func(t *testing.T) {
			_, hosts := lanHosts(t, "a", "b")
			mk := func(prio uint8, peer string) Config {
				in := instanceCfg("VI_1", 79, prio, 2, time.Second, testVIP)
				in.UnicastPeers = []netip.Addr{netip.MustParseAddr(peer)}
				in.UnicastTTL = 64
				if auth == AuthAH {
					in.AuthType, in.AuthPass = AuthAH, "secret"
				}
				return single(in)
			}
			startNode(t, hosts["a"], mk(150, "10.77.0.2"))
			nb := startNode(t, hosts["b"], mk(100, "10.77.0.1"))
			waitVIP(t, 6*time.Second, testVIP, hosts["a"], hosts)
			stop := startFrameCapture(t, hosts["b"], "eth0", "ip proto 112 or ip proto 51")
			time.Sleep(2500 * time.Millisecond)
			n := 0
			for _, f := range stop() {
				ip := f[14:]
				if len(ip) >= 20 && netip.AddrFrom4([4]byte(ip[12:16])).String() == "10.77.0.1" {
					n++
					if ip[8] != 64 {
						t.Errorf("advert from a with TTL %d, want unicast_ttl 64", ip[8])
					}
				}
			}
			if n == 0 {
				t.Fatal("no advert from a captured")
			}
			waitState(t, nb.Node, "VI_1", StateBackup, "b")
		})
	}
}

// ipShow runs each ip command in h and joins their outputs.
func ipShow(h *testutil.Host, cmds ...[]string) string {
	var b strings.Builder
	for _, args := range cmds {
		out, _ := h.Exec("ip", args...)
		b.WriteString(out)
	}
	return b.String()
}

// waitShown waits up to 3 s for show to contain every want and no not, and fails the
// test with what it showed last otherwise.
func waitShown(t *testing.T, what string, show func() string, want, not []string) {
	t.Helper()
	var got string
	if !testutil.Eventually(3*time.Second, func() bool {
		got = show()
		for _, w := range want {
			if !strings.Contains(got, w) {
				return false
			}
		}
		for _, w := range not {
			if strings.Contains(got, w) {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("%s: want %q, not %q in\n%s", what, want, not, got)
	}
}

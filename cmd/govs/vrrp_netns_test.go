package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/notify/smtptest"
	"github.com/govs/govs/internal/testutil"
)

// These tests run the real `govs run -P` binary, one per director namespace, against
// each other and against the real keepalived: what an operator runs, signals and all.

const (
	netnsVIP      = "10.78.0.100"
	netnsExtraVIP = "10.78.0.101"
)

// director is one VRRP daemon's namespace on the test LAN.
type director struct {
	t    *testing.T
	host *testutil.Host
	name string
	addr string
	dir  string // configuration, pid files
	cmd  *exec.Cmd
	logs *testutil.SyncBuffer
	all  strings.Builder // logs of the earlier runs
}

// vrrpLAN builds lb1 (10.78.0.1), lb2 (10.78.0.2) and a client (10.78.0.10).
func vrrpLAN(t *testing.T) (lb1, lb2 *director, client *testutil.Host) {
	t.Helper()
	testutil.Integration(t)
	lan := testutil.NewLAN(t)
	mk := func(name, addr string) *director {
		d := &director{t: t, host: lan.AddHost(name, addr+"/24"), name: name, addr: addr, dir: t.TempDir()}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s logs:\n%s", name, d.allLogs())
			}
		})
		return d
	}
	lb1, lb2 = mk("lb1", "10.78.0.1"), mk("lb2", "10.78.0.2")
	client = lan.AddHost("client", "10.78.0.10/24")
	return lb1, lb2, client
}

// instanceConf is the keepalived.conf of one vrrp_instance, as an operator writes it.
type instanceConf struct {
	version  int
	advert   string // advert_int
	prio     int
	state    string // MASTER or BACKUP
	extra    string // lines added to the instance
	globals  string // lines added to global_defs
	auth     string // VRRPv2 auth_type [PASS]
	vmac     bool   // use_vmac, the VIP on the VMAC
	excluded []string
	top      string // blocks after the instance (bfd_instance, …)
}

func (c instanceConf) text(routerID string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n    script_user root\n%s}\n", routerID, c.globals)
	fmt.Fprintf(&b, "vrrp_instance VI_1 {\n    state %s\n    interface eth0\n    virtual_router_id 78\n", c.state)
	fmt.Fprintf(&b, "    priority %d\n    advert_int %s\n    version %d\n", c.prio, c.advert, c.version)
	if c.version == 2 {
		auth := c.auth
		if auth == "" {
			auth = "PASS"
		}
		fmt.Fprintf(&b, "    authentication {\n        auth_type %s\n        auth_pass govsnet\n    }\n", auth)
	}
	if c.vmac {
		fmt.Fprintf(&b, "    use_vmac\n    virtual_ipaddress {\n        %s/24\n    }\n", netnsVIP)
	} else {
		fmt.Fprintf(&b, "    virtual_ipaddress {\n        %s/24 dev eth0\n    }\n", netnsVIP)
	}
	if len(c.excluded) > 0 {
		fmt.Fprintf(&b, "    virtual_ipaddress_excluded {\n        %s\n    }\n", strings.Join(c.excluded, "\n        "))
	}
	if c.extra != "" {
		b.WriteString("    " + c.extra + "\n")
	}
	b.WriteString("}\n")
	b.WriteString(c.top)
	return b.String()
}

func (d *director) writeConf(c instanceConf) string {
	d.t.Helper()
	path := filepath.Join(d.dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(c.text(d.name)), 0o600); err != nil {
		d.t.Fatal(err)
	}
	return path
}

// startGovs runs `govs run -P -f CONF` in the director's namespace.
func (d *director) startGovs(c instanceConf) {
	d.t.Helper()
	d.keepLogs()
	d.cmd, d.logs = d.host.Start(testutil.GovsBinary(d.t), "run", "-P", "-f", d.writeConf(c))
}

// startKeepalived runs the real keepalived, VRRP only, in the foreground, with pid
// files of its own; the host's /etc/keepalived is never read.
func (d *director) startKeepalived(c instanceConf) {
	d.t.Helper()
	testutil.NeedCommand(d.t, "keepalived")
	d.keepLogs()
	for _, f := range []string{"keepalived.pid", "vrrp.pid", "checkers.pid", "bfd.pid"} {
		// A crashed keepalived leaves its pid files, and a zombie child could still hold
		// the pid they name: keepalived would refuse to start ("already running").
		_ = os.Remove(filepath.Join(d.dir, f))
	}
	d.cmd, d.logs = d.host.Start("keepalived", "-P", "-n", "-l", "-D", "-f", d.writeConf(c),
		"-p", filepath.Join(d.dir, "keepalived.pid"), "-r", filepath.Join(d.dir, "vrrp.pid"),
		"-c", filepath.Join(d.dir, "checkers.pid"), "-b", filepath.Join(d.dir, "bfd.pid"))
}

func (d *director) keepLogs() {
	if d.logs != nil {
		d.all.WriteString(d.logs.String())
		d.all.WriteString("---- restart ----\n")
	}
}

func (d *director) allLogs() string {
	s := d.all.String()
	if d.logs != nil {
		s += d.logs.String()
	}
	return s
}

// signal sends sig to the daemon.
func (d *director) signal(sig syscall.Signal) {
	d.t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatalf("%s: %v: %v", d.name, sig, err)
	}
}

// waitExit waits for the daemon to exit.
func (d *director) waitExit(timeout time.Duration) {
	d.t.Helper()
	if !testutil.Eventually(timeout, func() bool { return !alive(d.cmd.Process.Pid) }) {
		d.t.Fatalf("%s: daemon still running %v after the signal", d.name, timeout)
	}
}

// alive reports whether pid exists and is not a zombie. The daemon's parent is this
// test (exec.Cmd.Wait reaps it in testutil), so a zombie is an exited daemon.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func (d *director) hasAddr(addr string) bool {
	d.t.Helper()
	out, err := d.host.Exec("ip", "-4", "-o", "addr", "show", "dev", "eth0")
	if err != nil {
		d.t.Fatalf("ip addr in %s: %v %s", d.name, err, out)
	}
	return strings.Contains(out, " "+addr+"/")
}

func (d *director) mac() string {
	d.t.Helper()
	out, err := d.host.Exec("cat", "/sys/class/net/eth0/address")
	if err != nil {
		d.t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// waitVIP waits until the VIP is on want, and on other only if otherToo, and returns
// how long that took.
func waitVIP(t *testing.T, timeout time.Duration, want, other *director, otherToo bool) time.Duration {
	t.Helper()
	start := time.Now()
	ok := testutil.Eventually(timeout, func() bool {
		return want.hasAddr(netnsVIP) && (otherToo || !other.hasAddr(netnsVIP))
	})
	if !ok {
		t.Fatalf("after %v: VIP on %s %v, on %s %v; want it on %s", timeout,
			want.name, want.hasAddr(netnsVIP), other.name, other.hasAddr(netnsVIP), want.name)
	}
	return time.Since(start)
}

// holdsVIP checks for a while that the VIP stays where it is (no flapping).
func holdsVIP(t *testing.T, d time.Duration, owner, other *director) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !owner.hasAddr(netnsVIP) || other.hasAddr(netnsVIP) {
			t.Fatalf("VIP moved: on %s %v, on %s %v; want it on %s only", owner.name,
				owner.hasAddr(netnsVIP), other.name, other.hasAddr(netnsVIP), owner.name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// arpAnswers sends ARP requests for the VIP from the client and reports whether owner
// answered.
func arpAnswers(t *testing.T, client *testutil.Host, owner *director) bool {
	t.Helper()
	testutil.NeedCommand(t, "arping")
	out, _ := client.Exec("arping", "-c", "2", "-w", "3", "-I", "eth0", netnsVIP)
	return strings.Contains(strings.ToLower(out), owner.mac())
}

// clientNeighbour is the MAC the client's kernel has for the VIP: gratuitous ARPs
// update it, which is what moves traffic on a real LAN.
func clientNeighbour(t *testing.T, client *testutil.Host) string {
	t.Helper()
	out, _ := client.Exec("ip", "neigh", "show", netnsVIP, "dev", "eth0")
	return strings.ToLower(out)
}

// TestGovsBinaryFailover: two `govs run -P` processes, VRRPv3 at 0.1 s. The higher
// priority wins; kill -9 of its daemon moves the VIP and the client's ARP entry to the
// backup; the restarted daemon removes the VIP it left behind and preempts.
func TestGovsBinaryFailover(t *testing.T) {
	lb1, lb2, client := vrrpLAN(t)
	testutil.NeedCommand(t, "ping")
	c1 := instanceConf{version: 3, advert: "0.1", prio: 150, state: "MASTER"}
	c2 := instanceConf{version: 3, advert: "0.1", prio: 100, state: "BACKUP"}
	lb2.startGovs(c2)
	lb1.startGovs(c1)
	waitVIP(t, 10*time.Second, lb1, lb2, false)
	holdsVIP(t, time.Second, lb1, lb2)
	if !arpAnswers(t, client, lb1) {
		t.Fatalf("ARP for the VIP not answered by lb1 (%s)", lb1.mac())
	}
	// The client talks to the VIP, so its kernel has a neighbour entry to update.
	if out, err := client.Exec("ping", "-c", "1", "-W", "2", netnsVIP); err != nil {
		t.Fatalf("ping %s: %v\n%s", netnsVIP, err, out)
	}
	if n := clientNeighbour(t, client); !strings.Contains(n, lb1.mac()) {
		t.Fatalf("client's neighbour entry %q, want lb1's %s", n, lb1.mac())
	}

	// kill -9: no priority-0 advert; lb2 waits Master_Down_Interval (≈361 ms). The dead
	// master's address stays configured, as it does with keepalived.
	lb1.signal(syscall.SIGKILL)
	took := waitVIP(t, 5*time.Second, lb2, lb1, true)
	t.Logf("kill -9: lb2 holds the VIP after %v (Master_Down_Interval 361 ms, polled)", took.Round(time.Millisecond))
	if !testutil.Eventually(3*time.Second, func() bool { return strings.Contains(clientNeighbour(t, client), lb2.mac()) }) {
		t.Fatalf("client's neighbour entry %q not moved to lb2 (%s) by gratuitous ARP", clientNeighbour(t, client), lb2.mac())
	}
	if !arpAnswers(t, client, lb2) {
		t.Fatalf("ARP for the VIP not answered by lb2 (%s)", lb2.mac())
	}

	// Restart: the leftover VIP goes at once, lb1 preempts one Master_Down_Interval later.
	lb1.startGovs(c1)
	waitVIP(t, 5*time.Second, lb1, lb2, false)
	holdsVIP(t, time.Second, lb1, lb2)
	if !testutil.Eventually(3*time.Second, func() bool { return strings.Contains(clientNeighbour(t, client), lb1.mac()) }) {
		t.Fatalf("client's neighbour entry %q not moved back to lb1", clientNeighbour(t, client))
	}
}

// TestGovsBinarySIGTERMAndNopreempt: VRRPv2 at 1 s. SIGTERM makes the master send
// priority 0, so the backup takes over after Skew_Time (609 ms for priority 100), far
// sooner than Master_Down_Interval (3.6 s). The old master comes back with nopreempt and
// stays backup.
func TestGovsBinarySIGTERMAndNopreempt(t *testing.T) {
	lb1, lb2, _ := vrrpLAN(t)
	c1 := instanceConf{version: 2, advert: "1", prio: 150, state: "BACKUP"}
	lb1.startGovs(c1)
	lb2.startGovs(instanceConf{version: 2, advert: "1", prio: 100, state: "BACKUP"})
	waitVIP(t, 10*time.Second, lb1, lb2, false)
	holdsVIP(t, 1500*time.Millisecond, lb1, lb2)

	lb1.signal(syscall.SIGTERM)
	took := waitVIP(t, 5*time.Second, lb2, lb1, false)
	lb1.waitExit(5 * time.Second)
	t.Logf("SIGTERM: lb2 holds the VIP after %v (Skew_Time 609 ms, Master_Down_Interval 3609 ms)", took.Round(time.Millisecond))
	// Any takeover through the down timer takes at least 3 × 1 s (the last advert before
	// the signal is at most 1 s old); under 2 s means the priority-0 advert was honoured.
	if took > 2*time.Second {
		t.Errorf("takeover after SIGTERM took %v: the priority-0 advert was not honoured", took)
	}
	if !strings.Contains(lb1.logs.String(), "Entering STOP STATE") {
		t.Errorf("lb1 did not log its STOP state")
	}

	c1.extra = "nopreempt"
	lb1.startGovs(c1)
	// lb1 hears lb2 within an advert, then must accept it although its priority is lower.
	holdsVIP(t, 5*time.Second, lb2, lb1)
	if !strings.Contains(lb1.logs.String(), "Entering BACKUP STATE") {
		t.Errorf("restarted lb1 did not log BACKUP")
	}
}

// TestGovsBinaryReload: SIGHUP with a changed configuration (another priority, one more
// excluded address) keeps the master master: its VIP is never removed, the backup never
// takes over, and the new address appears. A configuration with errors is refused and
// the running one kept.
func TestGovsBinaryReload(t *testing.T) {
	lb1, lb2, _ := vrrpLAN(t)
	c1 := instanceConf{version: 3, advert: "0.1", prio: 150, state: "BACKUP"}
	lb1.startGovs(c1)
	lb2.startGovs(instanceConf{version: 3, advert: "0.1", prio: 100, state: "BACKUP"})
	waitVIP(t, 10*time.Second, lb1, lb2, false)
	holdsVIP(t, 500*time.Millisecond, lb1, lb2)

	// ip monitor shows every address removal in lb1, however brief.
	mon, monOut := lb1.host.Start("ip", "-o", "monitor", "address")
	time.Sleep(200 * time.Millisecond)
	before1, before2 := len(lb1.logs.String()), len(lb2.logs.String())
	c1.prio, c1.excluded = 140, []string{netnsExtraVIP + "/32 dev eth0"}
	lb1.writeConf(c1)
	lb1.signal(syscall.SIGHUP)
	if !testutil.Eventually(5*time.Second, func() bool { return lb1.hasAddr(netnsExtraVIP) }) {
		t.Fatalf("reload did not add the new excluded address")
	}
	holdsVIP(t, time.Second, lb1, lb2)

	// A configuration with an error: refused, nothing changes.
	if err := os.WriteFile(filepath.Join(lb1.dir, "keepalived.conf"), []byte("vrrp_instance VI_1 {\n    priority 999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lb1.signal(syscall.SIGHUP)
	if !testutil.Eventually(5*time.Second, func() bool {
		return strings.Contains(lb1.logs.String(), "reload") && strings.Contains(lb1.logs.String(), "refused")
	}) {
		t.Errorf("the broken configuration was not reported as refused")
	}
	holdsVIP(t, time.Second, lb1, lb2)
	if !lb1.hasAddr(netnsExtraVIP) {
		t.Errorf("a refused reload removed an address")
	}
	_ = mon.Process.Signal(syscall.SIGTERM)
	time.Sleep(100 * time.Millisecond)
	for _, line := range strings.Split(monOut.String(), "\n") {
		if strings.HasPrefix(line, "Deleted") && strings.Contains(line, netnsVIP+"/") {
			t.Errorf("the VIP was removed during the reload: %s", line)
		}
	}
	if strings.Contains(lb1.logs.String()[before1:], "Entering") || strings.Contains(lb2.logs.String()[before2:], "Entering") {
		t.Errorf("the reload changed states")
	}
}

// TestGovsBinaryWithKeepalived: `govs run -P` and the real keepalived 2.2.7 as peers,
// v2 with PASS authentication and v3, each as master in turn. The right node wins; the
// backup takes over after a kill -9 of the master's daemon (keepalived's whole process
// tree, stopped first so its parent cannot respawn or resign for it) or a SIGTERM; the
// restarted higher priority node preempts.
func TestGovsBinaryWithKeepalived(t *testing.T) {
	for _, tc := range []struct {
		version int
		advert  string
		mdi     time.Duration // Master_Down_Interval of the priority-100 backup
	}{{2, "1", 3609 * time.Millisecond}, {3, "0.1", 361 * time.Millisecond}} {
		for _, govsMaster := range []bool{true, false} {
			name := fmt.Sprintf("v%d/keepalived-master", tc.version)
			if govsMaster {
				name = fmt.Sprintf("v%d/govs-master", tc.version)
			}
			t.Run(name, func(t *testing.T) {
				lb1, lb2, _ := vrrpLAN(t)
				hi := instanceConf{version: tc.version, advert: tc.advert, prio: 150, state: "MASTER"}
				lo := instanceConf{version: tc.version, advert: tc.advert, prio: 100, state: "BACKUP"}
				start := func(d *director, c instanceConf, govs bool) {
					if govs {
						d.startGovs(c)
					} else {
						d.startKeepalived(c)
					}
				}
				start(lb2, lo, !govsMaster)
				start(lb1, hi, govsMaster)
				waitVIP(t, 3*tc.mdi+5*time.Second, lb1, lb2, false)
				holdsVIP(t, 2*tc.mdi/3, lb1, lb2)

				// Crash of the master's daemon: the backup takes over within ~MDI.
				killTree(t, lb1.cmd.Process.Pid)
				took := waitVIP(t, tc.mdi+3*time.Second, lb2, lb1, true)
				t.Logf("kill -9 of the master: backup holds the VIP after %v", took.Round(time.Millisecond))

				// Restart: both daemons remove the VIP the crash left behind, start as
				// backup and preempt one Master_Down_Interval later.
				start(lb1, hi, govsMaster)
				waitVIP(t, 2*tc.mdi+5*time.Second, lb1, lb2, false)
				holdsVIP(t, 2*tc.mdi/3, lb1, lb2)

				// Graceful stop: priority 0, the backup takes over after Skew_Time.
				lb1.signal(syscall.SIGTERM)
				took = waitVIP(t, tc.mdi+3*time.Second, lb2, lb1, false)
				t.Logf("SIGTERM of the master: backup holds the VIP after %v", took.Round(time.Millisecond))
				if tc.version == 2 && took > 2*time.Second {
					t.Errorf("takeover after SIGTERM took %v: the priority-0 advert was not honoured", took)
				}
			})
		}
	}
}

// killTree SIGSTOPs a daemon and its children, then SIGKILLs them: a crash. keepalived
// is a parent and a VRRP child; killing only one makes the other resign or respawn.
func killTree(t *testing.T, pid int) {
	t.Helper()
	pids := []int{pid}
	for i := 0; i < len(pids); i++ {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pids[i], pids[i]))
		for _, f := range strings.Fields(string(b)) {
			var c int
			if _, err := fmt.Sscan(f, &c); err == nil {
				pids = append(pids, c)
			}
		}
	}
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGSTOP)
	}
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	if !testutil.Eventually(5*time.Second, func() bool {
		for _, p := range pids {
			if alive(p) {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("pids %v still alive after SIGKILL", pids)
	}
}

// TestGovsBinaryVRRPMail: smtp_alert mails reach a real SMTP server (aiosmtpd in the
// client's namespace) with keepalived 2.2's subjects and bodies, for the backup, the new
// master after SIGTERM of the old one, and the old master's "Stopping" mail sent while it
// stops.
func TestGovsBinaryVRRPMail(t *testing.T) {
	lb1, lb2, client := vrrpLAN(t)
	ok := exec.Command(smtptest.Python, "-c", "import aiosmtpd").Run() == nil
	testutil.Need(t, ok, "python3-aiosmtpd is not installed (scripts/test.sh installs it)")
	const smtpAddr = "10.78.0.10:2525"
	mail := &smtptest.Server{Addr: smtpAddr, Maildir: filepath.Join(t.TempDir(), "Maildir")}
	client.Start(smtptest.Python, "-m", "aiosmtpd", "-n", "-l", smtpAddr, "-c", "aiosmtpd.handlers.Mailbox", mail.Maildir)
	if err := client.Do(func() error {
		if !smtptest.WaitListening(smtpAddr, 10*time.Second) {
			return fmt.Errorf("aiosmtpd not listening on %s", smtpAddr)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	globals := "    notification_email {\n        ops@example.com\n    }\n    notification_email_from govs@example.com\n" +
		"    smtp_server 10.78.0.10 2525\n    smtp_connect_timeout 5\n"
	c1 := instanceConf{version: 3, advert: "0.1", prio: 150, state: "MASTER", extra: "smtp_alert", globals: globals}
	c2 := instanceConf{version: 3, advert: "0.1", prio: 100, state: "BACKUP", extra: "smtp_alert", globals: globals}
	lb1.startGovs(c1)
	waitVIP(t, 10*time.Second, lb1, lb2, false)
	lb2.startGovs(c2)
	want := []struct{ subject, body string }{
		{"Subject: [lb1] VRRP Instance VI_1 - Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="},
		{"Subject: [lb2] VRRP Instance VI_1 - Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="},
	}
	for _, w := range want {
		m, ok := mail.WaitFor(w.subject, 10*time.Second)
		if !ok {
			t.Fatalf("no mail %q; got %q", w.subject, mail.Messages())
		}
		if !strings.Contains(m, w.body) {
			t.Errorf("mail %q has no body %q:\n%s", w.subject, w.body, m)
		}
	}

	lb1.signal(syscall.SIGTERM)
	lb1.waitExit(10 * time.Second)
	for _, w := range []struct{ subject, body string }{
		{"Subject: [lb1] VRRP Instance VI_1 - Stopping", "=> VRRP Instance stopping <="},
		{"Subject: [lb2] VRRP Instance VI_1 - Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="},
	} {
		m, ok := mail.WaitFor(w.subject, 10*time.Second)
		if !ok {
			t.Fatalf("no mail %q; got %q", w.subject, mail.Messages())
		}
		if !strings.Contains(m, w.body) {
			t.Errorf("mail %q has no body %q:\n%s", w.subject, w.body, m)
		}
	}
}

// TestGovsBinaryVMACWithAH: `govs run -P` with use_vmac and auth_type AH on both
// directors (VRRPv2 at 1 s). The master's VIP sits on the VMAC vrrp.78 and ARP for it is
// answered with the virtual router MAC; after kill -9 of the master the backup takes over
// behind the same MAC, so the client's neighbour entry never has to change.
func TestGovsBinaryVMACWithAH(t *testing.T) {
	lb1, lb2, client := vrrpLAN(t)
	testutil.NeedCommand(t, "arping")
	const virtualMAC = "00:00:5e:00:01:4e" // VRID 78
	onVMAC := func(d *director) bool {
		out, _ := d.host.Exec("ip", "-4", "-o", "addr", "show", "dev", "vrrp.78")
		return strings.Contains(out, " "+netnsVIP+"/")
	}
	waitOwner := func(owner, other *director) {
		t.Helper()
		if !testutil.Eventually(10*time.Second, func() bool { return onVMAC(owner) && !onVMAC(other) }) {
			t.Fatalf("VIP on %s's VMAC %v, on %s's %v; want %s only\n%s", owner.name, onVMAC(owner), other.name, onVMAC(other), owner.name, owner.allLogs())
		}
	}
	// Replies from the VIP leave by the base interface (with keepalived too): a director
	// that had to ARP for the client would teach it the base MAC for the VIP. Real
	// directors know their gateway already; give these a fixed entry for the client.
	clientMAC, err := client.Exec("cat", "/sys/class/net/eth0/address")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*director{lb1, lb2} {
		if out, err := d.host.Exec("ip", "neigh", "replace", "10.78.0.10", "lladdr", strings.TrimSpace(clientMAC), "dev", "eth0", "nud", "permanent"); err != nil {
			t.Fatalf("%s: ip neigh: %v %s", d.name, err, out)
		}
	}
	c1 := instanceConf{version: 2, advert: "1", prio: 150, state: "BACKUP", auth: "AH", vmac: true}
	c2 := instanceConf{version: 2, advert: "1", prio: 100, state: "BACKUP", auth: "AH", vmac: true}
	lb1.startGovs(c1)
	lb2.startGovs(c2)
	waitOwner(lb1, lb2)
	out, _ := client.Exec("arping", "-c", "2", "-w", "3", "-I", "eth0", netnsVIP)
	if !strings.Contains(strings.ToLower(out), virtualMAC) {
		t.Fatalf("ARP for the VIP not answered with the virtual MAC %s:\n%s", virtualMAC, out)
	}
	if out, err := client.Exec("ping", "-c", "1", "-W", "2", netnsVIP); err != nil {
		t.Fatalf("ping %s: %v\n%s", netnsVIP, err, out)
	}
	if n := clientNeighbour(t, client); !strings.Contains(n, virtualMAC) {
		t.Fatalf("client's neighbour entry %q, want the virtual MAC", n)
	}
	lb1.signal(syscall.SIGKILL)
	// The killed daemon leaves its VMAC behind, as keepalived's does; lb2's is the one
	// that must carry the VIP now.
	if !testutil.Eventually(10*time.Second, func() bool { return onVMAC(lb2) }) {
		t.Fatalf("lb2 did not take the VIP over after kill -9 of lb1\n%s", lb2.allLogs())
	}
	if out, err := client.Exec("ping", "-c", "1", "-W", "2", netnsVIP); err != nil {
		t.Fatalf("ping %s after the failover: %v\n%s", netnsVIP, err, out)
	}
	if n := clientNeighbour(t, client); !strings.Contains(n, virtualMAC) {
		t.Fatalf("client's neighbour entry %q after the failover, want the virtual MAC still", n)
	}
	if !strings.Contains(lb2.allLogs(), "MASTER") {
		t.Errorf("lb2 did not log its MASTER state")
	}
}

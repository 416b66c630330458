package vrrp

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// keepalivedConf is a one-instance keepalived.conf like the failover bench generates.
func keepalivedConf(version, vrid, prio int, interval time.Duration, vip string) string {
	auth := ""
	if version == 2 {
		auth = "    authentication {\n        auth_type PASS\n        auth_pass govstest\n    }\n"
	}
	return fmt.Sprintf(`global_defs {
    router_id ka
    vrrp_version %d
    script_user root
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id %d
    priority %d
    advert_int %g
%s    virtual_ipaddress {
        %s/24
    }
}
`, version, vrid, prio, interval.Seconds(), auth, vip)
}

// startKeepalived runs the real keepalived (VRRP only, foreground) in h with per-test
// configuration and pid files; the host's /etc/keepalived is never read.
func startKeepalived(t *testing.T, h *testutil.Host, conf string) (pid int, logs *testutil.SyncBuffer) {
	t.Helper()
	testutil.NeedCommand(t, "keepalived")
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, buf := h.Start("keepalived", "-n", "-l", "-D", "-P", "-f", path,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "checkers.pid"), "-b", filepath.Join(dir, "bfd.pid"))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("keepalived in %s:\n%s", h.Name, buf.String())
		}
	})
	return cmd.Process.Pid, buf
}

// startCapture records VRRP packets seen on h's eth0 until the returned stop is called.
func startCapture(t *testing.T, h *testutil.Host) (stop func() string) {
	t.Helper()
	testutil.NeedCommand(t, "tshark")
	path := filepath.Join(t.TempDir(), "vrrp.pcap")
	// tshark refuses to write into a directory it does not own when it drops privileges.
	if err := os.Chmod(filepath.Dir(path), 0o777); err != nil {
		t.Fatal(err)
	}
	cmd, buf := h.Start("tshark", "-q", "-i", "eth0", "-f", "ip proto 112", "-w", path)
	if !testutil.Eventually(10*time.Second, func() bool { return strings.Contains(buf.String(), "Capturing on") }) {
		t.Fatalf("tshark did not start:\n%s", buf.String())
	}
	return func() string {
		_ = cmd.Process.Signal(syscall.SIGINT)
		if !testutil.Eventually(5*time.Second, func() bool { return strings.Contains(buf.String(), "captured") }) {
			t.Errorf("tshark did not finish:\n%s", buf.String())
		}
		return path
	}
}

// checkCapture asserts that tshark's VRRP dissector finds every advert from src well
// formed with a good checksum, and that there are some.
func checkCapture(t *testing.T, pcap, src string) {
	t.Helper()
	b, err := exec.Command("tshark", "-r", pcap, "-Y", "vrrp && ip.src=="+src,
		"-T", "fields", "-e", "vrrp.version", "-e", "vrrp.prio", "-e", "vrrp.checksum.status", "-e", "_ws.malformed", "-e", "_ws.expert.severity").Output()
	out := string(b)
	if err != nil {
		t.Fatalf("tshark -r: %v\n%s", err, out)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 3 || strings.HasPrefix(line, "Running as") {
			continue
		}
		n++
		if f[2] != "1" || len(f) > 3 && strings.TrimSpace(strings.Join(f[3:], "")) != "" {
			t.Errorf("tshark finds a govs advert bad (version, prio, checksum status, malformed, expert): %q", line)
		}
	}
	if n == 0 {
		t.Errorf("no VRRP packet from %s in the capture", src)
	}
	t.Logf("tshark: %d adverts from govs (%s) dissected clean", n, src)
}

// TestKeepalivedInterop runs govs against the real keepalived 2.2.7, v2 (PASS auth) and
// v3, each side as master in turn: the right node wins, and the other takes over when
// it stops.
func TestKeepalivedInterop(t *testing.T) {
	testutil.Integration(t)
	for _, tc := range []struct {
		version  int
		interval time.Duration
	}{{2, time.Second}, {3, 100 * time.Millisecond}} {
		for _, kaMaster := range []bool{true, false} {
			name := fmt.Sprintf("v%d/govs-master", tc.version)
			if kaMaster {
				name = fmt.Sprintf("v%d/keepalived-master", tc.version)
			}
			t.Run(name, func(t *testing.T) {
				_, hosts := lanHosts(t, "ka", "govs")
				kaPrio, govsPrio := 100, uint8(150)
				if kaMaster {
					kaPrio, govsPrio = 150, 100
				}
				stopCapture := startCapture(t, hosts["govs"])
				in := instanceCfg("VI_1", 57, govsPrio, uint8(tc.version), tc.interval, testVIP)
				if tc.version == 2 {
					in.AuthType, in.AuthPass = AuthPass, "govstest"
				}
				g := startNode(t, hosts["govs"], single(in))
				kaPid, _ := startKeepalived(t, hosts["ka"], keepalivedConf(tc.version, 57, kaPrio, tc.interval, testVIP))
				winner, loser := hosts["govs"], hosts["ka"]
				if kaMaster {
					winner, loser = loser, winner
				}
				mdi := MasterDownInterval(Params{Version: uint8(tc.version), Priority: 100, DownTimerAdverts: 3}, tc.interval)
				waitVIP(t, 2*mdi+3*time.Second, testVIP, winner, hosts)
				// Stable: the election holds for a few more intervals.
				time.Sleep(2 * tc.interval)
				waitVIP(t, time.Second, testVIP, winner, hosts)
				st := g.Status()[0]
				if kaMaster && st.AdvertsReceived == 0 || len(st.BadPackets) != 0 {
					t.Fatalf("govs status: received %d, bad %v", st.AdvertsReceived, st.BadPackets)
				}
				if kaMaster {
					if st.State != StateBackup || st.Master.String() != "10.77.0.1" {
						t.Fatalf("govs: %v, master %v; want BACKUP under 10.77.0.1", st.State, st.Master)
					}
					if err := syscall.Kill(kaPid, syscall.SIGTERM); err != nil {
						t.Fatal(err)
					}
				} else {
					g.stop(t)
				}
				waitVIP(t, mdi+3*time.Second, testVIP, loser, hosts)
				time.Sleep(2 * tc.interval) // a few adverts of the new master for the capture
				checkCapture(t, stopCapture(), "10.77.0.2")
			})
		}
	}
}

// TestKeepalivedAHInterop: VRRPv2 with auth_type AH against keepalived 2.2.7, each side
// master in turn. The right node wins and stays master (each accepts the other's ICV and
// sequence numbers), the other takes over when it stops; a keepalived master that comes
// back (its counter restarted at 0) is heard again and preempts; a node with another
// password is not heard at all.
func TestKeepalivedAHInterop(t *testing.T) {
	testutil.Integration(t)
	ahConf := func(prio int, pass string) string {
		c := keepalivedConf(2, 64, prio, time.Second, testVIP)
		c = strings.Replace(c, "auth_type PASS", "auth_type AH", 1)
		return strings.Replace(c, "auth_pass govstest", "auth_pass "+pass, 1)
	}
	govsCfg := func(prio uint8, pass string) Config {
		in := instanceCfg("VI_1", 64, prio, 2, time.Second, testVIP)
		in.AuthType, in.AuthPass = AuthAH, pass
		return single(in)
	}
	mdi := MasterDownInterval(Params{Version: 2, Priority: 100, DownTimerAdverts: 3}, time.Second)
	for _, kaMaster := range []bool{true, false} {
		name := "govs-master"
		if kaMaster {
			name = "keepalived-master"
		}
		t.Run(name, func(t *testing.T) {
			_, hosts := lanHosts(t, "ka", "govs")
			ka, g := hosts["ka"], hosts["govs"]
			kaPrio, govsPrio, winner, loser := 100, uint8(150), g, ka
			if kaMaster {
				kaPrio, govsPrio, winner, loser = 150, 100, ka, g
			}
			n := startNode(t, g, govsCfg(govsPrio, "ahsecret"))
			kaPid, kaLogs := startKeepalived(t, ka, ahConf(kaPrio, "ahsecret"))
			settleVIP(t, 2*mdi+3*time.Second, winner, hosts)
			if l := kaLogs.String(); strings.Contains(l, "IPSEC") || !kaMaster && !strings.Contains(l, "Entering BACKUP STATE") {
				t.Fatalf("keepalived did not take govs's AH adverts:\n%s", l)
			}
			st := firstStatus(n.Node)
			if st.AdvertsReceived == 0 && kaMaster || len(st.BadPackets) != 0 {
				t.Fatalf("govs: %v, received %d, bad %v", st.State, st.AdvertsReceived, st.BadPackets)
			}
			if !kaMaster {
				n.stop(t)
				waitVIP(t, mdi+3*time.Second, testVIP, loser, hosts)
				return
			}
			if err := syscall.Kill(kaPid, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			waitVIP(t, mdi+3*time.Second, testVIP, g, hosts)
			// keepalived again, counter from 0: it hears govs's higher numbers, takes
			// them, and its own adverts above them win govs back to backup.
			startKeepalived(t, ka, ahConf(kaPrio, "ahsecret"))
			settleVIP(t, 2*mdi+3*time.Second, ka, hosts)
			if st := firstStatus(n.Node); st.State != StateBackup {
				t.Fatalf("govs after keepalived came back: %v", st.State)
			}
		})
	}
	// Unicast: the ICV leaves the TTL out. keepalived at .1, govs at .2.
	for _, kaMaster := range []bool{true, false} {
		name := "unicast/govs-master"
		if kaMaster {
			name = "unicast/keepalived-master"
		}
		t.Run(name, func(t *testing.T) {
			_, hosts := lanHosts(t, "ka", "govs")
			ka, g := hosts["ka"], hosts["govs"]
			kaPrio, govsPrio, winner := 100, uint8(150), g
			if kaMaster {
				kaPrio, govsPrio, winner = 150, 100, ka
			}
			cfg := govsCfg(govsPrio, "ahsecret")
			cfg.Instances[0].UnicastPeers = []netip.Addr{netip.MustParseAddr("10.77.0.1")}
			n := startNode(t, g, cfg)
			conf := strings.Replace(ahConf(kaPrio, "ahsecret"), "interface eth0\n",
				"interface eth0\n    unicast_src_ip 10.77.0.1\n    unicast_peer {\n        10.77.0.2\n    }\n", 1)
			_, kaLogs := startKeepalived(t, ka, conf)
			settleVIP(t, 2*mdi+3*time.Second, winner, hosts)
			st := firstStatus(n.Node)
			if kaMaster && st.AdvertsReceived == 0 || len(st.BadPackets) != 0 {
				t.Fatalf("govs: %v, received %d, bad %v", st.State, st.AdvertsReceived, st.BadPackets)
			}
			if l := kaLogs.String(); strings.Contains(l, "IPSEC") || !kaMaster && !strings.Contains(l, "Entering BACKUP STATE") {
				t.Fatalf("keepalived did not take govs's unicast AH adverts:\n%s", l)
			}
		})
	}
	t.Run("other password", func(t *testing.T) {
		_, hosts := lanHosts(t, "ka", "govs")
		n := startNode(t, hosts["govs"], govsCfg(100, "ahsecret"))
		startKeepalived(t, hosts["ka"], ahConf(150, "different"))
		waitRejected(t, n.Node, "auth", 2*mdi+3*time.Second)
	})
}

// TestKeepalivedOldUnicastChecksum runs IPv4 VRRPv3 unicast against keepalived with
// old_unicast_checksum, which checksums over 224.0.0.18 as keepalived 1.3.6 and earlier
// did: govs detects it from keepalived's adverts and answers in kind, keepalived detects
// it from a govs configured for it, and with never govs rejects it. keepalived at .1,
// govs at .2.
func TestKeepalivedOldUnicastChecksum(t *testing.T) {
	testutil.Integration(t)
	kaConf := func(prio int, extra string) string {
		return strings.Replace(keepalivedConf(3, 65, prio, time.Second, testVIP), "interface eth0\n",
			"interface eth0\n    unicast_src_ip 10.77.0.1\n    unicast_peer {\n        10.77.0.2\n    }\n"+extra, 1)
	}
	govsCfg := func(prio uint8, mode UnicastChecksum) Config {
		in := instanceCfg("VI_1", 65, prio, 3, time.Second, testVIP)
		in.UnicastPeers = []netip.Addr{netip.MustParseAddr("10.77.0.1")}
		in.UnicastChecksum = mode
		return single(in)
	}
	mdi := MasterDownInterval(Params{Version: 3, Priority: 100, DownTimerAdverts: 3}, time.Second)
	t.Run("govs detects", func(t *testing.T) {
		_, hosts := lanHosts(t, "ka", "govs")
		ka, g := hosts["ka"], hosts["govs"]
		n := startNode(t, g, govsCfg(100, UnicastChecksumDetect))
		_, kaLogs := startKeepalived(t, ka, kaConf(150, "    old_unicast_checksum\n"))
		settleVIP(t, 2*mdi+3*time.Second, ka, hosts)
		if st := firstStatus(n.Node); st.State != StateBackup || st.AdvertsReceived == 0 || len(st.BadPackets) != 0 {
			t.Fatalf("govs under an old-checksum master: %v, received %d, bad %v", st.State, st.AdvertsReceived, st.BadPackets)
		}
		// govs now outranks keepalived: its adverts, in the old checksum it detected
		// (again, after the reload rebuilt the instance), must send keepalived back.
		if err := n.Update(govsCfg(200, UnicastChecksumDetect)); err != nil {
			t.Fatal(err)
		}
		settleVIP(t, 2*mdi+3*time.Second, g, hosts)
		if l := kaLogs.String(); !strings.Contains(l, "Entering BACKUP STATE") {
			t.Fatalf("keepalived did not take govs's old-checksum adverts:\n%s", l)
		}
	})
	t.Run("keepalived detects", func(t *testing.T) {
		_, hosts := lanHosts(t, "ka", "govs")
		ka, g := hosts["ka"], hosts["govs"]
		n := startNode(t, g, govsCfg(150, UnicastChecksumOld))
		_, kaLogs := startKeepalived(t, ka, kaConf(100, ""))
		settleVIP(t, 2*mdi+3*time.Second, g, hosts)
		if l := kaLogs.String(); !strings.Contains(l, "Setting unicast VRRPv3 checksum to old version") ||
			strings.Contains(l, "Entering MASTER STATE") {
			t.Fatalf("keepalived did not detect govs's old checksum:\n%s", l)
		}
		if st := firstStatus(n.Node); st.State != StateMaster || len(st.BadPackets) != 0 {
			t.Fatalf("govs: %v, bad %v", st.State, st.BadPackets)
		}
	})
	t.Run("never", func(t *testing.T) {
		_, hosts := lanHosts(t, "ka", "govs")
		n := startNode(t, hosts["govs"], govsCfg(100, UnicastChecksumNever))
		startKeepalived(t, hosts["ka"], kaConf(150, "    old_unicast_checksum\n"))
		waitRejected(t, n.Node, "checksum", 2*mdi+3*time.Second)
	})
}

// waitRejected waits for n's first instance to be master while counting keepalived's
// adverts as bad for reason, none taken.
func waitRejected(t *testing.T, n *Node, reason string, timeout time.Duration) {
	t.Helper()
	ok := testutil.Eventually(timeout, func() bool {
		st := firstStatus(n)
		return st.State == StateMaster && st.BadPackets[reason] > 0
	})
	if st := firstStatus(n); !ok || st.AdvertsReceived != 0 {
		t.Fatalf("govs: %v, received %d, bad %v; want master rejecting every advert (%s)", st.State, st.AdvertsReceived, st.BadPackets, reason)
	}
}

// settleVIP waits up to timeout for owner alone to hold testVIP, and for it to stay so
// over two more adverts.
func settleVIP(t *testing.T, timeout time.Duration, owner *testutil.Host, hosts map[string]*testutil.Host) {
	t.Helper()
	waitVIP(t, timeout, testVIP, owner, hosts)
	time.Sleep(2 * time.Second)
	waitVIP(t, time.Second, testVIP, owner, hosts)
}

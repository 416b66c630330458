package main

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

const snmpConf = `global_defs {
  enable_snmp_rfc
  enable_traps
  snmp_socket %s
}
vrrp_instance VI_1 {
  interface eth0
  state BACKUP
  version 3
  virtual_router_id 91
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.61.0.120/24
    10.61.0.121/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  state BACKUP
  version 2
  virtual_router_id 92
  priority 90
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    10.61.0.122/24
  }
}
vrrp_instance VI_6 {
  interface eth0
  state BACKUP
  virtual_router_id 93
  priority 100
  advert_int 0.5
  nopreempt
  virtual_ipaddress {
    2001:db8:61::120/64
  }
}
`

// TestSNMPAsKeepalived runs keepalived 2.2.7 and then govs with enable_snmp_rfc and
// enable_traps under a real snmpd (master agentx) in the host's namespace: snmpwalk of
// RFC 2787's VRRP-MIB and RFC 6527's VRRPv3-MIB gives the same variables, types and
// values for both (the uptimes masked: they count time), and both send the same
// new-master notifications to the trap sink.
func TestSNMPAsKeepalived(t *testing.T) {
	h := keepalivedHost(t)
	m := startSNMPMaster(t, h)
	socket, traps := m.Socket, m.Traps
	dir := t.TempDir()
	conf := writeTestFile(t, dir, "keepalived.conf", fmt.Sprintf(snmpConf, socket))
	walk := func() string { return m.Walk("1.3.6.1.2.1.207", "1.3.6.1.2.1.68") }
	mastersShown := regexp.MustCompile(`207\.1\.1\.1\.1\.6\.[0-9]+\.(91\.1|92\.1|93\.2) = INTEGER: 3`)
	uptimes := regexp.MustCompile(`(?m)^(\.1\.3\.6\.1\.2\.1\.(207\.1\.1\.1\.1\.12|68\.1\.3\.1\.13)\.[0-9.]+ = Timeticks: ).*$`)
	masters := func() bool {
		out, _ := h.Exec("ip", "addr", "show", "eth0")
		return strings.Contains(out, "10.61.0.120/24") && strings.Contains(out, "10.61.0.122/24") && strings.Contains(out, "2001:db8:61::120/64")
	}
	// run starts a daemon, waits until its instances are master and the walk shows
	// them so, and returns the walk and the notifications' OIDs it sent.
	run := func(name string, argv ...string) (string, []string) {
		cmd, logs := h.Start(argv[0], argv[1:]...)
		defer func() {
			cmd.Process.Signal(syscall.SIGTERM)
			testutil.Eventually(10*time.Second, func() bool { return !masters() })
		}()
		if !testutil.Eventually(15*time.Second, masters) {
			t.Fatalf("%s: the instances did not become master:\n%s", name, logs.String())
		}
		var got string
		if !testutil.Eventually(10*time.Second, func() bool {
			got = walk()
			return len(mastersShown.FindAllString(got, -1)) == 3
		}) {
			t.Fatalf("%s: the walk does not show three masters:\n%s\n%s", name, got, logs.String())
		}
		return uptimes.ReplaceAllString(got, "${1}(masked)"), readTraps(t, traps, 4)
	}
	ka, kaTraps := run("keepalived", "keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"))
	gv, gvTraps := run("govs", testutil.GovsBinary(t), "run", "-P", "-f", conf)
	if gv != ka {
		t.Errorf("snmpwalk differs:\ngovs:\n%s\nkeepalived:\n%s", gv, ka)
	}
	// One vrrpv3NewMaster per instance and a vrrpTrapNewMaster for the VRRPv2 one.
	if want := "v2 v3 v3 v3"; strings.Join(gvTraps, " ") != want || strings.Join(kaTraps, " ") != want {
		t.Errorf("notifications: govs %v, keepalived %v, want %s", gvTraps, kaTraps, want)
	}
	if !regexp.MustCompile(`68\.1\.3\.1\.9\.[0-9]+\.92 = INTEGER: 2`).MatchString(gv) { // auth_type PASS
		t.Errorf("VI_2's authentication type is not simpleTextPassword:\n%s", gv)
	}

	// Backups: a keepalived peer with higher priorities is master of all three; the
	// rows show the master heard, the state, no new-master reason, and the adverts
	// counted (their number masked: it counts time).
	peer := h.LAN().AddHost("peer", "10.61.0.2/24", "2001:db8:61::2/64")
	pc := strings.NewReplacer("priority 100", "priority 200", "priority 90", "priority 200", "  enable_snmp_rfc\n  enable_traps\n", "").Replace(fmt.Sprintf(snmpConf, socket))
	peerConf := writeTestFile(t, dir, "peer.conf", pc)
	peerCmd, peerLogs := peer.Start("keepalived", "-n", "-l", "-D", "-P", "-f", peerConf, "-p", filepath.Join(dir, "pk.pid"), "-r", filepath.Join(dir, "pv.pid"))
	defer peerCmd.Process.Signal(syscall.SIGTERM)
	if !testutil.Eventually(15*time.Second, func() bool {
		out, _ := peer.Exec("ip", "addr", "show", "eth0")
		return strings.Contains(out, "10.61.0.120/24") && strings.Contains(out, "10.61.0.122/24") && strings.Contains(out, "2001:db8:61::120/64")
	}) {
		t.Fatalf("the peer did not become master:\n%s", peerLogs.String())
	}
	unheard := regexp.MustCompile(`207\.1\.1\.1\.1\.3\.[0-9.]+ = Hex-STRING: (00 ){4}\n`)
	backupsShown := regexp.MustCompile(`207\.1\.1\.1\.1\.6\.[0-9]+\.(91\.1|92\.1|93\.2) = INTEGER: 2`)
	received := regexp.MustCompile(`(?m)^(\.1\.3\.6\.1\.2\.1\.(207\.1\.2\.5\.1\.3|68\.2\.4\.1\.2)\.[0-9.]+ = Counter(32|64): ).*$`)
	backup := func(name string, argv ...string) string {
		cmd, logs := h.Start(argv[0], argv[1:]...)
		defer func() {
			cmd.Process.Signal(syscall.SIGTERM)
			testutil.Eventually(10*time.Second, func() bool { return syscall.Kill(cmd.Process.Pid, 0) != nil })
		}()
		var got string
		if !testutil.Eventually(15*time.Second, func() bool {
			got = walk()
			// Both MIBs show the master heard: the walk reads them one after the other.
			return len(backupsShown.FindAllString(got, -1)) == 3 && !strings.Contains(got, "IpAddress: 0.0.0.0") && !unheard.MatchString(got)
		}) {
			t.Fatalf("%s: the walk does not show three backups that heard the master:\n%s\n%s", name, got, logs.String())
		}
		return received.ReplaceAllString(uptimes.ReplaceAllString(got, "${1}(masked)"), "${1}(masked)")
	}
	kaBackup := backup("keepalived", "keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"))
	gvBackup := backup("govs", testutil.GovsBinary(t), "run", "-P", "-f", conf)
	if gvBackup != kaBackup {
		t.Errorf("snmpwalk of backups differs:\ngovs:\n%s\nkeepalived:\n%s", gvBackup, kaBackup)
	}
	if !strings.Contains(gvBackup, "IpAddress: 10.61.0.2") {
		t.Errorf("the backups do not show the peer as master:\n%s", gvBackup)
	}
}

// readTraps reads up to n of the new-master notifications the sink gets within a few
// seconds (snmpd's own coldStart is skipped) and names each by its MIB: "v2" for
// RFC 2787's vrrpTrapNewMaster, "v3" for RFC 6527's vrrpv3NewMaster, sorted.
func readTraps(t *testing.T, pc net.PacketConn, n int) []string {
	t.Helper()
	v2 := []byte{0x2b, 6, 1, 2, 1, 0x44, 0, 1}       // 1.3.6.1.2.1.68.0.1
	v3 := []byte{0x2b, 6, 1, 2, 1, 0x81, 0x4f, 0, 1} // 1.3.6.1.2.1.207.0.1
	var got []string
	buf := make([]byte, 4096)
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < n {
		_ = pc.SetReadDeadline(deadline)
		k, _, err := pc.ReadFrom(buf)
		if err != nil {
			break
		}
		switch {
		case bytes.Contains(buf[:k], v2):
			got = append(got, "v2")
		case bytes.Contains(buf[:k], v3):
			got = append(got, "v3")
		}
	}
	slices.Sort(got)
	return got
}

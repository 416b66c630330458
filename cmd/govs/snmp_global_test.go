package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// snmpMaster is a real snmpd, AgentX master on a socket of the test, answering on
// 127.0.0.1:16161 of h's namespace (community public, private for sets) and sending
// its notifications to Traps.
type snmpMaster struct {
	h      *testutil.Host
	Socket string
	Traps  net.PacketConn
}

func startSNMPMaster(t *testing.T, h *testutil.Host) *snmpMaster {
	t.Helper()
	testutil.NeedCommand(t, "snmpd")
	testutil.NeedCommand(t, "snmpwalk")
	dir := t.TempDir()
	m := &snmpMaster{h: h, Socket: filepath.Join(dir, "agentx")}
	if err := h.Do(func() (err error) { m.Traps, err = net.ListenPacket("udp", "127.0.0.1:0"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Traps.Close() })
	conf := writeTestFile(t, dir, "snmpd.conf", fmt.Sprintf("master agentx\nagentXSocket %s\nagentaddress udp:127.0.0.1:16161\nrocommunity public 127.0.0.1\nrwcommunity private 127.0.0.1\ntrap2sink %s public\n", m.Socket, m.Traps.LocalAddr()))
	h.Start("snmpd", "-f", "-Lo", "-C", "-c", conf, "-I", "-smux,mteTrigger,mteTriggerConf")
	if !testutil.Eventually(10*time.Second, func() bool { _, err := os.Stat(m.Socket); return err == nil }) {
		t.Fatal("snmpd did not make its AgentX socket")
	}
	return m
}

// Walk is snmpwalk -On of each subtree, one after the other.
func (m *snmpMaster) Walk(roots ...string) string {
	var b strings.Builder
	for _, root := range roots {
		out, _ := m.h.Exec("snmpwalk", "-v2c", "-c", "public", "-On", "-t", "2", "-r", "0", "127.0.0.1:16161", root)
		b.WriteString(out)
	}
	return b.String()
}

// TestKeepalivedMIBGlobalAsKeepalived: with enable_snmp_vrrp, keepalived's VRRP process
// serves KEEPALIVED-MIB's global objects (…5.1); govs under -P serves the same values,
// for a configuration that sets none of them and one that sets them all. Only the
// version differs: each names itself.
func TestKeepalivedMIBGlobalAsKeepalived(t *testing.T) {
	h := keepalivedHost(t)
	m := startSNMPMaster(t, h)
	const instance = `
vrrp_instance VI_1 {
  interface eth0
  state BACKUP
  virtual_router_id 94
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.61.0.140/24
  }
}
`
	const root = "1.3.6.1.4.1.9586.100.5.1"
	for _, tc := range []struct{ name, globals string }{
		{"defaults", ""},
		{"all set", `
  router_id lb-one
  notification_email {
    ops@example.org
    noc@example.org
  }
  notification_email_from lb@example.org
  smtp_server 2001:db8:61::25 2525
  smtp_connect_timeout 12
  smtp_alert
  smtp_alert_checker off
  no_email_faults
  lvs_flush
  lvs_flush_on_stop VS
  dynamic_interfaces
  enable_traps
`},
		{"smtp server only", `
  smtp_server 10.61.0.25
  smtp_alert_vrrp on
  lvs_flush_on_stop
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := writeTestFile(t, t.TempDir(), "keepalived.conf", fmt.Sprintf("global_defs {\n  enable_snmp_vrrp\n  snmp_socket %s\n%s}\n%s", m.Socket, tc.globals, instance))
			run := func(name string, argv ...string) string {
				cmd, logs := h.Start(argv[0], argv[1:]...)
				defer func() {
					cmd.Process.Signal(syscall.SIGTERM)
					if !h.WaitExit(cmd, 10*time.Second) { // gone before the next daemon registers
						t.Errorf("%s did not stop:\n%s", name, logs.String())
					}
				}()
				var got string
				if !testutil.Eventually(15*time.Second, func() bool { got = m.Walk(root); return strings.Contains(got, ".5.1.11.0 = ") }) {
					t.Fatalf("%s: no global objects:\n%s\n%s", name, got, logs.String())
				}
				lines := strings.Split(got, "\n")
				for i, l := range lines {
					if strings.HasPrefix(l, ".1.3.6.1.4.1.9586.100.5.1.1.0 = STRING: ") {
						lines[i] = ".1.3.6.1.4.1.9586.100.5.1.1.0 = STRING: (the daemon's name and version)"
					}
				}
				return strings.Join(lines, "\n")
			}
			dir := t.TempDir()
			ka := run("keepalived", "keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"))
			gv := run("govs", testutil.GovsBinary(t), "run", "-P", "-f", conf)
			if gv != ka {
				t.Errorf("walk of %s differs:\ngovs:\n%s\nkeepalived:\n%s", root, gv, ka)
			}
		})
	}
}

// startKeepalivedPeer runs keepalived -P with the configuration file conf on a host
// "peer" of h's LAN at 10.61.0.2/24, its pid files beside conf. It is stopped when the
// test ends, which fails if it does not stop.
// writeTestFile writes text to dir/name and returns the path.
func writeTestFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func startKeepalivedPeer(t *testing.T, h *testutil.Host, conf string) (*testutil.Host, *testutil.SyncBuffer) {
	t.Helper()
	dir := filepath.Dir(conf)
	peer := h.LAN().AddHost("peer", "10.61.0.2/24")
	cmd, logs := peer.Start("keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", filepath.Join(dir, "pk.pid"), "-r", filepath.Join(dir, "pv.pid"))
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if !peer.WaitExit(cmd, 15*time.Second) {
			t.Errorf("the peer did not stop:\n%s", logs.String())
		}
	})
	return peer, logs
}

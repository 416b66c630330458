package vrrp

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// TestNetlinkRcvBufs: vrrp_netlink_cmd_rcv_bufs, vrrp_netlink_monitor_rcv_bufs and
// process_monitor_rcv_bufs (all _force) size the node's command socket, its link
// monitor and its proc connector socket; ss reads the sizes back (the kernel doubles
// what is set).
func TestNetlinkRcvBufs(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	cfg := single(instanceCfg("VI_1", 74, 150, 3, 100*time.Millisecond, testVIP))
	cfg.NetlinkCmdRcvBuf = RcvBuf{Bytes: 1234567, Force: true}
	cfg.NetlinkMonitorRcvBuf = RcvBuf{Bytes: 2345678, Force: true}
	cfg.ProcessMonitorRcvBuf = RcvBuf{Bytes: 3456789, Force: true}
	cfg.TrackProcesses = []TrackProcessConfig{{Name: "init", Process: "govs-no-such-process", Weight: -10}}
	cfg.Instances[0].TrackProcesses = []TrackRef{{Name: "init"}}
	n := startNode(t, hosts["a"], cfg)
	waitState(t, n.Node, "VI_1", StateMaster, "a")
	has := func(ss string, bytes int) bool { return strings.Contains(ss, fmt.Sprintf("rb%d,", 2*bytes)) }
	var inNS, inRoot string
	if !testutil.Eventually(3*time.Second, func() bool {
		inNS, _ = hosts["a"].Exec("ss", "-f", "netlink", "-m")
		// The proc connector exists in the initial namespace only.
		out, _ := exec.Command("ss", "-f", "netlink", "-m").CombinedOutput()
		inRoot = string(out)
		return has(inNS, 1234567) && has(inNS, 2345678) && has(inRoot, 3456789)
	}) {
		t.Fatalf("socket buffers not as configured:\nin the namespace:\n%s\nin the initial namespace:\n%s", inNS, inRoot)
	}
}

// TestDisableLocalIGMP: disable_local_igmp holds net.ipv4.igmp_link_local_mcast_reports
// at 0 in the node's namespace while it runs and puts the 1 back when it stops.
func TestDisableLocalIGMP(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	a := hosts["a"]
	const key = "ipv4/igmp_link_local_mcast_reports"
	if got := sysctlIn(t, a, key); got != "1" {
		t.Fatalf("%s starts at %s", key, got)
	}
	cfg := single(instanceCfg("VI_1", 75, 150, 3, 100*time.Millisecond, testVIP))
	cfg.DisableLocalIGMP = true
	n := startNode(t, a, cfg)
	waitState(t, n.Node, "VI_1", StateMaster, "a")
	if got := sysctlIn(t, a, key); got != "0" {
		t.Errorf("%s = %s while the node runs, want 0", key, got)
	}
	n.stop(t)
	if got := sysctlIn(t, a, key); got != "1" {
		t.Errorf("%s = %s after the node stopped, want 1 again", key, got)
	}
}

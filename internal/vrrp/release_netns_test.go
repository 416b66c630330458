package vrrp

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestDontRelease: a master stopped under DontRelease (keepalived's -V) sends no
// priority-0 advert and leaves its VIP, its VMAC and its virtual route in place, as
// keepalived 2.2.7 -V does; static addresses are still removed, and the backup takes
// over only when its master-down timer runs out.
func TestDontRelease(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b")
	a, b := hosts["a"], hosts["b"]
	const vmac = "vrrp.61"
	route := Route{Dst: netip.MustParsePrefix("10.90.0.0/24"), Gateway: netip.MustParseAddr("10.77.0.2")}
	master := instanceCfg("VI_1", 61, 150, 3, 100*time.Millisecond, testVIP)
	master.UseVMAC = true
	master.Routes = []Route{route}
	cfgA := single(master)
	cfgA.Static.Addresses = []VIP{{Prefix: netip.MustParsePrefix("10.77.0.200/32"), Dev: "eth0"}}
	na := startNode(t, a, cfgA, DontRelease())
	nb := startNode(t, b, single(instanceCfg("VI_1", 61, 100, 3, 100*time.Millisecond, testVIP)))
	waitVIPOn(t, 5*time.Second, testVIP, vmac, a, a)
	waitState(t, na.Node, "VI_1", StateMaster, "a")
	waitState(t, nb.Node, "VI_1", StateBackup, "b")

	na.stop(t)
	if st := na.Status()[0]; st.State != StateStop || st.Priority0Sent != 0 {
		t.Errorf("a after stop: state %v, priority-0 adverts sent %d; want STOP and none", st.State, st.Priority0Sent)
	}
	if !hasAddrOn(a, vmac, testVIP) {
		t.Error("the VIP was removed from a's VMAC")
	}
	if out, _ := a.Exec("ip", "route", "show", "10.90.0.0/24"); !strings.Contains(out, "via 10.77.0.2") {
		t.Errorf("the virtual route was removed: %q", out)
	}
	if hasAddrOn(a, "eth0", "10.77.0.200") {
		t.Error("the static address is still on eth0")
	}
	waitState(t, nb.Node, "VI_1", StateMaster, "b (by its master-down timer)")
	if got := nb.Status()[0].Priority0Received; got != 0 {
		t.Errorf("b received %d priority-0 adverts", got)
	}
}

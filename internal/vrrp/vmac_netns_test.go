package vrrp

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// hasAddrOn reports whether h has addr on dev (false when dev does not exist).
func hasAddrOn(h *testutil.Host, dev, addr string) bool {
	out, err := h.Exec("ip", "-o", "addr", "show", "dev", dev)
	return err == nil && strings.Contains(out, " "+addr+"/")
}

// waitVIPOn waits until exactly owner (nil: nobody) holds addr on dev among hosts.
func waitVIPOn(t *testing.T, timeout time.Duration, addr, dev string, owner *testutil.Host, hosts ...*testutil.Host) {
	t.Helper()
	ok := testutil.Eventually(timeout, func() bool {
		for _, h := range hosts {
			if hasAddrOn(h, dev, addr) != (h == owner) {
				return false
			}
		}
		return true
	})
	if !ok {
		var where []string
		for _, h := range hosts {
			if hasAddrOn(h, dev, addr) {
				where = append(where, h.Name)
			}
		}
		want := "nobody"
		if owner != nil {
			want = owner.Name
		}
		t.Fatalf("%s on %s: want it on %s only, it is on %v", addr, dev, want, where)
	}
}

func sysctlIn(t *testing.T, h *testutil.Host, key string) string {
	t.Helper()
	out, err := h.Exec("cat", "/proc/sys/net/"+key)
	if err != nil {
		t.Fatalf("%s: %s: %v %s", h.Name, key, err, out)
	}
	return strings.TrimSpace(out)
}

// neighbourMAC is the client's neighbour entry for addr ("" when none).
func neighbourMAC(t *testing.T, h *testutil.Host, addr string) string {
	t.Helper()
	out, _ := h.Exec("ip", "neigh", "show", addr, "dev", "eth0")
	f := strings.Fields(out)
	for i := range f {
		if f[i] == "lladdr" && i+1 < len(f) {
			return strings.ToLower(f[i+1])
		}
	}
	return ""
}

// knowClient gives each director a permanent neighbour entry for the client on eth0.
// Replies from the VIP leave by eth0 (its subnet route comes first), and a director
// that had to resolve the client itself would ask "who-has client tell VIP" from eth0's
// MAC, teaching the client the base MAC for the VIP: keepalived's use_vmac does the
// same, and the tests look at what the VMAC itself does.
func knowClient(t *testing.T, client *testutil.Host, directors ...*testutil.Host) {
	t.Helper()
	mac := macOf(t, client)
	addr := strings.Fields(strings.TrimSpace(mustExec(t, client, "ip", "-4", "-o", "addr", "show", "dev", "eth0")))[3]
	addr = strings.Split(addr, "/")[0]
	for _, d := range directors {
		mustExec(t, d, "ip", "neigh", "replace", addr, "lladdr", mac, "dev", "eth0", "nud", "permanent")
	}
}

func mustExec(t *testing.T, h *testutil.Host, name string, args ...string) string {
	t.Helper()
	out, err := h.Exec(name, args...)
	if err != nil {
		t.Fatalf("%s: %s %v: %v\n%s", h.Name, name, args, err, out)
	}
	return out
}

// pingVIP checks that addr answers a ping from h.
func pingVIP(t *testing.T, h *testutil.Host, addr string) {
	t.Helper()
	testutil.NeedCommand(t, "ping")
	if !testutil.Eventually(3*time.Second, func() bool {
		_, err := h.Exec("ping", "-c", "1", "-W", "1", addr)
		return err == nil
	}) {
		t.Fatalf("%s does not answer ping from %s", addr, h.Name)
	}
}

// TestVMAC: two govs nodes with use_vmac. The master's VMAC (private macvlan with
// 00-00-5e-00-01-VRID) holds the VIP and answers ARP with the virtual MAC; after a
// failover the backup's VMAC answers with the same MAC, so the client's neighbour
// entry never changes; a stopped node removes its VMAC and gives back the base
// interface's ARP sysctls.
func TestVMAC(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b", "client")
	a, b, client := hosts["a"], hosts["b"], hosts["client"]
	const vmac = "vrrp.59"
	virtual := VMACAddr(59, false).String()
	mk := func(prio uint8) Config {
		in := instanceCfg("VI_1", 59, prio, 3, 100*time.Millisecond, testVIP)
		in.UseVMAC = true
		return single(in)
	}
	knowClient(t, client, a, b)
	baseBefore := sysctlIn(t, a, "ipv4/conf/eth0/arp_ignore") + sysctlIn(t, a, "ipv4/conf/eth0/arp_filter")
	na := startNode(t, a, mk(150))
	startNode(t, b, mk(100))
	waitVIPOn(t, 5*time.Second, testVIP, vmac, a, a, b)
	if hasAddr(t, a, testVIP) {
		t.Fatal("the VIP is on eth0 too")
	}

	// The VMAC as keepalived makes it.
	out, err := a.Exec("ip", "-d", "link", "show", vmac)
	if err != nil || !strings.Contains(out, "macvlan mode private") || !strings.Contains(out, "link/ether "+virtual) || !strings.Contains(out, vmac+"@eth0") {
		t.Fatalf("VMAC on a: %v\n%s", err, out)
	}
	for key, want := range map[string]string{
		"ipv4/conf/" + vmac + "/arp_ignore":   "1",
		"ipv4/conf/" + vmac + "/accept_local": "1",
		"ipv4/conf/" + vmac + "/rp_filter":    "0",
		"ipv6/conf/" + vmac + "/disable_ipv6": "1",
		"ipv4/conf/eth0/arp_ignore":           "1",
		"ipv4/conf/eth0/arp_filter":           "1",
	} {
		if got := sysctlIn(t, a, key); got != want {
			t.Errorf("a: %s = %s, want %s", key, got, want)
		}
	}
	waitState(t, na.Node, "VI_1", StateMaster, "a")

	// ARP for the VIP is answered with the virtual MAC, by the master only.
	if got := arpAnswer(t, client, testVIP); !strings.Contains(got, virtual) || strings.Contains(got, macOf(t, a)) {
		t.Fatalf("ARP for the VIP not answered with the virtual MAC %s:\n%s", virtual, got)
	}
	pingVIP(t, client, testVIP)
	if got := neighbourMAC(t, client, testVIP); got != virtual {
		t.Fatalf("client's neighbour entry for the VIP: %q, want %s", got, virtual)
	}

	// Graceful failover: b's VMAC takes the VIP and the virtual MAC; the client's
	// entry is the same and the VIP answers through it (the bridge has learnt the MAC
	// on b's port from b's gratuitous ARPs, since a's VMAC is gone).
	na.stop(t)
	waitVIPOn(t, 3*time.Second, testVIP, vmac, b, a, b)
	if _, err := a.Exec("ip", "link", "show", vmac); err == nil {
		t.Error("a's VMAC is still there after it stopped")
	}
	if got := sysctlIn(t, a, "ipv4/conf/eth0/arp_ignore") + sysctlIn(t, a, "ipv4/conf/eth0/arp_filter"); got != baseBefore {
		t.Errorf("a's eth0 arp_ignore+arp_filter after stop: %s, want %s as before", got, baseBefore)
	}
	pingVIP(t, client, testVIP)
	if got := neighbourMAC(t, client, testVIP); got != virtual {
		t.Fatalf("client's neighbour entry after failover: %q, want %s unchanged", got, virtual)
	}

	// a comes back and preempts: the same again the other way.
	startNode(t, a, mk(150))
	waitVIPOn(t, 5*time.Second, testVIP, vmac, a, a, b)
	pingVIP(t, client, testVIP)
	if got := arpAnswer(t, client, testVIP); !strings.Contains(got, virtual) {
		t.Fatalf("ARP after preemption:\n%s", got)
	}
}

// TestVMACKeepalivedInterop: keepalived 2.2.7 and govs, both with use_vmac, each side
// master in turn. A backup must hear adverts that arrive from a MAC that is its own
// VMAC's (the macvlan hands those to the VMAC only), stay backup, and take over the
// VIP and the virtual MAC when the master stops; the client's entry stays the same.
// With a MAC of their own given as five octets (use_vmac NAME 02:aa:bb:cc:dd:), both
// make the VMAC with it and the VRID as the sixth, and that is the MAC that moves.
func TestVMACKeepalivedInterop(t *testing.T) {
	testutil.Integration(t)
	const vrid = 60
	for _, tc := range []struct {
		name     string
		kaMaster bool
		useVMAC  string // keepalived's use_vmac arguments
		mac      net.HardwareAddr
	}{
		{"govs-master", false, "", VMACAddr(vrid, false)},
		{"keepalived-master", true, "", VMACAddr(vrid, false)},
		{"own-mac-keepalived-master", true, fmt.Sprintf(" vrrp.%d 02:aa:bb:cc:dd:", vrid), net.HardwareAddr{2, 0xaa, 0xbb, 0xcc, 0xdd, vrid}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, hosts := lanHosts(t, "ka", "govs", "client")
			ka, g, client := hosts["ka"], hosts["govs"], hosts["client"]
			kaMaster := tc.kaMaster
			vmac := fmt.Sprintf("vrrp.%d", vrid)
			virtual := tc.mac.String()
			kaPrio, govsPrio, master, backup := 100, uint8(150), g, ka
			if kaMaster {
				kaPrio, govsPrio, master, backup = 150, 100, ka, g
			}
			knowClient(t, client, ka, g)
			in := instanceCfg("VI_1", vrid, govsPrio, 3, 100*time.Millisecond, testVIP)
			in.UseVMAC = true
			if tc.useVMAC != "" {
				in.VMACMAC = tc.mac
			}
			n := startNode(t, g, single(in))
			conf := strings.Replace(keepalivedConf(3, vrid, kaPrio, 100*time.Millisecond, testVIP),
				"interface eth0\n", "interface eth0\n    use_vmac"+tc.useVMAC+"\n", 1)
			kaPid, _ := startKeepalived(t, ka, conf)
			waitVIPOn(t, 5*time.Second, testVIP, vmac, master, ka, g)
			for _, h := range []*testutil.Host{ka, g} {
				if out := mustExec(t, h, "ip", "link", "show", vmac); !strings.Contains(out, "link/ether "+virtual+" ") {
					t.Fatalf("%s's VMAC, want %s:\n%s", h.Name, virtual, out)
				}
			}
			time.Sleep(time.Second) // > 2 × Master_Down_Interval: a deaf backup would have taken over
			waitVIPOn(t, time.Second, testVIP, vmac, master, ka, g)
			st := firstStatus(n.Node)
			if kaMaster && (st.State != StateBackup || st.AdvertsReceived == 0) || len(st.BadPackets) != 0 {
				t.Fatalf("govs: %v, %d adverts received, bad %v", st.State, st.AdvertsReceived, st.BadPackets)
			}
			pingVIP(t, client, testVIP)
			if got := neighbourMAC(t, client, testVIP); got != virtual {
				t.Fatalf("client's neighbour entry: %q, want %s", got, virtual)
			}

			if kaMaster {
				if err := syscall.Kill(kaPid, syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			} else {
				n.stop(t)
			}
			waitVIPOn(t, 3*time.Second, testVIP, vmac, backup, ka, g)
			pingVIP(t, client, testVIP)
			if got := neighbourMAC(t, client, testVIP); got != virtual {
				t.Fatalf("client's neighbour entry after failover: %q, want %s", got, virtual)
			}
		})
	}
}

// TestVMACIPv6: an IPv6 instance's VMAC has 00-00-5e-00-02-VRID, no link-local address
// of its own making (address generation off) but the base's, so adverts leave from it;
// neighbour discovery for the VIP gets the virtual MAC, before and after a failover.
func TestVMACIPv6(t *testing.T) {
	testutil.Integration(t)
	lan := testutil.NewLAN(t)
	a, b, client := lan.AddHost("a", "fd77::1/64"), lan.AddHost("b", "fd77::2/64"), lan.AddHost("client", "fd77::10/64")
	for _, h := range []*testutil.Host{a, b} {
		if !testutil.Eventually(5*time.Second, func() bool {
			out, _ := h.Exec("ip", "-6", "addr", "show", "dev", "eth0", "scope", "link")
			return strings.Contains(out, "fe80")
		}) {
			t.Fatalf("%s: no link-local address", h.Name)
		}
	}
	const vip, vmac = "fd77::254", "vrrp.61"
	virtual := VMACAddr(61, true).String()
	mk := func(p uint8) Config {
		in := instanceCfg("VI_6", 61, p, 3, 100*time.Millisecond)
		in.VIPs = []VIP{{Prefix: netip.MustParsePrefix(vip + "/64")}}
		in.UseVMAC = true
		return single(in)
	}
	na := startNode(t, a, mk(150))
	nb := startNode(t, b, mk(100))
	waitVIPOn(t, 5*time.Second, vip, vmac, a, a, b)
	if got := sysctlIn(t, a, "ipv6/conf/"+vmac+"/addr_gen_mode"); got != "1" {
		t.Errorf("VMAC addr_gen_mode %s, want 1 (none)", got)
	}
	out := mustExec(t, a, "ip", "-6", "addr", "show", "dev", vmac)
	ll := mustExec(t, a, "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link")
	llAddr := strings.Fields(ll)[3]
	// Count addresses, not "fe80" substrings: an EUI-64 interface ID can hold "fe80"
	// too (MAC byte 4 = 0x80 gives ...:c8ff:fe80:...), which made this fail 1 time in 256.
	if !strings.Contains(out, llAddr) || strings.Count(out, "inet6 fe80:") != 1 {
		t.Errorf("VMAC link-local addresses: want only eth0's %s:\n%s", llAddr, out)
	}
	if st := firstStatus(nb.Node); st.State != StateBackup || st.AdvertsReceived == 0 || len(st.BadPackets) != 0 {
		t.Fatalf("b: %v, %d adverts received, bad %v", st.State, st.AdvertsReceived, st.BadPackets)
	}
	ping6 := func() {
		t.Helper()
		if !testutil.Eventually(3*time.Second, func() bool {
			_, err := client.Exec("ping", "-6", "-c", "1", "-W", "1", vip)
			return err == nil
		}) {
			t.Fatalf("%s does not answer ping", vip)
		}
		if got := neighbourMAC(t, client, vip); got != virtual {
			t.Fatalf("client's neighbour entry for %s: %q, want %s", vip, got, virtual)
		}
	}
	ping6()
	na.stop(t)
	waitVIPOn(t, 3*time.Second, vip, vmac, b, a, b)
	ping6()
}

// TestVMACXmitBase: adverts leave from the VMAC with the virtual MAC, or with
// vmac_xmit_base from the base interface with its own MAC; the VIP is on the VMAC and
// announced with the virtual MAC either way.
func TestVMACXmitBase(t *testing.T) {
	for _, xmitBase := range []bool{false, true} {
		t.Run(fmt.Sprintf("vmac_xmit_base=%v", xmitBase), func(t *testing.T) {
			_, hosts := lanHosts(t, "a", "peer")
			a, peer := hosts["a"], hosts["peer"]
			stop := startFrameCapture(t, peer, "eth0", "ip proto 112 or arp")
			in := instanceCfg("VI_1", 62, 150, 3, 100*time.Millisecond, testVIP)
			in.UseVMAC, in.VMACXmitBase = true, xmitBase
			n := startNode(t, a, single(in))
			if !testutil.Eventually(5*time.Second, func() bool { return stateOf(n.Node, "VI_1") == StateMaster }) {
				t.Fatal("a did not become master")
			}
			time.Sleep(300 * time.Millisecond)
			frames := stop()
			virtual, base := VMACAddr(62, false).String(), macOf(t, a)
			wantAdvert := virtual
			if xmitBase {
				wantAdvert = base
			}
			adverts, garps := 0, 0
			for _, f := range frames {
				src := net.HardwareAddr(f[6:12]).String()
				if ann, ok := parseAnnouncement(f); ok && ann.addr.String() == testVIP {
					garps++
					if src != virtual || ann.mac != virtual {
						t.Errorf("GARP for the VIP as %v, want from and for %s", ann, virtual)
					}
					continue
				}
				if len(f) > 14+9 && binary.BigEndian.Uint16(f[12:]) == 0x0800 && f[14+9] == IPProtocol {
					adverts++
					if src != wantAdvert {
						t.Errorf("advert from %s, want %s", src, wantAdvert)
					}
				}
			}
			if adverts == 0 || garps == 0 {
				t.Fatalf("%d adverts and %d GARPs captured", adverts, garps)
			}
		})
	}
}

// TestVMACExistingDevice: a stale macvlan of the VMAC's name (another MAC) is replaced,
// a matching one left by a killed node is adopted, and a device of that name that is
// not a macvlan stops the node with an error naming it, untouched.
func TestVMACExistingDevice(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	a := hosts["a"]
	in := instanceCfg("VI_1", 63, 150, 3, 100*time.Millisecond, testVIP)
	in.UseVMAC = true
	virtual := VMACAddr(63, false).String()
	for _, tc := range []struct {
		name, create string
	}{
		{"stale macvlan", "02:00:00:00:00:63"},
		{"matching macvlan", virtual},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustExec(t, a, "ip", "link", "add", "vrrp.63", "link", "eth0", "address", tc.create, "type", "macvlan", "mode", "private")
			n := startNode(t, a, single(in))
			waitVIPOn(t, 5*time.Second, testVIP, "vrrp.63", a, a)
			if out := mustExec(t, a, "ip", "link", "show", "vrrp.63"); !strings.Contains(out, virtual) {
				t.Fatalf("VMAC after start:\n%s", out)
			}
			n.stop(t)
			if _, err := a.Exec("ip", "link", "show", "vrrp.63"); err == nil {
				t.Fatal("VMAC left after stop")
			}
		})
	}
	t.Run("not a macvlan", func(t *testing.T) {
		mustExec(t, a, "ip", "link", "add", "vrrp.63", "type", "veth", "peer", "name", "vrrp63p")
		n, err := New(single(in), nil, WithNetNS(a.NS))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = n.Run(ctx)
		if err == nil || !strings.Contains(err.Error(), "use_vmac vrrp.63: device exists and is a veth, not a macvlan") {
			t.Fatalf("Run: %v", err)
		}
		mustExec(t, a, "ip", "link", "show", "vrrp.63", "type", "veth")
	})
}

// TestVMACReload: a reload keeps a VMAC instance's VMAC and VIP; one that fails (an
// instance on an interface that does not exist) keeps everything, and removes a VMAC it
// had already created; a reload without the instance removes its VMAC.
func TestVMACReload(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	a := hosts["a"]
	vmacInst := func(vrid uint8, vip, iface string) InstanceConfig {
		in := instanceCfg(fmt.Sprintf("VI_%d", vrid), vrid, 150, 3, 100*time.Millisecond, vip)
		in.UseVMAC, in.Interface = true, iface
		return in
	}
	plain := instanceCfg("VI_P", 66, 150, 3, 100*time.Millisecond, testVIP2)
	n := startNode(t, a, Config{Instances: []InstanceConfig{vmacInst(65, testVIP, "eth0"), plain}})
	waitVIPOn(t, 5*time.Second, testVIP, "vrrp.65", a, a)
	exists := func(dev string) bool { _, err := a.Exec("ip", "link", "show", dev); return err == nil }

	// A new VMAC instance that is fine and one that cannot run: nothing changes, and the
	// VMAC the failed reload created is gone again.
	bad := vmacInst(68, "10.77.0.252", "nosuch0")
	if err := n.Update(Config{Instances: []InstanceConfig{vmacInst(65, testVIP, "eth0"), vmacInst(67, "10.77.0.251", "eth0"), bad, plain}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	waitVIPOn(t, time.Second, testVIP, "vrrp.65", a, a)
	if exists("vrrp.67") {
		t.Error("the failed reload left its VMAC vrrp.67")
	}

	// The same instance again: it stays master on its VMAC.
	if err := n.Update(Config{Instances: []InstanceConfig{vmacInst(65, testVIP, "eth0"), plain}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	waitVIPOn(t, time.Second, testVIP, "vrrp.65", a, a)
	if stateOf(n.Node, "VI_65") != StateMaster {
		t.Fatalf("VI_65 is %v after the reload", stateOf(n.Node, "VI_65"))
	}

	// Without it: its VMAC goes, the base's ARP sysctls come back.
	if err := n.Update(Config{Instances: []InstanceConfig{plain}}); err != nil {
		t.Fatal(err)
	}
	if !testutil.Eventually(3*time.Second, func() bool { return !exists("vrrp.65") }) {
		t.Fatal("vrrp.65 is still there after a reload without its instance")
	}
	arp := func() string {
		return sysctlIn(t, a, "ipv4/conf/eth0/arp_ignore") + sysctlIn(t, a, "ipv4/conf/eth0/arp_filter")
	}
	if !testutil.Eventually(3*time.Second, func() bool { return arp() == "00" }) { // restored just after the VMAC goes
		t.Errorf("eth0 arp_ignore+arp_filter: %s, want 00 as before", arp())
	}
}

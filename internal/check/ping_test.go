package check

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/check/checktest"
	"github.com/govs/govs/internal/testutil"
)

// TestPingCheck builds two namespaces joined by a veth pair — a director side and a
// host side — and runs TestPingInNamespace inside the director's, once with
// unprivileged ICMP sockets allowed there and once without (raw sockets).
func TestPingCheck(t *testing.T) {
	testutil.Integration(t)
	director, host := checktest.NewNetns(t, "d"), checktest.NewNetns(t, "h")
	// No duplicate address detection: a re-added address must answer at once, not after
	// a second of being tentative.
	for _, ns := range []string{director.Name, host.Name} {
		checktest.Run(t, "ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	}
	dev := "vg" + strings.Split(director.Name, "-")[1]
	checktest.Run(t, "ip", "-n", director.Name, "link", "add", dev+"d", "type", "veth", "peer", "name", dev+"h", "netns", host.Name)
	for _, c := range [][]string{
		{"-n", director.Name, "addr", "add", "10.251.0.1/24", "dev", dev + "d"},
		{"-n", director.Name, "addr", "add", "fd00:251::1/64", "dev", dev + "d", "nodad"},
		{"-n", director.Name, "link", "set", dev + "d", "up"},
		{"-n", host.Name, "addr", "add", "10.251.0.2/24", "dev", dev + "h"},
		{"-n", host.Name, "addr", "add", "fd00:251::2/64", "dev", dev + "h", "nodad"},
		{"-n", host.Name, "link", "set", dev + "h", "up"},
	} {
		checktest.Run(t, append([]string{"ip"}, c...)...)
	}
	for _, mode := range []struct {
		name, groupRange, dgram string
	}{{"unprivileged", "0 2147483647", "1"}, {"raw", "1 0", "0"}} {
		t.Run(mode.name, func(t *testing.T) {
			checktest.Run(t, "ip", "netns", "exec", director.Name, "sysctl", "-q", "-w", "net.ipv4.ping_group_range="+mode.groupRange)
			cmd := exec.Command("ip", "netns", "exec", director.Name, os.Args[0], "-test.run=^TestPingInNamespace$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "GOVS_PING_CHILD=1", "GOVS_PING_DGRAM="+mode.dgram,
				"GOVS_PING_HOST_NS="+host.Name, "GOVS_PING_HOST_DEV="+dev+"h")
			out, err := cmd.CombinedOutput()
			t.Logf("%s", out)
			if err != nil || !strings.Contains(string(out), "--- PASS: TestPingInNamespace") {
				t.Fatalf("child: %v", err)
			}
		})
	}
}

// TestPingInNamespace is TestPingCheck's child, run inside the director namespace; on
// its own it does nothing.
func TestPingInNamespace(t *testing.T) {
	if os.Getenv("GOVS_PING_CHILD") == "" {
		return
	}
	wantDgram := os.Getenv("GOVS_PING_DGRAM") == "1"
	hostNS, hostDev := os.Getenv("GOVS_PING_HOST_NS"), os.Getenv("GOVS_PING_HOST_DEV")
	for _, pair := range [][2]string{{"10.251.0.2", "10.251.0.3"}, {"fd00:251::2", "fd00:251::3"}} {
		ip, absent := pair[0], pair[1]
		addr := netip.AddrPortFrom(netip.MustParseAddr(ip), 0)
		conn, dgram, err := listenICMP(context.Background(), Target{Addr: addr}, addr.Addr().Is6())
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
		if dgram != wantDgram {
			t.Fatalf("%s: datagram socket %v, want %v", ip, dgram, wantDgram)
		}
		if res := checkOnce(t, Spec{Type: "PING_CHECK"}, addr); res.Err != nil {
			t.Fatalf("ping %s: %v", ip, res.Err)
		}
		if res := checkOnce(t, Spec{Type: "PING_CHECK"}, netip.AddrPortFrom(netip.MustParseAddr(absent), 0)); res.Err == nil {
			t.Fatalf("ping of an absent host succeeded")
		}
		// The host fails by losing its address and recovers by getting it back; the
		// link stays up, so neighbour caches stay warm and the host answers at once.
		prefix := "/24"
		if addr.Addr().Is6() {
			prefix = "/64"
		}
		hostAddr := func(op string) func() {
			return func() {
				args := []string{"-n", hostNS, "addr", op, ip + prefix, "dev", hostDev}
				if op == "add" && addr.Addr().Is6() {
					args = append(args, "nodad")
				}
				out, err := exec.Command("ip", args...).CombinedOutput()
				if err != nil {
					t.Fatalf("addr %s: %v %s", op, err, out)
				}
			}
		}
		t.Run(fmt.Sprintf("detection %s", ip), func(t *testing.T) {
			// Every failed probe of PING_CHECK lasts its whole timeout, so detection takes
			// the whole bound; timers a little longer than elsewhere keep scheduling noise
			// on a busy machine inside the 10 % margin.
			timing := Timing{DelayLoop: Dur(300 * time.Millisecond), ConnectTimeout: Dur(500 * time.Millisecond),
				Retry: Int(1), DelayBeforeRetry: Dur(200 * time.Millisecond), Warmup: Dur(0)}
			measureDetectionTiming(t, Spec{Type: "PING_CHECK"}, addr, timing, hostAddr("del"), hostAddr("add"))
		})
	}
}

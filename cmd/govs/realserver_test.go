package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/govs/govs/internal/testutil"
)

func TestRealserverUpDownInNamespace(t *testing.T) {
	testutil.Integration(t)
	testutil.NeedRoot(t)
	testutil.NeedCommand(t, "ip")
	bin := testutil.GovsBinary(t)

	ns := fmt.Sprintf("govs-rs-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	in := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
		return string(out)
	}
	in("ip", "link", "set", "lo", "up")

	in(bin, "realserver", "up", "--vip", "192.0.2.10,2001:db8::10")
	in(bin, "realserver", "up", "--vip", "192.0.2.10") // idempotent
	addrs := in("ip", "-o", "addr", "show", "dev", "lo")
	for _, want := range []string{"192.0.2.10/32", "2001:db8::10/128"} {
		if !strings.Contains(addrs, want) {
			t.Errorf("lo lacks %s after up:\n%s", want, addrs)
		}
	}
	status := in(bin, "realserver", "status")
	for _, want := range []string{
		"net.ipv4.conf.all.arp_ignore = 1", "net.ipv4.conf.all.arp_announce = 2",
		"net.ipv4.conf.lo.arp_ignore = 1", "net.ipv4.conf.lo.arp_announce = 2",
	} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}

	// Removing one VIP keeps the sysctls: the other VIP still needs them.
	in(bin, "realserver", "down", "--vip", "192.0.2.10")
	status = in(bin, "realserver", "status")
	if !strings.Contains(status, "net.ipv4.conf.all.arp_ignore = 1") {
		t.Errorf("sysctls reset while a VIP is left:\n%s", status)
	}
	in(bin, "realserver", "down", "--vip", "2001:db8::10")
	addrs = in("ip", "-o", "addr", "show", "dev", "lo")
	if strings.Contains(addrs, "192.0.2.10") || strings.Contains(addrs, "2001:db8::10") {
		t.Errorf("VIPs left on lo after down:\n%s", addrs)
	}
	status = in(bin, "realserver", "status")
	if !strings.Contains(status, "net.ipv4.conf.all.arp_ignore = 0") || !strings.Contains(status, "net.ipv4.conf.lo.arp_announce = 0") {
		t.Errorf("sysctls not restored after the last VIP went:\n%s", status)
	}
}

func TestRealserverBadInput(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"up"}, 2, "no address given"},
		{[]string{"up", "--vip", "10.0.0.300"}, 2, `"10.0.0.300" is not an IP address`},
		{[]string{"up", "--vip", "127.0.0.2"}, 2, "cannot be a virtual address"},
		{[]string{"sideways", "--vip", "192.0.2.1"}, 2, `unknown action "sideways"`},
		{nil, 2, "usage: govs realserver"},
	}
	for _, tt := range tests {
		var out, errOut strings.Builder
		code := dispatch(append([]string{"realserver"}, tt.args...), &out, &errOut)
		if code != tt.code || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("govs realserver %v = %d, stderr %q; want %d and %q", tt.args, code, errOut.String(), tt.code, tt.want)
		}
	}
}

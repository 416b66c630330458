package daemon

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// TestVirtualServerGroupOnce: a virtual_server_group is checked and notified once, as
// keepalived does (checked against keepalived 2.2.7 in the IPVS oracle): one checker per
// real server, its state applied to every member, the FIFO lines and the quorum and
// notify scripts once, under the group's name "[G1]:0", the quorum notified at start.
func TestVirtualServerGroupOnce(t *testing.T) {
	testutil.NeedCommand(t, "sh")
	b1, b2 := startBackend(t), startBackend(t)
	dir := t.TempDir()
	fifo, lines, scripts := filepath.Join(dir, "notify.fifo"), filepath.Join(dir, "lines"), filepath.Join(dir, "scripts")
	p1, p2 := freePort(t), freePort(t)
	rs := func(b *backend, extra string) string {
		host, port, _ := net.SplitHostPort(b.addr)
		return fmt.Sprintf("    real_server %s %s {\n        weight 1\n%s        TCP_CHECK {\n            connect_timeout 1\n            retry 0\n        }\n    }\n", host, port, extra)
	}
	echo := func(word string) string { return fmt.Sprintf(`"/bin/sh -c 'echo %s >> %s'"`, word, scripts) }
	conf := fmt.Sprintf(`global_defs {
    notify_fifo %s
    notify_fifo_script "/bin/sh -c 'while read -r l; do echo \"$l\" >> %s; done < \"$0\"'"
}
virtual_server_group G1 {
    127.0.0.1 %d
    127.0.0.2 %d
}
virtual_server group G1 {
    delay_loop 0.2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    quorum_up %s
    quorum_down %s
`, fifo, lines, p1, p2, echo("quorum_up"), echo("quorum_down")) +
		rs(b1, "        notify_down "+echo("rs1_down")+"\n") + rs(b2, "") + "}\n"
	d, _ := startConf(t, conf)
	read := func(path string) []string {
		b, _ := os.ReadFile(path)
		if len(b) == 0 {
			return nil
		}
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	wait := func(path string, n int) []string {
		t.Helper()
		var got []string
		if !testutil.Eventually(5*time.Second, func() bool { got = read(path); return len(got) >= n }) {
			t.Fatalf("%s: %q, want %d lines", filepath.Base(path), got, n)
		}
		return got
	}
	if got := wait(lines, 1); got[0] != "VS [G1]:0 UP" {
		t.Fatalf("at start the FIFO got %q, want the group's quorum UP", got)
	}
	b1.stop()
	got := wait(lines, 3)
	_, port1, _ := net.SplitHostPort(b1.addr)
	want := []string{"VS [G1]:0 UP", "RS [127.0.0.1]:tcp:" + port1 + " [G1]:0 DOWN", "VS [G1]:0 DOWN"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("FIFO lines %q, want %q", got, want)
	}
	tb, err := d.Engine().Table(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range tb.Services {
		for _, dst := range svc.Dests {
			if dst.Addr.String() == b1.addr {
				t.Fatalf("%v still has the failed server", svc.ServiceKey)
			}
		}
	}
	time.Sleep(500 * time.Millisecond) // more checks: nothing more to say
	if got := wait(scripts, 3); strings.Join(got, "|") != "quorum_up|rs1_down|quorum_down" {
		t.Fatalf("scripts ran %q, want quorum_up, rs1_down, quorum_down once each", got)
	}
	if got := wait(lines, 3); len(got) != 3 {
		t.Fatalf("FIFO lines %q after more checks", got)
	}
}

package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// TestNoAcceptFirewallLikeKeepalived: one keepalived.conf with vrrp_strict (so the
// instance has no accept mode) run by the real keepalived and by `govs run` on lb1. Each
// must leave the same nftables ruleset while master and after a higher priority lb2
// (govs) takes over, drop the client's pings to the VIP while master, and delete its
// tables when it stops. With accept, the VIP answers and no table is made.
func TestNoAcceptFirewallLikeKeepalived(t *testing.T) {
	strict := instanceConf{version: 3, advert: "0.1", prio: 150, state: "BACKUP",
		globals: "    vrrp_strict\n", excluded: []string{"10.78.1.5", "fd00:78::5", "fe80::78/64 dev eth0"}}
	vmac := strict
	vmac.vmac = true
	vmac.globals = "    vrrp_strict\n    nftables gk\n    nftables_priority 7\n    nftables_counters\n"
	accept := strict
	accept.extra = "accept"
	for _, tc := range []struct {
		name     string
		c        instanceConf
		dropping bool
	}{{"strict", strict, true}, {"vmac-counters", vmac, true}, {"accept", accept, false}} {
		t.Run(tc.name, func(t *testing.T) {
			lb1, lb2, client := vrrpLAN(t)
			testutil.NeedCommand(t, "ping")
			testutil.NeedCommand(t, "nft")
			higher := tc.c
			higher.prio = 200
			holds := func(d *director) bool {
				out, _ := d.host.Exec("ip", "-4", "-o", "addr", "show")
				return strings.Contains(out, " "+netnsVIP+"/")
			}
			waitHolder := func(owner, other *director) {
				t.Helper()
				if !testutil.Eventually(10*time.Second, func() bool { return holds(owner) && !holds(other) }) {
					t.Fatalf("VIP on %s %v, on %s %v; want %s only", owner.name, holds(owner), other.name, holds(other), owner.name)
				}
			}
			run := func(govs bool) (master, backup string) {
				t.Helper()
				if govs {
					lb1.startGovs(tc.c)
				} else {
					lb1.startKeepalived(tc.c)
				}
				waitHolder(lb1, lb2)
				master = lb1.host.AsKeepalivedShowsIt(t, lb1.host.Ruleset(t), "eth0")
				out, err := client.Exec("ping", "-c", "1", "-W", "1", netnsVIP)
				if answered := err == nil; answered == tc.dropping {
					t.Errorf("govs %v: ping of the VIP answered %v, want %v\n%s", govs, answered, !tc.dropping, out)
				}
				lb2.startGovs(higher)
				waitHolder(lb2, lb1)
				backup = lb1.host.AsKeepalivedShowsIt(t, lb1.host.Ruleset(t), "eth0")
				lb1.signal(syscall.SIGTERM)
				lb1.waitExit(10 * time.Second)
				if rs := lb1.host.Ruleset(t); rs != "" {
					t.Errorf("govs %v: tables left after the daemon stopped:\n%s", govs, rs)
				}
				lb2.signal(syscall.SIGTERM)
				lb2.waitExit(10 * time.Second)
				return master, backup
			}
			kaMaster, kaBackup := run(false)
			govsMaster, govsBackup := run(true)
			if govsMaster != kaMaster {
				t.Errorf("ruleset while master differs\n--- govs\n%s\n--- keepalived\n%s", govsMaster, kaMaster)
			}
			if govsBackup != kaBackup {
				t.Errorf("ruleset while backup differs\n--- govs\n%s\n--- keepalived\n%s", govsBackup, kaBackup)
			}
			if tc.dropping && !strings.Contains(kaMaster, "10.78.0.100") {
				t.Errorf("keepalived's ruleset while master has no VIP: is the test's config strict?\n%s", kaMaster)
			}
		})
	}
}

package check

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInitNotify: with rs_init_notifies a real server that starts up runs notify_up
// once at start, as keepalived's init_service_vs does, and so does one a reload adds;
// without it notify_up waits for a transition. An alpha server (starting down) runs
// nothing at start either way.
func TestInitNotify(t *testing.T) {
	for _, tc := range []struct {
		name       string
		initNotify bool
		alpha      bool
		unchecked  bool // no checker: alive all along, as keepalived has it
		want       string
	}{
		{"with rs_init_notifies", true, false, false, "up A\nup B\n"},
		{"without", false, false, false, ""},
		{"alpha starts down", true, true, false, ""},
		{"no checkers", true, false, true, "up A\nup B\n"},
		{"no checkers, alpha", true, true, true, "up A\nup B\n"},
		{"no checkers, without", false, false, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			ln := newListener(t)
			dir := t.TempDir()
			log := filepath.Join(dir, "notify.log")
			notifyScript := filepath.Join(dir, "notify.sh")
			if err := os.WriteFile(notifyScript, []byte("#!/bin/sh\necho \"$1 $2\" >> "+log+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			rs := func(port uint16, name string) RealServer {
				tm := fastTiming()
				tm.Alpha = Bool(tc.alpha)
				r := RealServer{VS: testVS, Addr: netip.AddrPortFrom(ln.addr.Addr(), port), Weight: 1, Timing: tm,
					Checkers: []Spec{{Type: "TCP_CHECK"}}, NotifyUp: []string{notifyScript, "up", name}, InitNotify: tc.initNotify}
				if tc.unchecked {
					r.Checkers = nil
				}
				return r
			}
			a := rs(ln.addr.Port(), "A")
			m, stop := runManager(t, Options{}, []RealServer{a})
			// A reload adds a second server (the same listener, another VS address).
			b := rs(ln.addr.Port(), "B")
			b.VS.Addr = netip.MustParseAddrPort("127.0.0.1:81")
			time.Sleep(300 * time.Millisecond)
			if err := m.Update([]RealServer{a, b}); err != nil {
				t.Fatal(err)
			}
			read := func() string { got, _ := os.ReadFile(log); return string(got) }
			if tc.initNotify {
				// Both servers' notify_up, from the start or from the alpha transition;
				// scripts run beside the checkers, so a slow host may take a moment.
				deadline := time.Now().Add(5 * time.Second)
				for time.Now().Before(deadline) && !(strings.Contains(read(), "up A") && strings.Contains(read(), "up B")) {
					time.Sleep(50 * time.Millisecond)
				}
			}
			// Several check rounds: the servers stay up, so no transition runs it again.
			time.Sleep(time.Second)
			stop()
			got := []byte(read())
			lines := strings.SplitAfter(string(got), "\n")
			if tc.alpha && !tc.unchecked {
				// An alpha server comes up after its first check: that transition's
				// notify_up is the ordinary one, once per server.
				if strings.Count(string(got), "up A") != 1 || strings.Count(string(got), "up B") != 1 {
					t.Errorf("alpha: notify log %q, want one up per server from the transition", got)
				}
				return
			}
			if strings.Join(lines, "") != tc.want {
				t.Errorf("notify log %q, want %q", got, tc.want)
			}
		})
	}
}

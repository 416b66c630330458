package vrrp

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// promoteFlag reads net.ipv4.conf.IF.promote_secondaries inside h's namespace.
func promoteFlag(t *testing.T, h *testutil.Host, ifname string) string {
	t.Helper()
	var b []byte
	err := h.Do(func() (err error) {
		b, err = os.ReadFile("/proc/sys/net/ipv4/conf/" + ifname + "/promote_secondaries")
		return err
	})
	if err != nil {
		t.Fatalf("reading promote_secondaries: %v", err)
	}
	return strings.TrimSpace(string(b))
}

func setPromoteFlag(t *testing.T, h *testutil.Host, ifname, v string) {
	t.Helper()
	err := h.Do(func() error {
		return os.WriteFile("/proc/sys/net/ipv4/conf/"+ifname+"/promote_secondaries", []byte(v), 0)
	})
	if err != nil {
		t.Fatalf("setting promote_secondaries: %v", err)
	}
}

// TestPromoteSecondaries: promote_secondaries sets the interface's flag while the node
// runs and resets it when the node stops, as keepalived does; a flag that was already
// 1 is left at 1. An instance without the keyword leaves the flag alone.
func TestPromoteSecondaries(t *testing.T) {
	for _, tc := range []struct {
		name          string
		promote       bool
		before, after string
	}{
		{"set and reset", true, "0", "0"},
		{"already set stays set", true, "1", "1"},
		{"without the keyword", false, "0", "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, hosts := lanHosts(t, "a")
			a := hosts["a"]
			setPromoteFlag(t, a, "eth0", tc.before)
			in := instanceCfg("VI_1", 61, 100, 3, 100*time.Millisecond, testVIP)
			in.PromoteSecondaries = tc.promote
			n := startNode(t, a, single(in))
			waitState(t, n.Node, "VI_1", StateMaster, "a")
			want := tc.before
			if tc.promote {
				want = "1"
			}
			if got := promoteFlag(t, a, "eth0"); got != want {
				t.Errorf("while running: promote_secondaries = %s, want %s", got, want)
			}
			n.stop(t)
			if got := promoteFlag(t, a, "eth0"); got != tc.after {
				t.Errorf("after stop: promote_secondaries = %s, want %s", got, tc.after)
			}
		})
	}
}

// TestPromoteSecondariesReload: a reload that drops the keyword resets the flag the
// node set; one that adds it sets it.
func TestPromoteSecondariesReload(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	a := hosts["a"]
	setPromoteFlag(t, a, "eth0", "0")
	in := instanceCfg("VI_1", 62, 100, 3, 100*time.Millisecond, testVIP)
	in.PromoteSecondaries = true
	n := startNode(t, a, single(in))
	waitState(t, n.Node, "VI_1", StateMaster, "a")
	for i, want := range []string{"0", "1"} {
		in.PromoteSecondaries = want == "1"
		if err := n.Update(single(in)); err != nil {
			t.Fatal(err)
		}
		if !testutil.Eventually(3*time.Second, func() bool { return promoteFlag(t, a, "eth0") == want }) {
			t.Fatalf("reload %d: promote_secondaries = %s, want %s", i, promoteFlag(t, a, "eth0"), want)
		}
	}
}

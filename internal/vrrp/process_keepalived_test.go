package vrrp

import (
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// TestTrackProcessKeepalivedAgrees runs the real keepalived 2.2.7, alone on a LAN so
// that it becomes MASTER unless tracking holds it in FAULT, with vrrp_track_process
// blocks whose defaults are easy to get wrong, and checks that govs gives the same
// verdict. The tracked process never runs: keepalived counts processes only once its
// proc connector subscription works, and the connector answers only in the initial
// network namespace (in a test namespace keepalived logs "Failed to set/clear process
// event listen - errno 111" and sees no process at all). So this pins the defaults
// (weight 0, quorum, quorum_max 0, reverse), not the matching rules.
func TestTrackProcessKeepalivedAgrees(t *testing.T) {
	_, hosts := lanHosts(t, "a")
	testutil.NeedCommand(t, "keepalived")
	const absent = "gvs-not-running"
	for _, tc := range []struct {
		name  string
		block string
		cfg   TrackProcessConfig // the same block as govs maps it
		entry string             // the instance's track_process line
		ref   TrackRef
	}{
		{"default weight is 0: FAULT", "", TrackProcessConfig{}, "p", TrackRef{Name: "p"}},
		{"negative weight: no FAULT", "weight -10", TrackProcessConfig{Weight: -10}, "p", TrackRef{Name: "p"}},
		{"weight 0 reverse: up while none runs", "weight 0 reverse", TrackProcessConfig{Reverse: true}, "p", TrackRef{Name: "p"}},
		{"quorum_max 0: up while none runs", "quorum_max 0", TrackProcessConfig{QuorumMaxSet: true}, "p", TrackRef{Name: "p"}},
		{"entry weight overrides the block's", "weight -10", TrackProcessConfig{Weight: -10}, "p weight 0", TrackRef{Name: "p", WeightSet: true}},
		{"entry reverse", "", TrackProcessConfig{}, "p weight 0 reverse", TrackRef{Name: "p", WeightSet: true, Reverse: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			c.Name, c.Process = "p", absent
			if err := c.normalize(); err != nil {
				t.Fatal(err)
			}
			w := newProcWatch(procRoot, []TrackProcessConfig{c}, slog.New(slog.DiscardHandler), func(string, bool) {})
			w.scan(time.Now(), true)
			in := InstanceConfig{Interface: "eth0", DontTrackPrimary: true, TrackProcesses: []TrackRef{tc.ref}}
			items := trackItems(&in, nil, nil, nil, map[string]TrackProcessConfig{"p": c})
			_, faults := effectivePriority(100, items, trackValues{procs: map[string]bool{"p": w.blocks[0].up}})
			govsFault := len(faults) > 0

			instance := strings.Replace(keepalivedConf(3, 91, 100, 100*time.Millisecond, testVIP),
				"    virtual_ipaddress", "    track_process {\n        "+tc.entry+"\n    }\n    virtual_ipaddress", 1)
			instance = instance[strings.Index(instance, "vrrp_instance"):]
			conf := fmt.Sprintf("global_defs {\n    router_id ka\n    vrrp_version 3\n}\nvrrp_track_process p {\n    process %s\n    %s\n}\n%s", absent, tc.block, instance)
			pid, logs := startKeepalived(t, hosts["a"], conf)
			defer stopKeepalived(t, pid)
			var kaFault bool
			if !testutil.Eventually(10*time.Second, func() bool {
				s := strings.ToLower(logs.String())
				kaFault = strings.Contains(s, "entering fault state")
				return kaFault || strings.Contains(s, "entering master state")
			}) {
				t.Fatalf("keepalived reached neither MASTER nor FAULT:\n%s", logs.String())
			}
			if kaFault != govsFault {
				t.Fatalf("keepalived FAULT %v, govs FAULT %v (govs faults %v):\n%s", kaFault, govsFault, faults, logs.String())
			}
		})
	}
}

// TestTrackProcessKeepalivedReverseWeight: keepalived's reverse negates a non-zero
// weight (+w while up becomes −w while up; −w while down becomes +w while down) rather
// than swapping up and down. keepalived (base 100, tracking a process that never runs,
// see above) faces a govs node at 105: who wins shows keepalived's effective priority,
// and govs must compute the same.
func TestTrackProcessKeepalivedReverseWeight(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b")
	testutil.NeedCommand(t, "keepalived")
	for _, tc := range []struct {
		block  string
		weight int
	}{
		{"weight -10 reverse", -10}, // keepalived 110: master
		{"weight 10 reverse", 10},   // keepalived 100: backup
	} {
		t.Run(tc.block, func(t *testing.T) {
			items := []trackItem{{kind: trackProcess, name: "p", weight: tc.weight, reverse: true}}
			prio, _ := effectivePriority(100, items, trackValues{procs: map[string]bool{"p": false}})
			owner := hosts["b"]
			if prio > 105 {
				owner = hosts["a"]
			}
			instance := strings.Replace(keepalivedConf(3, 92, 100, 100*time.Millisecond, testVIP),
				"    virtual_ipaddress", "    track_process {\n        p\n    }\n    virtual_ipaddress", 1)
			instance = instance[strings.Index(instance, "vrrp_instance"):]
			conf := fmt.Sprintf("global_defs {\n    router_id ka\n    vrrp_version 3\n}\nvrrp_track_process p {\n    process gvs-not-running\n    %s\n}\n%s", tc.block, instance)
			b := startNode(t, hosts["b"], single(instanceCfg("VI_1", 92, 105, 3, 100*time.Millisecond, testVIP)))
			pid, logs := startKeepalived(t, hosts["a"], conf)
			defer stopKeepalived(t, pid)
			defer b.stop(t)
			time.Sleep(time.Second) // > Master_Down_Interval at 0.1 s: the election is over
			pair := map[string]*testutil.Host{"a": hosts["a"], "b": hosts["b"]}
			waitVIP(t, 5*time.Second, testVIP, owner, pair)
			if t.Failed() {
				t.Logf("govs priority %d; keepalived:\n%s", prio, logs.String())
			}
		})
	}
}

// stopKeepalived ends a keepalived this test started and waits for it to be gone, so
// that the next one starts on a quiet LAN.
func stopKeepalived(t *testing.T, pid int) {
	t.Helper()
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if !testutil.Eventually(10*time.Second, func() bool { return syscall.Kill(pid, 0) != nil }) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("keepalived %d did not stop within 10 s", pid)
	}
}

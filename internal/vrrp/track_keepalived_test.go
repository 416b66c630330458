package vrrp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

// TestTrackReverseKeepalivedAgrees pins what `reverse` does to a non-zero weight on a
// tracked script, interface and file against the real keepalived 2.2.7: it negates the
// adjustment and keeps when it applies (+w while OK becomes −w while OK), it does not
// swap OK and failed. keepalived (base 100) faces a govs node whose priority lies
// between the two readings, so the VIP's owner shows which one keepalived used, and
// govs must compute the same.
func TestTrackReverseKeepalivedAgrees(t *testing.T) {
	_, hosts := lanHosts(t, "a", "b")
	testutil.NeedCommand(t, "keepalived")
	weightFile := filepath.Join(t.TempDir(), "weight")
	if err := os.WriteFile(weightFile, []byte("5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		blocks string // top-level blocks of keepalived's file
		track  string // the instance's tracking block
		items  []trackItem
		values trackValues
		peer   uint8 // the govs node's priority: between the two readings
	}{
		{
			name:   "script OK, weight 10 reverse: 90, not 100",
			blocks: "vrrp_script s {\n    script /bin/true\n    interval 1\n}\n",
			track:  "track_script {\n        s weight 10 reverse\n    }",
			items:  []trackItem{{kind: trackScript, name: "s", weight: 10, reverse: true}},
			values: trackValues{scripts: map[string]bool{"s": true}},
			peer:   95,
		},
		{
			name:   "script failing, weight -10 reverse: 110, not 100",
			blocks: "vrrp_script s {\n    script /bin/false\n    interval 1\n}\n",
			track:  "track_script {\n        s weight -10 reverse\n    }",
			items:  []trackItem{{kind: trackScript, name: "s", weight: -10, reverse: true}},
			values: trackValues{scripts: map[string]bool{"s": false}},
			peer:   105,
		},
		{
			name:   "interface up, weight 10 reverse: 90, not 100",
			track:  "track_interface {\n        lo weight 10 reverse\n    }",
			items:  []trackItem{{kind: trackInterface, name: "lo", weight: 10, reverse: true}},
			values: trackValues{links: map[string]bool{"lo": true}},
			peer:   95,
		},
		{
			name:   "file 5, weight 2 reverse: 90, not 110",
			blocks: fmt.Sprintf("track_file f {\n    file %q\n    weight 2 reverse\n}\n", weightFile),
			track:  "track_file {\n        f\n    }",
			items:  []trackItem{{kind: trackFile, name: "f", weight: 2, reverse: true}},
			values: trackValues{files: map[string]int64{"f": 5}},
			peer:   95,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prio, faults := effectivePriority(100, tc.items, tc.values)
			if len(faults) > 0 {
				t.Fatalf("govs faults %v", faults)
			}
			owner := hosts["b"]
			if prio > tc.peer {
				owner = hosts["a"]
			}
			instance := strings.Replace(keepalivedConf(3, 93, 100, 100*time.Millisecond, testVIP),
				"    virtual_ipaddress", "    "+tc.track+"\n    virtual_ipaddress", 1)
			conf := strings.Replace(instance, "vrrp_instance", tc.blocks+"vrrp_instance", 1)
			b := startNode(t, hosts["b"], single(instanceCfg("VI_1", 93, tc.peer, 3, 100*time.Millisecond, testVIP)))
			defer b.stop(t)
			pid, logs := startKeepalived(t, hosts["a"], conf)
			defer stopKeepalived(t, pid)
			// Past Master_Down_Interval at 0.1 s and keepalived's first script run.
			time.Sleep(2 * time.Second)
			waitVIP(t, 5*time.Second, testVIP, owner, map[string]*testutil.Host{"a": hosts["a"], "b": hosts["b"]})
			if t.Failed() {
				t.Logf("govs computes %d for keepalived's side; keepalived:\n%s", prio, logs.String())
			}
		})
	}
}

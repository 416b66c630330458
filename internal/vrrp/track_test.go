package vrrp

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEffectivePriority(t *testing.T) {
	vals := trackValues{
		links:   map[string]bool{"eth0": true, "eth1": false},
		scripts: map[string]bool{"ok": true, "bad": false},
		files:   map[string]int64{"f5": 5, "f0": 0, "huge": -100},
	}
	for _, tc := range []struct {
		name   string
		base   uint8
		items  []trackItem
		want   uint8
		faults int
	}{
		{"nothing", 100, nil, 100, 0},
		{"positive weight while up", 100, []trackItem{{kind: trackScript, name: "ok", weight: 20}}, 120, 0},
		{"positive weight while down adds nothing", 100, []trackItem{{kind: trackScript, name: "bad", weight: 20}}, 100, 0},
		{"negative weight while down", 100, []trackItem{{kind: trackScript, name: "bad", weight: -60}}, 40, 0},
		{"negative weight while up", 100, []trackItem{{kind: trackScript, name: "ok", weight: -60}}, 100, 0},
		// reverse negates the weight and keeps when it applies (keepalived's weight_multiplier)
		{"reverse positive while up subtracts", 100, []trackItem{{kind: trackScript, name: "ok", weight: 10, reverse: true}}, 90, 0},
		{"reverse positive while down adds nothing", 100, []trackItem{{kind: trackInterface, name: "eth1", weight: 10, reverse: true}}, 100, 0},
		{"reverse negative while down adds", 100, []trackItem{{kind: trackScript, name: "bad", weight: -60, reverse: true}}, 160, 0},
		{"reverse negative while up adds nothing", 100, []trackItem{{kind: trackScript, name: "ok", weight: -60, reverse: true}}, 100, 0},
		{"reverse weight 0 up is FAULT", 100, []trackItem{{kind: trackInterface, name: "eth0", reverse: true}}, 100, 1},
		{"reverse weight 0 down is fine", 100, []trackItem{{kind: trackScript, name: "bad", reverse: true}}, 100, 0},
		{"reverse file negates", 100, []trackItem{{kind: trackFile, name: "f5", weight: 3, reverse: true}}, 85, 0},
		{"reverse file weight 0 zero is FAULT", 100, []trackItem{{kind: trackFile, name: "f0", reverse: true}}, 100, 1},
		{"reverse file weight 0 non-zero is fine", 100, []trackItem{{kind: trackFile, name: "f5", reverse: true}}, 100, 0},
		{"weight 0 down is FAULT", 100, []trackItem{{kind: trackInterface, name: "eth1"}}, 100, 1},
		{"weight 0 up is fine", 100, []trackItem{{kind: trackInterface, name: "eth0"}}, 100, 0},
		{"unknown interface is down", 100, []trackItem{{kind: trackInterface, name: "nope"}}, 100, 1},
		{"clamped to 254", 250, []trackItem{{kind: trackScript, name: "ok", weight: 50}}, 254, 0},
		{"clamped to 1", 10, []trackItem{{kind: trackScript, name: "bad", weight: -50}}, 1, 0},
		{"owner never changes", 255, []trackItem{{kind: trackScript, name: "bad", weight: -50}}, 255, 0},
		{"file value times weight", 100, []trackItem{{kind: trackFile, name: "f5", weight: 3}}, 115, 0},
		{"file weight 0 non-zero is FAULT", 100, []trackItem{{kind: trackFile, name: "f5"}}, 100, 1},
		{"file weight 0 zero is fine", 100, []trackItem{{kind: trackFile, name: "f0"}}, 100, 0},
		{"file below -253 is FAULT", 100, []trackItem{{kind: trackFile, name: "huge", weight: 3}}, 100, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, faults := effectivePriority(tc.base, tc.items, vals)
			if got != tc.want || len(faults) != tc.faults {
				t.Fatalf("priority %d faults %v, want %d and %d faults", got, faults, tc.want, tc.faults)
			}
		})
	}
}

// TestTrackItemsInSyncGroup: a member of a sync group without
// sync_group_tracking_weight ignores its own weights as keepalived does (interfaces
// weight 0, weighted scripts and files not tracked, a file's default weight 1 made 0),
// while the group's own tracked objects keep theirs.
func TestTrackItemsInSyncGroup(t *testing.T) {
	in := InstanceConfig{Interface: "eth0", DontTrackPrimary: true,
		TrackInterfaces: []TrackInterface{{Name: "eth1", Weight: -10}},
		TrackScripts:    []TrackRef{{Name: "weighted"}, {Name: "plain"}},
		TrackFiles:      []TrackRef{{Name: "f1"}, {Name: "f3"}}}
	scripts := map[string]ScriptConfig{"weighted": {Name: "weighted", Weight: -20}, "plain": {Name: "plain"}}
	files := map[string]TrackFileConfig{"f1": {Name: "f1", Weight: 1}, "f3": {Name: "f3", Weight: 3}}
	g := &SyncGroupConfig{Name: "G", TrackScripts: []TrackRef{{Name: "weighted"}}}
	for _, tc := range []struct {
		name  string
		group *SyncGroupConfig
		want  []trackItem
	}{
		{"alone", nil, []trackItem{{kind: trackInterface, name: "eth1", weight: -10}, {kind: trackScript, name: "weighted", weight: -20},
			{kind: trackScript, name: "plain"}, {kind: trackFile, name: "f1", weight: 1}, {kind: trackFile, name: "f3", weight: 3}}},
		{"in a group", g, []trackItem{{kind: trackInterface, name: "eth1"}, {kind: trackScript, name: "plain"}, {kind: trackFile, name: "f1"},
			{kind: trackScript, name: "weighted", weight: -20}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := trackItems(&in, tc.group, scripts, files, nil); !slices.Equal(got, tc.want) {
				t.Errorf("items %+v, want %+v", got, tc.want)
			}
		})
	}
	tw := *g
	tw.TrackingWeight = true
	if got := trackItems(&in, &tw, scripts, files, nil); len(got) != 6 || got[1].weight != -20 {
		t.Errorf("with sync_group_tracking_weight: %+v", got)
	}
}

func TestReadTrackFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		content string
		want    int64
		err     bool
	}{{"5\n", 5, false}, {"  -3  extra", -3, false}, {"", 0, false}, {"x", 0, true}} {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readTrackFile(p)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%q: %d, %v", tc.content, got, err)
		}
	}
	if _, err := readTrackFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file read without error")
	}
}

func TestNotifyFormats(t *testing.T) {
	if got := FIFOLine(false, "VI_1", StateMaster, 100); got != "INSTANCE \"VI_1\" MASTER 100\n" {
		t.Errorf("FIFO line %q", got)
	}
	if got := FIFOLine(true, "G1", StateBackup, 100); got != "GROUP \"G1\" BACKUP 0\n" {
		t.Errorf("FIFO line %q", got)
	}
	// As the reference capture's notify log shows: configured args, then TYPE NAME STATE PRIO.
	got := notifyArgs([]string{"/tmp/notify.sh", "a"}, false, "VI_1", StateStop, 150)
	if !slices.Equal(got, []string{"/tmp/notify.sh", "a", "INSTANCE", "VI_1", "STOP", "150"}) {
		t.Errorf("notify argv %q", got)
	}
}

func TestNotifierWritesFIFOAndRunsScripts(t *testing.T) {
	fifo, log := runNotifier(t, func(log string) []notifyJob {
		cmd := &Command{Argv: []string{"/bin/sh", "-c", `echo "$@" >> ` + log, "notify"}}
		return []notifyJob{
			{name: "VI_1", state: StateMaster, priority: 150, cmds: NotifyConfig{Generic: cmd}},
			{group: true, name: "G", state: StateMaster, cmds: NotifyConfig{Master: &Command{Argv: []string{"/bin/sh", "-c", "echo group-master >> " + log}}}},
		}
	})
	b, _ := os.ReadFile(fifo)
	if string(b) != "INSTANCE \"VI_1\" MASTER 150\nGROUP \"G\" MASTER 0\n" {
		t.Errorf("FIFO got %q", b)
	}
	b, _ = os.ReadFile(log)
	for _, want := range []string{"INSTANCE VI_1 MASTER 150", "group-master"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("notify log %q lacks %q", b, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	ok := InstanceConfig{Name: "VI", Interface: "eth0", VRID: 1, VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.1/32")}}}
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"no vrid", func(c *Config) { c.Instances[0].VRID = 0 }, "virtual_router_id"},
		{"no interface", func(c *Config) { c.Instances[0].Interface = "" }, "interface"},
		{"auth type", func(c *Config) { c.Instances[0].AuthType = 7 }, "want PASS or AH"},
		{"v2 IPv6", func(c *Config) {
			c.Instances[0].Version = 2
			c.Instances[0].VIPs = []VIP{{Prefix: netip.MustParsePrefix("fe80::1/64")}}
		}, "version"},
		{"mixed VIPs", func(c *Config) {
			c.Instances[0].VIPs = append(c.Instances[0].VIPs, VIP{Prefix: netip.MustParsePrefix("fe80::1/64")})
		}, "one family"},
		{"v3 interval", func(c *Config) { c.Instances[0].Version = 3; c.Instances[0].AdvertInterval = 50 * time.Second }, "advert_int"},
		{"undefined script", func(c *Config) { c.Instances[0].TrackScripts = []TrackRef{{Name: "x"}} }, `track_script "x"`},
		{"duplicate vrid", func(c *Config) { d := c.Instances[0]; d.Name = "VI2"; c.Instances = append(c.Instances, d) }, "already used"},
		{"group member", func(c *Config) { c.SyncGroups = []SyncGroupConfig{{Name: "G", Members: []string{"nope"}}} }, `member "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Instances: []InstanceConfig{ok}}
			tc.edit(&c)
			_, err := c.normalize()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
	c, err := Config{Instances: []InstanceConfig{ok}}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	in := c.Instances[0]
	if in.Priority != 100 || in.Version != 2 || in.AdvertInterval != time.Second || in.DownTimerAdverts != 3 ||
		in.MulticastGroup != MulticastGroup4 || in.GARP.MasterDelay != 5*time.Second || in.GARP.MasterRepeat != 5 {
		t.Fatalf("defaults: %+v", in)
	}
}

// TestSyncGroupTrackingWeight: a sync group's members track with weight 0 (down means
// FAULT), unless sync_group_tracking_weight keeps their weights, as keepalived.
func TestSyncGroupTrackingWeight(t *testing.T) {
	in := InstanceConfig{Interface: "eth0", DontTrackPrimary: true, TrackInterfaces: []TrackInterface{{Name: "eth1", Weight: -20}}}
	for _, keep := range []bool{false, true} {
		g := &SyncGroupConfig{Name: "G", Members: []string{"A", "B"}, TrackingWeight: keep}
		items := trackItems(&in, g, nil, nil, nil)
		want := 0
		if keep {
			want = -20
		}
		if len(items) != 1 || items[0].weight != want {
			t.Errorf("sync_group_tracking_weight %v: items %+v, want weight %d", keep, items, want)
		}
	}
}

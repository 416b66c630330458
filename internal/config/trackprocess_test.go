package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTrackProcess checks what keepalived's vrrp_track_process handlers derive:
// full_command from parameters or param_match, exact matching by default with
// parameters, delay filling both delays, quorum_max 0 alone meaning "none runs", and
// the instance-level entry's weight overriding the block's.
func TestTrackProcess(t *testing.T) {
	const head = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n track_process {\n  p\n }\n}\n"
	for _, tc := range []struct {
		name  string
		block string
		check func(t *testing.T, p *TrackProcess)
	}{
		{"defaults", "process nginx", func(t *testing.T, p *TrackProcess) {
			if p.Weight.Value != 0 || p.Quorum != 1 || p.QuorumMax != -1 || p.FullCommand || p.ParamMatch != "" || p.TerminateDelay != 0 {
				t.Errorf("%+v", p)
			}
		}},
		{"parameters", "process /usr/sbin/nginx -g daemon", func(t *testing.T, p *TrackProcess) {
			if !p.FullCommand || p.ParamMatch != "exact" || !slices.Equal(p.Process, []string{"/usr/sbin/nginx", "-g", "daemon"}) {
				t.Errorf("%+v", p)
			}
		}},
		{"bare param_match", "process app\n param_match", func(t *testing.T, p *TrackProcess) {
			if !p.FullCommand || p.ParamMatch != "exact" {
				t.Errorf("%+v", p)
			}
		}},
		{"param_match initial", "process app --conf\n param_match initial", func(t *testing.T, p *TrackProcess) {
			if !p.FullCommand || p.ParamMatch != "initial" {
				t.Errorf("%+v", p)
			}
		}},
		{"delay fills both", "process app\n delay 1.5\n fork_delay 0.25", func(t *testing.T, p *TrackProcess) {
			if p.TerminateDelay != 1500*time.Millisecond || p.ForkDelay != 250*time.Millisecond {
				t.Errorf("%+v", p)
			}
		}},
		{"a later delay wins", "process app\n fork_delay 0.25\n delay 1.5", func(t *testing.T, p *TrackProcess) {
			if p.TerminateDelay != 1500*time.Millisecond || p.ForkDelay != 1500*time.Millisecond {
				t.Errorf("%+v", p)
			}
		}},
		{"quorum_max 0 alone", "process app\n quorum_max 0", func(t *testing.T, p *TrackProcess) {
			if p.Quorum != 0 || p.QuorumMax != 0 {
				t.Errorf("%+v", p)
			}
		}},
		{"quorum range", "process app\n quorum 2\n quorum_max 5\n weight -30 reverse\n full_command", func(t *testing.T, p *TrackProcess) {
			if p.Quorum != 2 || p.QuorumMax != 5 || p.Weight != (Weight{Value: -30, Reverse: true}) || !p.FullCommand {
				t.Errorf("%+v", p)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "vrrp_track_process p {\n " + tc.block + "\n}\n" + head
			cfg, diags := Parse("t.conf", []byte(src), Options{})
			if diags.HasErrors() || cfg == nil || len(cfg.TrackProcesses) != 1 {
				t.Fatalf("%s", diags)
			}
			tc.check(t, cfg.TrackProcesses[0])
		})
	}
}

// TestTrackProcessEntryWeight: an entry without a weight takes the block's weight and
// reverse; one with a weight of its own keeps the block's reverse unless it says
// noreverse (keepalived's alloc_track_process); a second entry for the same block is
// dropped with keepalived's warning.
func TestTrackProcessEntryWeight(t *testing.T) {
	src := `vrrp_track_process p {
  process nginx
  weight -20 reverse
}
vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
  track_process {
    p
  }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  track_process {
    p weight 10
    p weight 5 noreverse
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 2
  track_process {
    p
  }
}
vrrp_instance VI_3 {
  interface eth0
  virtual_router_id 3
  track_process {
    p weight 7 noreverse
  }
}
`
	cfg, diags := Parse("t.conf", []byte(src), Options{})
	if diags.HasErrors() {
		t.Fatalf("%s", diags)
	}
	if !strings.Contains(diags.String(), "t.conf:19:5: warning: (vrrp_instance VI_1) duplicate track_process p - ignoring") {
		t.Errorf("no warning for the duplicate entry:\n%s", diags)
	}
	if n := len(cfg.Instances[0].TrackProcesses); n != 1 {
		t.Fatalf("VI_1 tracks %d entries, want the first only", n)
	}
	for _, tc := range []struct {
		name    string
		got     TrackedObject
		weight  int
		reverse bool
	}{
		{"own weight", cfg.Instances[0].TrackProcesses[0], 10, true},
		{"inherited", cfg.Instances[1].TrackProcesses[0], -20, true},
		{"own weight, noreverse", cfg.Instances[2].TrackProcesses[0], 7, false},
		{"group's", cfg.SyncGroups[0].TrackProcesses[0], -20, true},
	} {
		if tc.got.Weight != tc.weight || tc.got.Reverse != tc.reverse {
			t.Errorf("%s: %+v, want weight %d reverse %v", tc.name, tc.got, tc.weight, tc.reverse)
		}
	}
}

func TestTrackProcessErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"vrrp_track_process p {\n weight 3\n}\n", "t.conf:1:1"},
		{"vrrp_track_process p {\n process a\n quorum 0\n}\n", "t.conf:3"},
		{"vrrp_track_process p {\n process a\n quorum_max 70000\n}\n", "t.conf:3"},
		{"vrrp_track_process p {\n process a\n delay 0\n}\n", "t.conf:3"},
		{"vrrp_track_process p {\n process a\n delay 3601\n}\n", "t.conf:3"},
		{"vrrp_track_process p {\n process a\n weight 255\n}\n", "t.conf:3"},
		{"vrrp_track_process p {\n process a\n}\nvrrp_track_process p {\n process b\n}\n", "t.conf:4:1: error: vrrp_track_process p is already defined at t.conf:1"},
		{"vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n track_process {\n  nope\n }\n}\n", "t.conf:5:3: error: vrrp_instance VI_1 tracks vrrp_track_process \"nope\", which is not defined"},
	} {
		_, diags := Parse("t.conf", []byte(tc.src), Options{})
		if !diags.HasErrors() || !strings.Contains(diags.String(), tc.want) {
			t.Errorf("%q:\n%s\nwant an error with %q", tc.src, diags, tc.want)
		}
	}
}

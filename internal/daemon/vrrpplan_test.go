package daemon

import (
	"cmp"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/govs/govs/internal/threadprio"
	"github.com/govs/govs/internal/vrrp"
)

// TestVRRPConfigTrackProcess: vrrp_track_process blocks and the track_process entries
// of instances and sync groups reach the VRRP engine with keepalived's derived values.
func TestVRRPConfigTrackProcess(t *testing.T) {
	cfg := parse(t, `
vrrp_track_process web {
  process nginx
  weight -20
  quorum 2
  quorum_max 4
  delay 1
}
vrrp_track_process cmd {
  process /usr/sbin/haproxy -f
  param_match partial
  terminate_delay 0.5
}
vrrp_track_process none {
  process oldd
  quorum_max 0
}
vrrp_sync_group G {
  group {
    VI_1
  }
  track_process {
    none
  }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  track_process {
    web weight 15
    cmd
  }
  virtual_ipaddress {
    192.0.2.1/24
  }
}
`)
	out, err := vrrpConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []vrrp.TrackProcessConfig{
		{Name: "web", Process: "nginx", Weight: -20, Quorum: 2, QuorumMax: 4, QuorumMaxSet: true, TerminateDelay: time.Second, ForkDelay: time.Second},
		{Name: "cmd", Process: "/usr/sbin/haproxy", Params: []string{"-f"}, ParamMatch: vrrp.ParamMatchPartial, FullCommand: true, Quorum: 1, TerminateDelay: 500 * time.Millisecond},
		{Name: "none", Process: "oldd", QuorumMaxSet: true},
	}
	if !reflect.DeepEqual(out.TrackProcesses, want) {
		t.Errorf("blocks:\n got %+v\nwant %+v", out.TrackProcesses, want)
	}
	wantRefs := []vrrp.TrackRef{{Name: "web", Weight: 15, WeightSet: true}, {Name: "cmd"}}
	if !reflect.DeepEqual(out.Instances[0].TrackProcesses, wantRefs) {
		t.Errorf("instance refs %+v, want %+v", out.Instances[0].TrackProcesses, wantRefs)
	}
	if g := out.SyncGroups[0].TrackProcesses; len(g) != 1 || g[0].Name != "none" {
		t.Errorf("group refs %+v", g)
	}
	if _, err := vrrp.New(out, nil); err != nil {
		t.Errorf("the engine rejects the mapped configuration: %v", err)
	}
}

// TestVRRPConfigGARPPacing: vrrp_garp_interval, vrrp_gna_interval and garp_group
// reach the node's pacing (the intervals were parsed and dropped before).
func TestVRRPConfigGARPPacing(t *testing.T) {
	cfg := parse(t, `
global_defs {
    vrrp_garp_interval 0.25
    vrrp_gna_interval 0.5
}
garp_group {
    garp_interval 0.1
    interface bond0
    interfaces {
        bond1
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress {
        192.0.2.1
    }
}`)
	out, err := vrrpConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := vrrp.GARPPacing{ARPInterval: 250 * time.Millisecond, NAInterval: 500 * time.Millisecond,
		Groups: []vrrp.GARPGroup{{ARPInterval: 100 * time.Millisecond, Interfaces: []string{"bond0", "bond1"}}}}
	if !reflect.DeepEqual(out.GARPPacing, want) {
		t.Errorf("GARPPacing = %+v, want %+v", out.GARPPacing, want)
	}
}

// TestVRRPConfigSocketKeywords: the global and instance keywords that shape the advert
// socket and its checksum reach the VRRP configuration.
func TestVRRPConfigSocketKeywords(t *testing.T) {
	instance := func(lines string) string {
		return "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n " + lines +
			"\n unicast_peer {\n  192.0.2.9\n }\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n"
	}
	for _, tc := range []struct {
		name, global, instance string
		rxBufs                 vrrp.RxBufs
		rxBufSize              int
		checksum               vrrp.UnicastChecksum
		prefix                 string
	}{
		{name: "defaults", rxBufs: vrrp.RxBufs{Multiplier: 3}},
		{name: "MTU policy", global: "vrrp_rx_bufs_policy mtu\n vrrp_rx_bufs_multiplier 5", rxBufs: vrrp.RxBufs{PerMTU: true, Multiplier: 5}},
		{name: "ADVERT policy", global: "vrrp_rx_bufs_policy ADVERT", rxBufs: vrrp.RxBufs{PerAdvert: true, Multiplier: 3}},
		{name: "size policy and the instance's own", global: "vrrp_rx_bufs_policy 65536", instance: "kernel_rx_buf_size 4096",
			rxBufs: vrrp.RxBufs{Size: 65536, Multiplier: 3}, rxBufSize: 4096},
		{name: "old checksum", instance: "old_unicast_checksum", rxBufs: vrrp.RxBufs{Multiplier: 3}, checksum: vrrp.UnicastChecksumOld},
		{name: "never old checksum", instance: "old_unicast_checksum never", rxBufs: vrrp.RxBufs{Multiplier: 3}, checksum: vrrp.UnicastChecksumNever},
		{name: "vmac_prefix", global: "vmac_prefix ka", rxBufs: vrrp.RxBufs{Multiplier: 3}, prefix: "ka"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := vrrpConfig(parse(t, "global_defs {\n "+tc.global+"\n}\n"+instance(tc.instance)))
			if err != nil {
				t.Fatal(err)
			}
			in := out.Instances[0]
			if out.RxBufs != tc.rxBufs || in.RxBufSize != tc.rxBufSize || in.UnicastChecksum != tc.checksum || out.VMACPrefix != cmp.Or(tc.prefix, "vrrp") {
				t.Errorf("rx bufs %+v, instance's %d, checksum %v, vmac_prefix %q", out.RxBufs, in.RxBufSize, in.UnicastChecksum, out.VMACPrefix)
			}
		})
	}
}

// TestProcessKeywords: keepalived's per-process knobs map to the VRRP and BFD thread
// groups and, for what only a whole process has, to the process.
func TestProcessKeywords(t *testing.T) {
	for _, tc := range []struct {
		name, global string
		vrrp, bfd    threadprio.Settings
		process      processSettings
	}{
		{name: "none"},
		{name: "vrrp", global: "vrrp_priority -5\n vrrp_cpu_affinity 0 1", vrrp: threadprio.Settings{Nice: -5, CPUs: []int{0, 1}}},
		{name: "vrrp real-time, default limit", global: "vrrp_rt_priority 40", vrrp: threadprio.Settings{RealTime: 40}, process: processSettings{RTTimeLimit: 10000}},
		{name: "largest limit of the real-time parts", global: "vrrp_rt_priority 40\n vrrp_rlimit_rtime 2000\n bfd_rt_priority 50\n bfd_rlimit_rttime 30000\n checker_rlimit_rttime 90000",
			vrrp: threadprio.Settings{RealTime: 40}, bfd: threadprio.Settings{RealTime: 50}, process: processSettings{RTTimeLimit: 30000}},
		{name: "a limit without real-time", global: "vrrp_rlimit_rttime 2000"},
		{name: "no_swap of any part", global: "checker_no_swap", process: processSettings{NoSwap: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := NewPlan(parse(t, "global_defs {\n "+tc.global+"\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n"))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(plan.VRRP.Threads, tc.vrrp) || !reflect.DeepEqual(plan.BFDThreads, tc.bfd) || plan.Process != tc.process {
				t.Errorf("vrrp %+v, bfd %+v, process %+v", plan.VRRP.Threads, plan.BFDThreads, plan.Process)
			}
		})
	}
}

// TestVRRPConfigTrackGroup: a track_group's instances track, with weight 0, the device
// of each static address, route and rule naming it (keepalived's track_group); a
// route or rule that cannot be tracked adds nothing.
func TestVRRPConfigTrackGroup(t *testing.T) {
	cfg := parse(t, `
track_group TG {
  group {
    VI_1
    VI_2
  }
}
static_ipaddress {
  10.0.0.5/24 dev eth1 track_group TG
  10.0.0.6/24 dev eth1 track_group TG
}
static_routes {
  10.1.0.0/16 via 10.0.0.1 dev eth2 track_group TG
  10.2.0.0/16 via 10.0.0.1 dev eth5 no_track
}
static_rules {
  from 10.3.0.0/16 table 1 iif eth3 track_group TG preference 9
  from 10.4.0.0/16 table 1 iif eth4 no_track track_group TG preference 10
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  priority 100
  virtual_ipaddress {
    10.0.0.100/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 2
  priority 100
  virtual_ipaddress {
    10.0.0.101/24
  }
  track_interface {
    eth9 weight 10
  }
}
vrrp_instance VI_3 {
  interface eth0
  virtual_router_id 3
  priority 100
  virtual_ipaddress {
    10.0.0.102/24
  }
}
`)
	vc, err := vrrpConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tracked := []vrrp.TrackInterface{{Name: "eth1"}, {Name: "eth2"}, {Name: "eth3"}}
	want := map[string][]vrrp.TrackInterface{
		"VI_1": tracked,
		"VI_2": append([]vrrp.TrackInterface{{Name: "eth9", Weight: 10}}, tracked...),
		"VI_3": nil,
	}
	for _, in := range vc.Instances {
		if !reflect.DeepEqual(in.TrackInterfaces, want[in.Name]) {
			t.Errorf("%s tracks %+v, want %+v", in.Name, in.TrackInterfaces, want[in.Name])
		}
	}
}

// TestVRRPConfigPeerTTLs: unicast_peer's min_ttl and max_ttl reach the instance (max
// 255 when only min_ttl is given); a peer without them is not limited.
func TestVRRPConfigPeerTTLs(t *testing.T) {
	cfg := parse(t, `
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  priority 100
  check_unicast_src
  unicast_peer {
    10.0.0.2 min_ttl 60 max_ttl 64
    10.0.0.3 min_ttl 10
    10.0.0.4
  }
  virtual_ipaddress {
    10.0.0.100/24
  }
}
`)
	vc, err := vrrpConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[netip.Addr]vrrp.TTLRange{netip.MustParseAddr("10.0.0.2"): {Min: 60, Max: 64}, netip.MustParseAddr("10.0.0.3"): {Min: 10, Max: 255}}
	if got := vc.Instances[0].PeerTTLs; !reflect.DeepEqual(got, want) {
		t.Errorf("peer TTLs %v, want %v", got, want)
	}
}

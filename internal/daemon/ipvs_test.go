package daemon

import (
	"net/netip"
	"testing"

	"github.com/govs/govs/internal/adm"
	"github.com/govs/govs/internal/config"
	"github.com/govs/govs/internal/dataplane/ipvs"
)

func TestIPVSOptions(t *testing.T) {
	tests := []struct {
		settings IPVSSettings
		keep     bool
		want     ipvs.Options
	}{
		{IPVSSettings{}, false, ipvs.Options{OnStop: ipvs.RemoveOwned}},
		{IPVSSettings{Flush: true}, false, ipvs.Options{FlushOnStart: true, OnStop: ipvs.RemoveOwned}},
		{IPVSSettings{FlushOnStop: "RS"}, false, ipvs.Options{OnStop: ipvs.FlushAll}},
		{IPVSSettings{FlushOnStop: "VS"}, false, ipvs.Options{OnStop: ipvs.RemoveOwned}},
		{IPVSSettings{FlushOnStop: "RS"}, true, ipvs.Options{OnStop: ipvs.KeepTable}},
	}
	for _, tt := range tests {
		if got := ipvsOptions(tt.settings, tt.keep); got != tt.want {
			t.Errorf("ipvsOptions(%+v, keep %v) = %+v, want %+v", tt.settings, tt.keep, got, tt.want)
		}
	}
}

// TestSyncRun: which sync daemon runs in which process, as keepalived's processes
// share the work.
func TestSyncRun(t *testing.T) {
	named := &config.SyncDaemon{Interface: "eth1", Instance: "VI_1"}
	unnamed := &config.SyncDaemon{Interface: "eth1"}
	both, checks, vrrpOnly := Options{}, Options{ChecksOnly: true}, Options{VRRPOnly: true}
	tests := []struct {
		name    string
		sd      *config.SyncDaemon
		opts    Options
		run     *config.SyncDaemon
		follows bool
		skipped bool
	}{
		{"none", nil, both, nil, false, false},
		{"instance named: VRRP decides", named, both, named, true, false},
		{"instance named under -P: VRRP decides", named, vrrpOnly, named, true, false},
		{"instance named under -C: no VRRP, no daemon", named, checks, nil, false, true},
		{"no instance: master and backup", unnamed, both, unnamed, false, false},
		{"no instance under -C: the checker runs both", unnamed, checks, unnamed, false, false},
		{"no instance under -P: no checker, no daemon", unnamed, vrrpOnly, nil, false, true},
	}
	for _, tt := range tests {
		run, follows, skipped := syncRun(tt.sd, tt.opts)
		if run != tt.run || follows != tt.follows || (skipped != "") != tt.skipped {
			t.Errorf("%s: syncRun = %v, %v, %q; want %v, %v, skipped %v", tt.name, run, follows, skipped, tt.run, tt.follows, tt.skipped)
		}
	}
}

func TestPlanIPVSSettingsAndSyncDaemon(t *testing.T) {
	cfg := parse(t, `
global_defs {
    lvs_flush
    lvs_flush_onstop
    lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 8849 ttl 2 group 224.0.0.82
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.1/24
    }
}
virtual_server 192.0.2.1 80 {
    protocol TCP
    lb_kind TUN
    real_server 10.0.0.1 80 {
        lvs_method TUN type gue port 6080 csum
    }
}`)
	p, err := NewPlan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !p.IPVS.Flush || p.IPVS.FlushOnStop != "RS" || p.IPVS.Sync == nil || p.IPVS.Sync.Instance != "VI_1" {
		t.Fatalf("IPVS settings = %+v", p.IPVS)
	}
	got := syncDaemon(p.IPVS.Sync)
	want := &adm.Daemon{Interface: "eth1", SyncID: 7, MaxLen: 1400, Port: 8849, TTL: 2, Group: netip.MustParseAddr("224.0.0.82")}
	if *got != *want {
		t.Errorf("sync daemon = %+v, want %+v", got, want)
	}
	if syncDaemon((*config.SyncDaemon)(nil)) != nil {
		t.Error("no lvs_sync_daemon gave a daemon")
	}
	rs := p.Spec.Services[0].RealServers[0]
	if rs.TunnelType != "gue" || rs.TunnelPort != 6080 || rs.TunnelFlags != "csum" {
		t.Errorf("tunnel options = %q %d %q", rs.TunnelType, rs.TunnelPort, rs.TunnelFlags)
	}
}

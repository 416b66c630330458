package status

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/check"
	"github.com/govs/govs/internal/engine"
	"github.com/govs/govs/internal/table"
	"github.com/govs/govs/internal/vrrp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

var (
	web  = table.ServiceKey{Protocol: table.TCP, Addr: ap("192.0.2.10:80")}
	dns  = table.ServiceKey{Protocol: table.UDP, Addr: ap("[2001:db8::53]:53")}
	mark = table.ServiceKey{FWMark: 7}
)

// fixture is a director that is MASTER for one VIP and BACKUP for another, with one
// service whose servers are up, down and drained, a DNS service that lost its quorum,
// and a fwmark service added with govs adm.
func fixture() Input {
	return Input{
		Node: "lb1", Version: "1.2.3", Time: t0, Started: t0.Add(-90 * time.Minute),
		Engine: engine.Status{
			Services: []engine.ServiceStatus{
				{Key: web, Quorum: true, RealServers: []engine.RealServerStatus{
					{Addr: ap("10.0.0.1:8080"), CheckedVS: web, CheckedAddr: ap("10.0.0.1:8080"), Up: true, Weight: 3, TableWeight: 3, Reason: "initial state", Since: t0.Add(-90 * time.Minute)},
					{Addr: ap("10.0.0.2:8080"), CheckedVS: web, CheckedAddr: ap("10.0.0.2:8080"), Up: false, Weight: 2, TableWeight: -1, Reason: "HTTP_GET: status 503", Since: t0.Add(-2 * time.Minute)},
					{Addr: ap("10.0.0.3:8080"), CheckedVS: web, CheckedAddr: ap("10.0.0.3:8080"), Up: true, Weight: 1, TableWeight: 0, Reason: "initial state", Since: t0.Add(-90 * time.Minute)},
				}},
				{Key: dns, Quorum: false, RealServers: []engine.RealServerStatus{
					{Addr: ap("[2001:db8::1]:53"), CheckedVS: dns, CheckedAddr: ap("[2001:db8::1]:53"), Up: false, Weight: 1, TableWeight: -1, Reason: "DNS_CHECK: timeout", Since: t0.Add(-time.Minute)},
				}},
			},
			Events: []engine.Event{
				{At: t0.Add(-2 * time.Minute), Kind: "rs-down", Service: web.String(), RS: "10.0.0.2:8080", Message: "HTTP_GET: status 503"},
				{At: t0.Add(-time.Minute), Kind: "quorum-down", Service: dns.String(), Message: "live weight 0, quorum 1±0"},
			},
		},
		Table: table.Table{Services: []table.Service{
			{ServiceKey: web, Scheduler: "wrr", Dests: []table.Dest{
				{Addr: ap("10.0.0.1:8080"), Weight: 3, Method: table.Masquerade},
				{Addr: ap("10.0.0.3:8080"), Weight: 0, Method: table.Masquerade},
			}},
			{ServiceKey: dns, Scheduler: "rr", Persistence: table.Persistence{Timeout: 300 * time.Second}},
			{ServiceKey: mark, Scheduler: "mh", Dests: []table.Dest{{Addr: ap("10.0.1.1:0"), Weight: 5, Method: table.Route}}},
		}},
		Stats: table.Stats{Services: []table.ServiceStats{
			{Key: web, Counters: table.Counters{Conns: 1200, InPkts: 9000, OutPkts: 8000, InBytes: 1_500_000, OutBytes: 42_000_000},
				Rates: table.Rates{CPS: 12, InPPS: 90, OutPPS: 80, InBPS: 15_000, OutBPS: 420_000},
				Dests: []table.DestStats{
					{Addr: ap("10.0.0.1:8080"), ActiveConn: 7, InActConn: 3, Counters: table.Counters{Conns: 1000, InPkts: 8000, OutPkts: 7000, InBytes: 1_400_000, OutBytes: 40_000_000}, Rates: table.Rates{CPS: 12, InBPS: 15_000, OutBPS: 420_000}},
					{Addr: ap("10.0.0.3:8080"), ActiveConn: 1, InActConn: 0, Counters: table.Counters{Conns: 200, InPkts: 1000, OutPkts: 1000, InBytes: 100_000, OutBytes: 2_000_000}},
				}},
		}},
		Checks: []check.ServerStatus{
			{VS: web, RS: ap("10.0.0.1:8080"), Up: true, Weight: 3, Checkers: []check.CheckerStatus{
				{Name: "HTTP_GET#0", Up: true, Checks: 5400, LastOK: true, LastLatency: 1234 * time.Microsecond, LastAt: t0.Add(-time.Second)},
			}},
			{VS: web, RS: ap("10.0.0.2:8080"), Up: false, Weight: 2, Checkers: []check.CheckerStatus{
				{Name: "HTTP_GET#0", Up: false, Failures: 2, Checks: 5399, LastError: "status 503,\nwant 200", LastLatency: 3 * time.Millisecond, LastAt: t0.Add(-500 * time.Millisecond)},
			}},
			{VS: web, RS: ap("10.0.0.3:8080"), Up: true, Weight: 1, Checkers: []check.CheckerStatus{
				{Name: "TCP_CHECK#0", Up: true, Checks: 0},
			}},
		},
		VRRP: []vrrp.InstanceStatus{
			{Name: "VI_WEB", Interface: "eth0", VRID: 51, Version: 2, State: vrrp.StateMaster, Priority: 150, EffectivePriority: 150,
				Master: netip.MustParseAddr("192.0.2.2"), MasterPriority: 150, SourceAddr: netip.MustParseAddr("192.0.2.2"),
				VIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.10/24")}, AdvertInterval: time.Second, LastTransition: t0.Add(-89 * time.Minute),
				AdvertsSent: 5340, AdvertsReceived: 2, Transitions: 2, BecameMaster: 1, BadPackets: map[string]uint64{"auth": 3}},
			{Name: "VI_DNS", Interface: "eth1", VRID: 52, Version: 3, State: vrrp.StateBackup, Priority: 100, EffectivePriority: 80,
				Master: netip.MustParseAddr("2001:db8::2"), MasterPriority: 120, VIPs: []netip.Prefix{netip.MustParsePrefix("2001:db8::53/64")},
				AdvertInterval: 500 * time.Millisecond, AdvertsReceived: 10680, Transitions: 1, BadPackets: map[string]uint64{}},
			{Name: "VI_LAB", Interface: "eth9", VRID: 9, Version: 2, State: vrrp.StateFault, Priority: 100, EffectivePriority: 100,
				Faults: []string{"interface eth9 down"}},
		},
		Journal: []Event{{At: t0.Add(-89 * time.Minute), Kind: "vrrp", Instance: "VI_WEB", Message: "BACKUP -> MASTER, priority 150"}},
	}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func TestGolden(t *testing.T) {
	snap := Build(fixture())
	js, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"snapshot.json", func(b *bytes.Buffer) error { _, err := b.Write(append(js, '\n')); return err }},
		{"status.txt", func(b *bytes.Buffer) error { return Text(b, snap, TextOptions{}) }},
		{"status-color.txt", func(b *bytes.Buffer) error { return Text(b, snap, TextOptions{Color: true, Events: 2}) }},
		{"govs.data", func(b *bytes.Buffer) error { return Data(b, snap) }},
		{"govs.stats", func(b *bytes.Buffer) error { return Stats(b, snap) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, b.Bytes())
		})
	}
}

// The JSON a snapshot is sent as reads back as the same snapshot: govs status decodes
// what the daemon encodes.
func TestJSONRoundTrip(t *testing.T) {
	snap := Build(fixture())
	js, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := Data(&a, snap); err != nil {
		t.Fatal(err)
	}
	if err := Data(&b, back); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("decoded snapshot dumps differently:\n%s\nvs\n%s", a.String(), b.String())
	}
}

func TestHealth(t *testing.T) {
	for _, tt := range []struct {
		name        string
		up          bool
		inTable     bool
		tableWeight int
		want        Health
	}{
		{"passing, weighted", true, true, 3, HealthUp},
		{"passing, weight 0", true, true, 0, HealthDrained},
		{"passing, not in the table", true, false, 0, HealthRemoved},
		{"failing, removed", false, false, 0, HealthDown},
		{"failing, inhibited at weight 0", false, true, 0, HealthDown},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs := ap("10.0.0.1:80")
			svc := table.Service{ServiceKey: web}
			if tt.inTable {
				svc.Dests = []table.Dest{{Addr: rs, Weight: tt.tableWeight}}
			}
			got := realServer(engine.RealServerStatus{Addr: rs, Up: tt.up, Weight: 3}, svc, table.ServiceStats{}, check.ServerStatus{})
			if got.Health != tt.want {
				t.Errorf("health = %s, want %s", got.Health, tt.want)
			}
		})
	}
}

func TestEventsOrderAndLimit(t *testing.T) {
	in := Input{}
	for i := range MaxEvents {
		in.Engine.Events = append(in.Engine.Events, engine.Event{At: t0.Add(time.Duration(2*i) * time.Second), Kind: "rs-up"})
		in.Journal = append(in.Journal, Event{At: t0.Add(time.Duration(2*i+1) * time.Second), Kind: "vrrp"})
	}
	got := Build(in).Events
	if len(got) != MaxEvents {
		t.Fatalf("%d events, want %d", len(got), MaxEvents)
	}
	for i := 1; i < len(got); i++ {
		if got[i].At.Before(got[i-1].At) {
			t.Fatalf("event %d at %v is before event %d at %v", i, got[i].At, i-1, got[i-1].At)
		}
	}
	if last := got[len(got)-1]; last.Kind != "vrrp" || !last.At.Equal(t0.Add(time.Duration(2*MaxEvents-1)*time.Second)) {
		t.Errorf("newest event = %+v, want the last journal entry", last)
	}
}

func TestEmptySnapshotHasNoNulls(t *testing.T) {
	js, err := json.Marshal(Build(Input{}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "null") {
		t.Errorf("an empty snapshot has nulls the dashboard would trip over: %s", js)
	}
}

func TestJournalKeepsTheNewest(t *testing.T) {
	var j Journal
	for i := range MaxEvents + 5 {
		j.RecordVRRP(vrrp.StateChange{Instance: "VI", From: vrrp.StateBackup, To: vrrp.StateMaster, Priority: uint8(i), Time: t0.Add(time.Duration(i) * time.Second)})
	}
	evs := j.Events()
	if len(evs) != MaxEvents {
		t.Fatalf("%d events kept, want %d", len(evs), MaxEvents)
	}
	if evs[0].Message != "BACKUP -> MASTER, priority 5" || evs[0].Instance != "VI" || evs[0].Kind != "vrrp" {
		t.Errorf("oldest kept = %+v", evs[0])
	}
}

type failingWriter struct{}

var errWrite = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestWriteErrorsReported(t *testing.T) {
	snap := Build(fixture())
	for name, f := range map[string]func() error{
		"text":  func() error { return Text(failingWriter{}, snap, TextOptions{}) },
		"data":  func() error { return Data(failingWriter{}, snap) },
		"stats": func() error { return Stats(failingWriter{}, snap) },
	} {
		if err := f(); !errors.Is(err, errWrite) {
			t.Errorf("%s: err = %v, want the writer's error", name, err)
		}
	}
}

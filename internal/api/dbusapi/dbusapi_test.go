package dbusapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/govs/govs/internal/testutil"
	"github.com/govs/govs/internal/vrrp"
)

// fakeVRRP stands for the VRRP node: its instances' states and the GARPs asked for.
type fakeVRRP struct {
	mu    sync.Mutex
	insts []vrrp.InstanceStatus
	garps []string
}

func (f *fakeVRRP) Status() []vrrp.InstanceStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]vrrp.InstanceStatus(nil), f.insts...)
}

func (f *fakeVRRP) SendGARP(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, st := range f.insts {
		if st.Name == name {
			f.garps = append(f.garps, name)
			return nil
		}
	}
	return errors.New("no VRRP instance " + name)
}

func TestValidPathAndPaths(t *testing.T) {
	for _, tt := range []struct {
		opts Options
		obj  Object
		want dbus.ObjectPath
	}{
		{Options{}, Object{Name: "VI_1", Interface: "eth0", VRID: 51}, "/org/keepalived/Vrrp1/Instance/eth0/51/IPv4"},
		{Options{}, Object{Name: "VI_6", Interface: "eth0.100", VRID: 52, IPv6: true}, "/org/keepalived/Vrrp1/Instance/eth0_100/52/IPv6"},
		{Options{}, Object{Name: "VI_U", VRID: 9}, "/org/keepalived/Vrrp1/Instance/none/9/IPv4"},
		{Options{NetNamespace: "blue-ns", Instance: "lb1"}, Object{Name: "VI_1", Interface: "bond0", VRID: 1}, "/org/keepalived/Vrrp1/blue_ns/lb1/Instance/bond0/1/IPv4"},
	} {
		s := &Service{opts: tt.opts}
		if got := s.instancePath(tt.obj); got != tt.want {
			t.Errorf("%+v %+v: %s, want %s", tt.opts, tt.obj, got, tt.want)
		}
		if !tt.want.IsValid() {
			t.Errorf("%s is not a valid object path", tt.want)
		}
	}
	if got := (&Service{opts: Options{Instance: "lb1"}}).vrrpPath(); got != "/org/keepalived/Vrrp1/lb1/Vrrp" {
		t.Errorf("Vrrp object: %s", got)
	}
}

func TestStateCodes(t *testing.T) {
	for st, want := range map[vrrp.State]string{
		vrrp.StateInit: "0 Init", vrrp.StateBackup: "1 Backup", vrrp.StateMaster: "2 Master", vrrp.StateFault: "3 Fault",
		vrrp.StateDeleted: "97 Deleted", vrrp.StateStop: "98 Stop",
	} {
		if got := fmt.Sprint(st.KeepalivedCode(), " ", stateName(st)); got != want {
			t.Errorf("%v: %s, want %s", st, got, want)
		}
	}
}

// TestServiceOnABus runs the service on a private bus: the objects a reload adds and
// removes, the state signals (none sent twice for one change), the Vrrp object's
// methods, and what Stop leaves.
func TestServiceOnABus(t *testing.T) {
	testutil.Integration(t)
	addr := testutil.PrivateBus(t)
	client, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.AddMatchSignal(dbus.WithMatchPathNamespace("/org/keepalived")); err != nil {
		t.Fatal(err)
	}
	signals := make(chan *dbus.Signal, 64)
	client.Signal(signals)

	t0 := time.Now()
	fake := &fakeVRRP{insts: []vrrp.InstanceStatus{
		{Name: "VI_1", Interface: "eth0", VRID: 51, State: vrrp.StateBackup, LastTransition: t0},
		{Name: "VI_2", Interface: "eth0", VRID: 52, State: vrrp.StateInit},
	}}
	var mu sync.Mutex
	var calls []string
	act := func(name string) func() {
		return func() { mu.Lock(); calls = append(calls, name); mu.Unlock() }
	}
	const name = "org.example.Govs1"
	svc := Start(Options{Address: addr, ServiceName: name, Instance: "lb1"},
		[]Object{{Name: "VI_1", Interface: "eth0", VRID: 51}, {Name: "VI_2", Interface: "eth0", VRID: 52}}, fake,
		Actions{PrintData: act("data"), PrintStats: act("stats"), PrintStatsClear: act("clear"), ReloadConfig: act("reload")})
	const prefix = "/org/keepalived/Vrrp1/lb1"
	next := func() string {
		t.Helper()
		select {
		case s := <-signals:
			out := string(s.Path) + " " + s.Name[strings.LastIndexByte(s.Name, '.')+1:]
			for _, v := range s.Body {
				out += fmt.Sprint(" ", v)
			}
			return out
		case <-time.After(5 * time.Second):
			t.Fatal("no signal")
			return ""
		}
	}
	// VI_2 has not started: no state for it until it changes.
	for _, want := range []string{prefix + "/Vrrp VrrpStarted", prefix + "/Instance/eth0/51/IPv4 VrrpStatusChange 1"} {
		if got := next(); got != want {
			t.Fatalf("signal %q, want %q", got, want)
		}
	}
	svc.StateChanged(vrrp.StateChange{Instance: "VI_1", To: vrrp.StateBackup, Time: t0}) // sent by Start already
	svc.StateChanged(vrrp.StateChange{Instance: "VI_2", To: vrrp.StateBackup, Time: t0.Add(time.Millisecond)})
	svc.StateChanged(vrrp.StateChange{Instance: "VI_1", To: vrrp.StateMaster, Time: t0.Add(time.Second)})
	for _, want := range []string{prefix + "/Instance/eth0/52/IPv4 VrrpStatusChange 1", prefix + "/Instance/eth0/51/IPv4 VrrpStatusChange 2"} {
		if got := next(); got != want {
			t.Fatalf("signal %q, want %q", got, want)
		}
	}

	call := func(path, method string, args ...any) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return client.Object(name, dbus.ObjectPath(path)).CallWithContext(ctx, method, 0, args...).Err
	}
	for _, m := range []string{"PrintData", "PrintStats", "PrintStatsClear", "ReloadConfig"} {
		if err := call(prefix+"/Vrrp", "org.keepalived.Vrrp1.Vrrp."+m); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
	mu.Lock()
	if got := strings.Join(calls, " "); got != "data stats clear reload" {
		t.Errorf("actions %q", got)
	}
	mu.Unlock()
	if err := call(prefix+"/Instance/eth0/52/IPv4", "org.keepalived.Vrrp1.Instance.SendGarp"); err != nil {
		t.Errorf("SendGarp: %v", err)
	}
	fake.mu.Lock()
	if len(fake.garps) != 1 || fake.garps[0] != "VI_2" {
		t.Errorf("GARPs asked for: %v", fake.garps)
	}
	fake.mu.Unlock()

	// A reload drops VI_2 and adds VI_3: its object comes, VI_2's goes.
	fake.mu.Lock()
	fake.insts = []vrrp.InstanceStatus{fake.insts[0], {Name: "VI_3", Interface: "eth1", VRID: 53, State: vrrp.StateBackup}}
	fake.mu.Unlock()
	if err := svc.Reload([]Object{{Name: "VI_1", Interface: "eth0", VRID: 51}, {Name: "VI_3", Interface: "eth1", VRID: 53, IPv6: true}}); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != prefix+"/Vrrp VrrpReloaded" {
		t.Errorf("signal %q after the reload", got)
	}
	var st dbus.Variant
	get := func(path string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return client.Object(name, dbus.ObjectPath(path)).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, "org.keepalived.Vrrp1.Instance", "Name").Store(&st)
	}
	if err := get(prefix + "/Instance/eth1/53/IPv6"); err != nil || st.String() != `["VI_3"]` || st.Signature().String() != "(s)" {
		t.Errorf("VI_3's Name after the reload: %v %v", st, err)
	}
	if err := get(prefix + "/Instance/eth0/52/IPv4"); err == nil {
		t.Error("VI_2's object is still there after the reload")
	}

	svc.Stop()
	if got := next(); got != prefix+"/Vrrp VrrpStopped" {
		t.Errorf("signal %q at stop", got)
	}
	var owned bool
	if err := client.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&owned); err != nil || owned {
		t.Errorf("the name is still owned after Stop: %v %v", owned, err)
	}
}

// TestServiceReconnects: a bus that is not up at start, and one that restarts, get the
// objects once it answers: VrrpStarted, the instances' states (a reload made while
// the bus was away included), the name, and objects that answer.
func TestServiceReconnects(t *testing.T) {
	testutil.Integration(t)
	bus := testutil.NewBus(t)
	t0 := time.Now()
	fake := &fakeVRRP{insts: []vrrp.InstanceStatus{{Name: "VI_1", Interface: "eth0", VRID: 51, State: vrrp.StateMaster, LastTransition: t0}}}
	const name = "org.example.Govs2"
	svc := Start(Options{Address: bus.Addr, ServiceName: name}, []Object{{Name: "VI_1", Interface: "eth0", VRID: 51}}, fake, Actions{})
	defer svc.Stop()

	// served waits for the service on a freshly started bus: its signals, then its
	// name and the instance's object, which path names.
	served := func(when, path string) {
		t.Helper()
		client, err := dbus.Connect(bus.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		if err := client.AddMatchSignal(dbus.WithMatchPathNamespace("/org/keepalived")); err != nil {
			t.Fatal(err)
		}
		signals := make(chan *dbus.Signal, 16)
		client.Signal(signals)
		var got []string
		for len(got) < 2 {
			select {
			case s := <-signals:
				got = append(got, fmt.Sprint(s.Path, " ", s.Name[strings.LastIndexByte(s.Name, '.')+1:], s.Body))
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: signals %q, then nothing", when, got)
			}
		}
		want := []string{"/org/keepalived/Vrrp1/Vrrp VrrpStarted[]", path + " VrrpStatusChange[2]"}
		if !slices.Equal(got, want) {
			t.Errorf("%s: signals %q, want %q", when, got, want)
		}
		if !testutil.Eventually(5*time.Second, func() bool {
			var owned bool
			return client.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&owned) == nil && owned
		}) {
			t.Fatalf("%s: the name is not owned", when)
		}
		var st dbus.Variant
		if err := client.Object(name, dbus.ObjectPath(path)).Call("org.freedesktop.DBus.Properties.Get", 0, instanceIface, "State").Store(&st); err != nil || fmt.Sprint(st.Value()) != "[2 Master]" {
			t.Errorf("%s: State %v %v", when, st, err)
		}
	}

	// The client subscribes before the service's next try: a second after Start, and
	// after it lost the bus.
	bus.Start()
	served("bus up after start", "/org/keepalived/Vrrp1/Instance/eth0/51/IPv4")
	bus.Stop()
	if err := svc.Reload([]Object{{Name: "VI_1", Interface: "eth1", VRID: 51}}); err != nil {
		t.Fatalf("reload without a bus: %v", err)
	}
	bus.Start()
	served("bus restarted", "/org/keepalived/Vrrp1/Instance/eth1/51/IPv4")
}

package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"

	"github.com/govs/govs/internal/testutil"
)

const dbusConf = `global_defs {
  enable_dbus
}
vrrp_instance VI_1 {
  interface eth0
  state BACKUP
  virtual_router_id 81
  priority 100
  advert_int 1
  garp_master_delay 0
  virtual_ipaddress {
    10.61.0.110/24
  }
}
vrrp_instance VI_6 {
  interface eth0
  state BACKUP
  virtual_router_id 82
  priority 100
  advert_int 1
  virtual_ipaddress {
    2001:db8:61::110/64
  }
}
`

// dbusView is what a D-Bus client sees of a daemon with enable_dbus.
type dbusView struct {
	// Tree is every interface member of every object: "PATH IFACE KIND NAME SIGNATURE".
	Tree []string
	// Props are each instance object's GetAll, and Name's value alone.
	Props map[string]string
	// Errors say which of the calls that must fail did.
	Errors map[string]bool
	// Signals are the signals each object sent, in order, with their arguments.
	Signals map[string][]string
}

// TestDBusAsKeepalived runs keepalived 2.2.7 and then govs with enable_dbus on a private
// system bus and compares what a client sees: the object tree and its introspection,
// the properties and their types, the methods (PrintData writes the dump, SendGarp
// sends a gratuitous ARP, ReloadConfig reloads), the errors, and every signal from
// start to stop.
func TestDBusAsKeepalived(t *testing.T) {
	h := keepalivedHost(t)
	testutil.NeedCommand(t, "tcpdump")
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(dbusConf), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, client, signals := busClient(t)

	env := []string{"env", "DBUS_SYSTEM_BUS_ADDRESS=" + addr, "TMPDIR=" + dir}
	ka := observeDBus(t, h, client, signals, dir, "keepalived.data", append(env, "keepalived", "-n", "-l", "-D", "-P", "-f", conf,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"), "-b", filepath.Join(dir, "b.pid")))
	gv := observeDBus(t, h, client, signals, dir, "govs.data", append(env, testutil.GovsBinary(t), "run", "-P", "-f", conf))

	if !reflect.DeepEqual(gv.Tree, ka.Tree) {
		t.Errorf("object tree:\ngovs:\n%s\nkeepalived:\n%s", strings.Join(gv.Tree, "\n"), strings.Join(ka.Tree, "\n"))
	}
	for _, v := range []struct {
		name      string
		got, want any
	}{{"properties", gv.Props, ka.Props}, {"errors", gv.Errors, ka.Errors}, {"signals", gv.Signals, ka.Signals}} {
		if !reflect.DeepEqual(v.got, v.want) {
			t.Errorf("%s:\ngovs       %v\nkeepalived %v", v.name, v.got, v.want)
		}
	}
	if want := []string{"VrrpStarted", "VrrpReloaded", "VrrpStopped"}; !reflect.DeepEqual(gv.Signals["/org/keepalived/Vrrp1/Vrrp"], want) {
		t.Errorf("the Vrrp object's signals: %v, want %v", gv.Signals["/org/keepalived/Vrrp1/Vrrp"], want)
	}
	if want := []string{"VrrpStatusChange [1]", "VrrpStatusChange [2]", "VrrpStatusChange [98]"}; !reflect.DeepEqual(gv.Signals["/org/keepalived/Vrrp1/Instance/eth0/81/IPv4"], want) {
		t.Errorf("VI_1's signals: %v, want %v", gv.Signals["/org/keepalived/Vrrp1/Instance/eth0/81/IPv4"], want)
	}
}

// observeDBus starts a daemon, waits until both instances are master, looks at its
// objects, calls its methods, reloads it over D-Bus and stops it.
func observeDBus(t *testing.T, h *testutil.Host, client *dbus.Conn, signals chan *dbus.Signal, dir, dataFile string, argv []string) dbusView {
	t.Helper()
	const name, root = "org.keepalived.Vrrp1", "/org/keepalived/Vrrp1"
	v := dbusView{Props: map[string]string{}, Errors: map[string]bool{}, Signals: map[string][]string{}}
	record := func(s *dbus.Signal) {
		if strings.HasPrefix(string(s.Path), root) {
			member := s.Name[strings.LastIndexByte(s.Name, '.')+1:]
			if len(s.Body) > 0 {
				member += fmt.Sprint(" ", s.Body)
			}
			// keepalived sends the states its instances hold once it is on the bus,
			// and a transition's notify sends the new state too: when the two cross,
			// one state comes twice; and an instance not started yet is sent as INIT
			// (0). Neither depends on anything but when the bus answered.
			got := v.Signals[string(s.Path)]
			repeated := len(got) > 0 && got[len(got)-1] == member
			if !(strings.HasPrefix(member, "VrrpStatusChange") && (repeated || member == "VrrpStatusChange [0]")) {
				v.Signals[string(s.Path)] = append(got, member)
			}
		}
	}
	masters := func() bool {
		out, _ := h.Exec("ip", "addr", "show", "eth0")
		return strings.Contains(out, "10.61.0.110/24") && strings.Contains(out, "2001:db8:61::110/64")
	}
	cmd, logs := h.Start(argv[0], argv[1:]...) // h waits for it, and kills it at the end
	exited := func() bool { return syscall.Kill(cmd.Process.Pid, 0) != nil }
	if !testutil.Eventually(15*time.Second, masters) {
		t.Fatalf("%s: the instances did not become master:\n%s", argv[3], logs.String())
	}

	// call bounds every call: a daemon that never answers fails the test, not hangs it.
	call := func(o dbus.BusObject, method string, args ...any) *dbus.Call {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return o.CallWithContext(ctx, method, 0, args...)
	}
	var walk func(path dbus.ObjectPath)
	walk = func(path dbus.ObjectPath) {
		var data string
		var node introspect.Node
		err := call(client.Object(name, path), "org.freedesktop.DBus.Introspectable.Introspect").Store(&data)
		if err == nil {
			err = xml.Unmarshal([]byte(data), &node)
		}
		if err != nil {
			t.Fatalf("%s: introspecting %s: %v", argv[3], path, err)
		}
		for _, iface := range node.Interfaces {
			if iface.Name == "org.freedesktop.DBus.Introspectable" || iface.Name == "org.freedesktop.DBus.Peer" {
				continue // answered by the D-Bus library, with its own argument names
			}
			for _, m := range iface.Methods {
				v.Tree = append(v.Tree, fmt.Sprintf("%s %s method %s %s", path, iface.Name, m.Name, argTypes(m.Args)))
			}
			for _, s := range iface.Signals {
				v.Tree = append(v.Tree, fmt.Sprintf("%s %s signal %s %s", path, iface.Name, s.Name, argTypes(s.Args)))
			}
			for _, p := range iface.Properties {
				v.Tree = append(v.Tree, fmt.Sprintf("%s %s property %s %s %s", path, iface.Name, p.Name, p.Type, p.Access))
			}
		}
		for _, c := range node.Children {
			walk(dbus.ObjectPath(strings.TrimSuffix(string(path), "/") + "/" + c.Name))
		}
	}
	walk("/")
	slices.Sort(v.Tree)

	inst4, inst6 := client.Object(name, root+"/Instance/eth0/81/IPv4"), client.Object(name, root+"/Instance/eth0/82/IPv6")
	for _, o := range []dbus.BusObject{inst4, inst6} {
		var all map[string]dbus.Variant
		if err := call(o, "org.freedesktop.DBus.Properties.GetAll", "org.keepalived.Vrrp1.Instance").Store(&all); err != nil {
			t.Fatalf("%s: GetAll on %s: %v", argv[3], o.Path(), err)
		}
		v.Props[string(o.Path())] = fmt.Sprint(all)
		var prop dbus.Variant
		if err := call(o, "org.freedesktop.DBus.Properties.Get", "org.keepalived.Vrrp1.Instance", "Name").Store(&prop); err != nil {
			t.Fatalf("%s: Name of %s: %v", argv[3], o.Path(), err)
		}
		v.Props[string(o.Path())+" Name"] = prop.Signature().String() + " " + prop.String()
	}
	v.Errors["Get of an unknown property"] = call(inst4, "org.freedesktop.DBus.Properties.Get", "org.keepalived.Vrrp1.Instance", "Bogus").Err != nil
	v.Errors["Set of Name"] = call(inst4, "org.freedesktop.DBus.Properties.Set", "org.keepalived.Vrrp1.Instance", "Name", dbus.MakeVariant("x")).Err != nil
	v.Errors["an object no instance has"] = call(client.Object(name, root+"/Instance/eth0/81/IPv6"), "org.freedesktop.DBus.Properties.Get", "org.keepalived.Vrrp1.Instance", "State").Err != nil
	v.Errors["an unknown method"] = call(client.Object(name, root+"/Vrrp"), "org.keepalived.Vrrp1.Vrrp.Nope").Err != nil

	data := filepath.Join(dir, dataFile)
	os.Remove(data)
	vrrpObj := client.Object(name, root+"/Vrrp")
	if err := call(vrrpObj, "org.keepalived.Vrrp1.Vrrp.PrintData").Err; err != nil {
		t.Errorf("%s: PrintData: %v", argv[3], err)
	}
	if !testutil.Eventually(5*time.Second, func() bool { _, err := os.Stat(data); return err == nil }) {
		t.Errorf("%s: PrintData wrote no %s", argv[3], data)
	}

	// SendGarp: a gratuitous ARP for the master's address (garp_master_delay 0, so the
	// one after becoming master is long gone).
	arps, arpLog := h.Start("tcpdump", "-l", "-n", "-i", "eth0", "arp")
	defer arps.Process.Kill()
	if !testutil.Eventually(5*time.Second, func() bool { return strings.Contains(arpLog.String(), "listening on") }) {
		t.Fatalf("tcpdump did not start: %s", arpLog.String())
	}
	if err := call(inst4, "org.keepalived.Vrrp1.Instance.SendGarp").Err; err != nil {
		t.Errorf("%s: SendGarp: %v", argv[3], err)
	}
	if !testutil.Eventually(5*time.Second, func() bool { return strings.Contains(arpLog.String(), "10.61.0.110") }) {
		t.Errorf("%s: no gratuitous ARP after SendGarp:\n%s", argv[3], arpLog.String())
	}

	if err := call(vrrpObj, "org.keepalived.Vrrp1.Vrrp.ReloadConfig").Err; err != nil {
		t.Errorf("%s: ReloadConfig: %v", argv[3], err)
	}
	wait := func(member string) {
		t.Helper()
		if !waitSignal(signals, member, 15*time.Second, record) {
			t.Fatalf("%s: no %s signal:\n%s", argv[3], member, logs.String())
		}
	}
	wait("VrrpReloaded")
	cmd.Process.Signal(syscall.SIGTERM)
	wait("VrrpStopped")
	if !testutil.Eventually(15*time.Second, exited) {
		t.Errorf("%s did not stop", argv[3])
	}
	for len(signals) > 0 {
		record(<-signals)
	}
	return v
}

func argTypes(args []introspect.Arg) string {
	var b strings.Builder
	for _, a := range args {
		b.WriteString(a.Direction + ":" + a.Type + " ")
	}
	return strings.TrimSpace(b.String())
}

// TestDBusFollowsReload: a reload that drops enable_dbus leaves the bus (VrrpStopped,
// the name released), and one that sets it again with another dbus_service_name joins
// under that name (VrrpStarted, the instances' states), as keepalived's VRRP process
// stops and starts its D-Bus thread.
func TestDBusFollowsReload(t *testing.T) {
	h := keepalivedHost(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	write := func(globals string) {
		t.Helper()
		c := strings.Replace(dbusConf, "  enable_dbus\n", globals, 1)
		if err := os.WriteFile(conf, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("  enable_dbus\n")
	addr, client, signals := busClient(t)
	owned := func(name string) bool {
		var yes bool
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return client.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, name).Store(&yes) == nil && yes
	}
	wait := func(member string) {
		t.Helper()
		if !waitSignal(signals, member, 10*time.Second, func(*dbus.Signal) {}) {
			t.Fatalf("no %s signal", member)
		}
	}
	cmd, logs := h.Start("env", "DBUS_SYSTEM_BUS_ADDRESS="+addr, testutil.GovsBinary(t), "run", "-P", "-f", conf)
	if !testutil.Eventually(10*time.Second, func() bool { return owned("org.keepalived.Vrrp1") }) {
		t.Fatalf("govs did not take org.keepalived.Vrrp1:\n%s", logs.String())
	}
	wait("VrrpStarted")

	write("")
	cmd.Process.Signal(syscall.SIGHUP)
	wait("VrrpStopped")
	if !testutil.Eventually(5*time.Second, func() bool { return !owned("org.keepalived.Vrrp1") }) {
		t.Error("org.keepalived.Vrrp1 is still owned without enable_dbus")
	}

	write("  enable_dbus\n  dbus_service_name org.example.Lb1\n")
	cmd.Process.Signal(syscall.SIGHUP)
	wait("VrrpStarted")
	wait("VrrpStatusChange")
	if !testutil.Eventually(5*time.Second, func() bool { return owned("org.example.Lb1") }) {
		t.Errorf("govs did not take org.example.Lb1:\n%s", logs.String())
	}
}

// busClient starts a private bus and connects a client to it that receives every
// signal under /org/keepalived.
func busClient(t *testing.T) (addr string, client *dbus.Conn, signals chan *dbus.Signal) {
	t.Helper()
	addr = testutil.PrivateBus(t)
	client, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	if err := client.AddMatchSignal(dbus.WithMatchPathNamespace("/org/keepalived")); err != nil {
		t.Fatal(err)
	}
	signals = make(chan *dbus.Signal, 256)
	client.Signal(signals)
	return addr, client, signals
}

// waitSignal reads signals, each given to seen, until one named member comes (true) or
// timeout passes (false).
func waitSignal(signals chan *dbus.Signal, member string, timeout time.Duration, seen func(*dbus.Signal)) bool {
	deadline := time.After(timeout)
	for {
		select {
		case s := <-signals:
			seen(s)
			if strings.HasSuffix(s.Name, "."+member) {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

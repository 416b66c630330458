// Package dbusapi is keepalived's D-Bus interface to the VRRP instances (enable_dbus):
// the same bus name, object paths, methods, properties and signals as keepalived 2.2.7's
// vrrp_dbus.c, so that tools written against org.keepalived.Vrrp1 work with govs.
//
// The Vrrp object (/org/keepalived/Vrrp1[/NETNS][/INSTANCE]/Vrrp) has PrintData,
// PrintStats, PrintStatsClear and ReloadConfig and sends VrrpStarted, VrrpReloaded and
// VrrpStopped. Each VRRP instance has an object under …/Instance/IFNAME/VRID/IPv4|IPv6
// with the read-only properties Name and State, the method SendGarp and the signal
// VrrpStatusChange. As keepalived's, the properties' values are structures: Name is
// "(s)" and State "(us)", the state's number and name.
package dbusapi

import (
	"cmp"
	"fmt"
	"log/slog"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"

	"github.com/govs/govs/internal/vrrp"
)

// DefaultServiceName is keepalived's bus name.
const DefaultServiceName = "org.keepalived.Vrrp1"

const (
	root          = "/org/keepalived/Vrrp1"
	vrrpIface     = "org.keepalived.Vrrp1.Vrrp"
	instanceIface = "org.keepalived.Vrrp1.Instance"
	propsIface    = "org.freedesktop.DBus.Properties"
	errInvalid    = "org.freedesktop.DBus.Error.InvalidArgs"
)

// Instances are the VRRP instances the objects stand for.
type Instances interface {
	Status() []vrrp.InstanceStatus
	SendGARP(name string) error
}

// Object is a VRRP instance as its object's path names it.
type Object struct {
	Name, Interface string // Interface: the configured one, not a VMAC
	VRID            uint8
	IPv6            bool
}

// Actions are what the Vrrp object's methods do.
type Actions struct {
	PrintData, PrintStats, PrintStatsClear, ReloadConfig func()
}

// Options say where the objects are.
type Options struct {
	// ServiceName is the bus name to own [DefaultServiceName].
	ServiceName string
	// NetNamespace and Instance (net_namespace, instance) go in the object paths after
	// /org/keepalived/Vrrp1, as keepalived's.
	NetNamespace, Instance string
	// Address is the bus's address; empty: the system bus ($DBUS_SYSTEM_BUS_ADDRESS,
	// else /run/dbus/system_bus_socket).
	Address string
	Logger  *slog.Logger
}

// Service is a connection to the bus that serves the objects.
type Service struct {
	conn *dbus.Conn
	opts Options
	vrrp Instances
	act  Actions
	log  *slog.Logger

	mu sync.Mutex
	// byPath and pathOf map the instances' objects to their names and back.
	byPath map[dbus.ObjectPath]string
	pathOf map[string]dbus.ObjectPath
	// exported are every path with an object, the Vrrp object and the nodes above
	// the objects included, and the interfaces exported on each.
	exported map[dbus.ObjectPath][]string
	// sent is the time of the last state change sent for each instance.
	sent map[string]time.Time
}

// Start connects to the bus, exports the objects, sends VrrpStarted and each instance's
// state, then asks for the bus name, in keepalived's order.
func Start(opts Options, objs []Object, insts Instances, act Actions) (*Service, error) {
	if opts.ServiceName == "" {
		opts.ServiceName = DefaultServiceName
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var conn *dbus.Conn
	var err error
	if opts.Address != "" {
		conn, err = dbus.Connect(opts.Address)
	} else {
		conn, err = dbus.ConnectSystemBus()
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to the D-Bus system bus: %w", err)
	}
	s := &Service{conn: conn, opts: opts, vrrp: insts, act: act, log: opts.Logger.With("component", "dbus"), exported: map[dbus.ObjectPath][]string{}, sent: map[string]time.Time{}}
	if err := s.export(objs); err != nil {
		conn.Close()
		return nil, err
	}
	s.emit(s.vrrpPath(), vrrpIface+".VrrpStarted")
	for _, st := range insts.Status() {
		if !st.LastTransition.IsZero() {
			s.StateChanged(vrrp.StateChange{Instance: st.Name, To: st.State, Time: st.LastTransition})
		}
	}
	reply, err := conn.RequestName(opts.ServiceName, 0)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("D-Bus name %s: %w", opts.ServiceName, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner && reply != dbus.RequestNameReplyAlreadyOwner {
		s.log.Warn("another process owns the D-Bus name; waiting in its queue", "name", opts.ServiceName)
	} else {
		s.log.Info("acquired the D-Bus name", "name", opts.ServiceName)
	}
	return s, nil
}

// Reload exports the objects of a reloaded configuration's instances and sends
// VrrpReloaded.
func (s *Service) Reload(objs []Object) error {
	if err := s.export(objs); err != nil {
		return err
	}
	s.emit(s.vrrpPath(), vrrpIface+".VrrpReloaded")
	return nil
}

// StateChanged sends an instance's VrrpStatusChange with keepalived's number for its
// new state, unless Start has sent that state or a later one already (the change was
// still on its way to the caller when Start read the instances).
func (s *Service) StateChanged(ch vrrp.StateChange) {
	s.mu.Lock()
	p, ok := s.pathOf[ch.Instance]
	if ok && !ch.Time.After(s.sent[ch.Instance]) {
		ok = false
	}
	if ok {
		s.sent[ch.Instance] = ch.Time
	}
	s.mu.Unlock()
	if ok {
		s.emit(p, instanceIface+".VrrpStatusChange", uint32(ch.To.KeepalivedCode()))
	}
}

// Stop sends VrrpStopped, removes the objects and leaves the bus.
func (s *Service) Stop() {
	s.emit(s.vrrpPath(), vrrpIface+".VrrpStopped")
	s.mu.Lock()
	for p, ifaces := range s.exported {
		for _, iface := range ifaces {
			_ = s.conn.Export(nil, p, iface)
		}
	}
	s.exported = map[dbus.ObjectPath][]string{}
	s.mu.Unlock()
	s.conn.Close()
}

func (s *Service) emit(p dbus.ObjectPath, name string, values ...any) {
	if err := s.conn.Emit(p, name, values...); err != nil {
		s.log.Warn("sending a D-Bus signal", "path", p, "signal", name, "err", err)
	}
}

// prefix is the object root with net_namespace and instance, as keepalived builds it.
func (s *Service) prefix() string {
	p := root
	for _, part := range []string{s.opts.NetNamespace, s.opts.Instance} {
		if part != "" {
			p += "/" + validPath(part)
		}
	}
	return p
}

func (s *Service) vrrpPath() dbus.ObjectPath { return dbus.ObjectPath(s.prefix() + "/Vrrp") }

// instancePath is keepalived's path for an instance: its configured interface ("none"
// without one), VRID and family.
func (s *Service) instancePath(o Object) dbus.ObjectPath {
	ifname, family := "none", "IPv4"
	if o.Interface != "" {
		ifname = o.Interface
	}
	if o.IPv6 {
		family = "IPv6"
	}
	return dbus.ObjectPath(s.prefix() + "/Instance/" + validPath(ifname) + "/" + strconv.Itoa(int(o.VRID)) + "/" + family)
}

// validPath makes a path element of a name as keepalived's set_valid_path: anything
// but a letter or a digit becomes '_'.
func validPath(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
}

// export replaces what is exported with the Vrrp object, one object per instance, and
// the introspection data of every node on the way to them.
func (s *Service) export(objs []Object) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p, ifaces := range s.exported {
		for _, iface := range ifaces {
			_ = s.conn.Export(nil, p, iface)
		}
	}
	s.exported = map[dbus.ObjectPath][]string{}
	s.byPath, s.pathOf = map[dbus.ObjectPath]string{}, map[string]dbus.ObjectPath{}
	objects := map[dbus.ObjectPath]introspect.Interface{s.vrrpPath(): vrrpIntrospection}
	if err := s.exportOn(s.vrrpPath(), s.vrrpMethods(), vrrpIface); err != nil {
		return err
	}
	if err := s.exportOn(s.vrrpPath(), propsObject{s, s.vrrpPath()}, propsIface); err != nil {
		return err
	}
	for _, o := range objs {
		p := s.instancePath(o)
		if _, dup := s.byPath[p]; dup {
			s.log.Warn("two VRRP instances share a D-Bus object path; the first has it", "path", p, "instance", o.Name)
			continue
		}
		s.byPath[p], s.pathOf[o.Name] = o.Name, p
		objects[p] = instanceIntrospection
		if err := s.exportOn(p, instanceObject{s, p}, instanceIface); err != nil {
			return err
		}
		if err := s.exportOn(p, propsObject{s, p}, propsIface); err != nil {
			return err
		}
	}
	return s.exportNodes(objects)
}

// exportOn exports v's methods, or a table of methods, as iface on p.
func (s *Service) exportOn(p dbus.ObjectPath, v any, iface string) error {
	export := s.conn.Export
	if table, ok := v.(map[string]any); ok {
		export = func(any, dbus.ObjectPath, string) error { return s.conn.ExportMethodTable(table, p, iface) }
	}
	if err := export(v, p, iface); err != nil {
		return fmt.Errorf("exporting %s on %s: %w", iface, p, err)
	}
	s.exported[p] = append(s.exported[p], iface)
	return nil
}

// exportNodes exports introspection data on each object and on every node above one,
// with its children, so that the tree can be walked from /.
func (s *Service) exportNodes(objects map[dbus.ObjectPath]introspect.Interface) error {
	children := map[dbus.ObjectPath]map[string]bool{}
	for p := range objects {
		for q := p; q != "/"; {
			parent := dbus.ObjectPath(path.Dir(string(q)))
			if children[parent] == nil {
				children[parent] = map[string]bool{}
			}
			children[parent][path.Base(string(q))] = true
			q = parent
		}
	}
	nodes := maps.Clone(children)
	for p := range objects {
		if _, ok := nodes[p]; !ok {
			nodes[p] = nil
		}
	}
	for p, kids := range nodes {
		n := &introspect.Node{} // NewIntrospectable adds Introspectable and Peer
		if iface, ok := objects[p]; ok {
			n.Interfaces = append(n.Interfaces, propertiesIntrospection, iface)
		}
		for _, k := range slices.Sorted(maps.Keys(kids)) {
			n.Children = append(n.Children, introspect.Node{Name: k})
		}
		if err := s.exportOn(p, introspect.NewIntrospectable(n), "org.freedesktop.DBus.Introspectable"); err != nil {
			return err
		}
	}
	return nil
}

// status is the instance an object stands for, or keepalived's error when it has gone.
func (s *Service) status(p dbus.ObjectPath) (vrrp.InstanceStatus, *dbus.Error) {
	s.mu.Lock()
	name, ok := s.byPath[p]
	s.mu.Unlock()
	if ok {
		for _, st := range s.vrrp.Status() {
			if st.Name == name {
				return st, nil
			}
		}
	}
	parts := strings.Split(string(p), "/")
	id := strings.Join(parts[max(len(parts)-3, 0):], "/")
	return vrrp.InstanceStatus{}, dbus.NewError(errInvalid, []any{fmt.Sprintf("Instance '%s' not found", id)})
}

// vrrpMethods are the Vrrp object's methods, each logged as keepalived logs it.
func (s *Service) vrrpMethods() map[string]any {
	methods := map[string]any{}
	for name, m := range map[string]struct {
		what string
		do   func()
	}{
		"PrintData":       {"printing VRRP data", s.act.PrintData},
		"PrintStats":      {"printing VRRP stats", s.act.PrintStats},
		"PrintStatsClear": {"printing and clearing VRRP stats", s.act.PrintStatsClear},
		"ReloadConfig":    {"reloading the configuration", s.act.ReloadConfig},
	} {
		methods[name] = func() *dbus.Error {
			s.log.Info(m.what + " on D-Bus request")
			m.do()
			return nil
		}
	}
	return methods
}

// instanceObject is an instance object's method.
type instanceObject struct {
	s *Service
	p dbus.ObjectPath
}

func (o instanceObject) SendGarp() *dbus.Error {
	st, derr := o.s.status(o.p)
	if derr != nil {
		return derr
	}
	if err := o.s.vrrp.SendGARP(st.Name); err != nil {
		return dbus.NewError(errInvalid, []any{err.Error()})
	}
	return nil
}

// propsObject is org.freedesktop.DBus.Properties on an instance object.
type propsObject struct {
	s *Service
	p dbus.ObjectPath
}

// nameValue and stateValue are the properties' structures.
type nameValue struct{ Name string }

type stateValue struct {
	Code uint32
	Name string
}

func (o propsObject) Get(iface, prop string) (dbus.Variant, *dbus.Error) {
	all, derr := o.GetAll(iface)
	if derr != nil {
		return dbus.Variant{}, derr
	}
	v, ok := all[prop]
	if !ok {
		return dbus.Variant{}, dbus.NewError(errInvalid, []any{fmt.Sprintf("No such property “%s”", prop)})
	}
	return v, nil
}

func (o propsObject) GetAll(iface string) (map[string]dbus.Variant, *dbus.Error) {
	if o.p == o.s.vrrpPath() && iface == vrrpIface {
		return map[string]dbus.Variant{}, nil // the Vrrp object has no properties
	}
	if iface != instanceIface || o.p == o.s.vrrpPath() {
		return nil, dbus.NewError(errInvalid, []any{fmt.Sprintf("No such interface “%s”", iface)})
	}
	st, derr := o.s.status(o.p)
	if derr != nil {
		return nil, derr
	}
	return map[string]dbus.Variant{
		"Name":  dbus.MakeVariant(nameValue{st.Name}),
		"State": dbus.MakeVariant(stateValue{uint32(st.State.KeepalivedCode()), stateName(st.State)}),
	}, nil
}

func (o propsObject) Set(iface, prop string, _ dbus.Variant) *dbus.Error {
	if iface == instanceIface && o.p != o.s.vrrpPath() && (prop == "Name" || prop == "State") {
		return dbus.NewError(errInvalid, []any{fmt.Sprintf("Property “%s” is not writable", prop)})
	}
	return dbus.NewError(errInvalid, []any{fmt.Sprintf("No such property “%s”", prop)})
}

// stateNames are vrrp_dbus.c's names of the states.
var stateNames = map[vrrp.State]string{
	vrrp.StateInit: "Init", vrrp.StateBackup: "Backup", vrrp.StateMaster: "Master", vrrp.StateFault: "Fault",
	vrrp.StateStop: "Stop", vrrp.StateDeleted: "Deleted",
}

func stateName(st vrrp.State) string { return cmp.Or(stateNames[st], "Unknown") }

var propertiesIntrospection = introspect.Interface{
	Name: propsIface,
	Methods: []introspect.Method{
		{Name: "Get", Args: []introspect.Arg{{Name: "interface_name", Type: "s", Direction: "in"}, {Name: "property_name", Type: "s", Direction: "in"}, {Name: "value", Type: "v", Direction: "out"}}},
		{Name: "GetAll", Args: []introspect.Arg{{Name: "interface_name", Type: "s", Direction: "in"}, {Name: "properties", Type: "a{sv}", Direction: "out"}}},
		{Name: "Set", Args: []introspect.Arg{{Name: "interface_name", Type: "s", Direction: "in"}, {Name: "property_name", Type: "s", Direction: "in"}, {Name: "value", Type: "v", Direction: "in"}}},
	},
	Signals: []introspect.Signal{{Name: "PropertiesChanged", Args: []introspect.Arg{{Name: "interface_name", Type: "s"}, {Name: "changed_properties", Type: "a{sv}"}, {Name: "invalidated_properties", Type: "as"}}}},
}

var vrrpIntrospection = introspect.Interface{
	Name:    vrrpIface,
	Methods: []introspect.Method{{Name: "PrintData"}, {Name: "PrintStats"}, {Name: "PrintStatsClear"}, {Name: "ReloadConfig"}},
	Signals: []introspect.Signal{{Name: "VrrpStarted"}, {Name: "VrrpReloaded"}, {Name: "VrrpStopped"}},
}

var instanceIntrospection = introspect.Interface{
	Name:       instanceIface,
	Methods:    []introspect.Method{{Name: "SendGarp"}},
	Signals:    []introspect.Signal{{Name: "VrrpStatusChange", Args: []introspect.Arg{{Name: "status", Type: "u"}}}},
	Properties: []introspect.Property{{Name: "Name", Type: "s", Access: "read"}, {Name: "State", Type: "(us)", Access: "read"}},
}

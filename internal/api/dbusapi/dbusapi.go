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

// Service serves the objects on the bus. It reconnects when the bus goes away (a
// restart of dbus-daemon, or a bus not up yet at start) and serves them again, with
// VrrpStarted and each instance's state, as at start; VRRP is never disturbed.
type Service struct {
	opts Options
	vrrp Instances
	act  Actions
	log  *slog.Logger

	mu   sync.Mutex
	conn *dbus.Conn // nil while there is no connection
	objs []Object   // the instances' objects, exported on every connection
	// byPath and pathOf map the instances' objects to their names and back.
	byPath map[dbus.ObjectPath]string
	pathOf map[string]dbus.ObjectPath
	// exported are every path with an object, the Vrrp object and the nodes above
	// the objects included, and the interfaces exported on each.
	exported map[dbus.ObjectPath][]string
	// sent is the time of the last state change sent for each instance.
	sent map[string]time.Time

	stop, done chan struct{} // Stop closes stop; keep closes done once it returns
}

// How long the service waits before connecting again, doubling from retryMin to
// retryMax while the bus stays away.
const (
	retryMin = time.Second
	retryMax = 30 * time.Second
)

// Start connects to the bus, exports the objects, sends VrrpStarted and each instance's
// state, then asks for the bus name, in keepalived's order. A bus that cannot be
// reached is logged and tried again until Stop.
func Start(opts Options, objs []Object, insts Instances, act Actions) *Service {
	if opts.ServiceName == "" {
		opts.ServiceName = DefaultServiceName
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{opts: opts, vrrp: insts, act: act, log: opts.Logger.With("component", "dbus"), objs: objs,
		exported: map[dbus.ObjectPath][]string{}, stop: make(chan struct{}), done: make(chan struct{})}
	err := s.connect()
	if err != nil {
		s.log.Error("enable_dbus: no D-Bus interface yet; trying again until the bus answers", "err", err)
	}
	go s.keep(err == nil)
	return s
}

// connect opens a connection and serves the objects on it.
func (s *Service) connect() error {
	var conn *dbus.Conn
	var err error
	if s.opts.Address != "" {
		conn, err = dbus.Connect(s.opts.Address)
	} else {
		conn, err = dbus.ConnectSystemBus()
	}
	if err != nil {
		return fmt.Errorf("connecting to the D-Bus system bus: %w", err)
	}
	s.mu.Lock()
	s.conn, s.sent = conn, map[string]time.Time{} // a new connection hears every state again
	err = s.exportLocked()
	s.mu.Unlock()
	if err != nil {
		s.disconnect()
		return err
	}
	s.emit(s.vrrpPath(), vrrpIface+".VrrpStarted")
	for _, st := range s.vrrp.Status() {
		if !st.LastTransition.IsZero() {
			s.StateChanged(vrrp.StateChange{Instance: st.Name, To: st.State, Time: st.LastTransition})
		}
	}
	reply, err := conn.RequestName(s.opts.ServiceName, 0)
	if err != nil {
		s.disconnect()
		return fmt.Errorf("D-Bus name %s: %w", s.opts.ServiceName, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner && reply != dbus.RequestNameReplyAlreadyOwner {
		s.log.Warn("another process owns the D-Bus name; waiting in its queue", "name", s.opts.ServiceName)
	} else {
		s.log.Info("acquired the D-Bus name", "name", s.opts.ServiceName)
	}
	return nil
}

// keep waits for the connection to end, and connects again, until Stop.
func (s *Service) keep(connected bool) {
	defer close(s.done)
	delay := retryMin
	for {
		if connected {
			s.mu.Lock()
			closed := s.conn.Context().Done()
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-closed:
			}
			s.log.Warn("lost the D-Bus connection; connecting again")
			s.disconnect()
			delay = retryMin
		}
		wait := time.NewTimer(delay)
		select {
		case <-s.stop:
			wait.Stop()
			return
		case <-wait.C:
		}
		if err := s.connect(); err != nil {
			s.log.Debug("no D-Bus connection yet", "err", err, "next_try", min(2*delay, retryMax))
			delay, connected = min(2*delay, retryMax), false
			continue
		}
		s.log.Info("D-Bus interface back")
		connected = true
	}
}

// disconnect closes the connection, and with it everything exported on it.
func (s *Service) disconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.Close()
	}
	s.conn, s.exported = nil, map[dbus.ObjectPath][]string{}
}

// Reload exports the objects of a reloaded configuration's instances and sends
// VrrpReloaded.
func (s *Service) Reload(objs []Object) error {
	s.mu.Lock()
	s.objs = objs
	err := s.exportLocked()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.emit(s.vrrpPath(), vrrpIface+".VrrpReloaded")
	return nil
}

// StateChanged sends an instance's VrrpStatusChange with keepalived's number for its
// new state, unless the connection has heard that state or a later one already (the
// change was still on its way to the caller when the service read the instances).
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
	close(s.stop)
	<-s.done
	s.emit(s.vrrpPath(), vrrpIface+".VrrpStopped")
	s.mu.Lock()
	s.unexportLocked()
	s.mu.Unlock()
	s.disconnect()
}

// emit sends a signal; without a connection there is no one to send it to.
func (s *Service) emit(p dbus.ObjectPath, name string, values ...any) {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return
	}
	if err := conn.Emit(p, name, values...); err != nil && conn.Connected() {
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

// exportLocked replaces what is exported with the Vrrp object, one object per
// instance of objs, and the introspection data of every node on the way to them; with
// no connection it only maps the objects, which the next connection exports.
func (s *Service) exportLocked() error {
	s.unexportLocked()
	s.byPath, s.pathOf = map[dbus.ObjectPath]string{}, map[string]dbus.ObjectPath{}
	objects := map[dbus.ObjectPath]introspect.Interface{s.vrrpPath(): vrrpIntrospection}
	for _, o := range s.objs {
		p := s.instancePath(o)
		if _, dup := s.byPath[p]; dup {
			s.log.Warn("two VRRP instances share a D-Bus object path; the first has it", "path", p, "instance", o.Name)
			continue
		}
		s.byPath[p], s.pathOf[o.Name] = o.Name, p
		objects[p] = instanceIntrospection
	}
	if s.conn == nil {
		return nil
	}
	if err := s.exportOn(s.vrrpPath(), s.vrrpMethods(), vrrpIface); err != nil {
		return err
	}
	if err := s.exportOn(s.vrrpPath(), propsObject{s, s.vrrpPath()}, propsIface); err != nil {
		return err
	}
	for p := range s.byPath {
		if err := s.exportOn(p, instanceObject{s, p}, instanceIface); err != nil {
			return err
		}
		if err := s.exportOn(p, propsObject{s, p}, propsIface); err != nil {
			return err
		}
	}
	return s.exportNodes(objects)
}

// unexportLocked removes everything exported.
func (s *Service) unexportLocked() {
	for p, ifaces := range s.exported {
		for _, iface := range ifaces {
			_ = s.conn.Export(nil, p, iface)
		}
	}
	s.exported = map[dbus.ObjectPath][]string{}
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

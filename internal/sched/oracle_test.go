package sched

import (
	"bufio"
	"fmt"
	"math/bits"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOracle replays the real kernel's golden files (testdata/oracle, see its README):
// every ipvsadm command, connection and sysctl runs against Service, and every pick and
// every counter the kernel listed must come out the same.
func TestOracle(t *testing.T) {
	files, err := filepath.Glob("testdata/oracle/sched-*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			steps, err := readOracleFile(file)
			if err != nil {
				t.Fatal(err)
			}
			o := newOracle(t)
			for _, st := range steps {
				o.run(st)
			}
			if o.picks == 0 {
				t.Fatal("no pick sequence checked")
			}
		})
	}
}

// oracleStep is one "$ command" of a golden file with the output printed after it.
type oracleStep struct {
	line    int
	section string
	cmd     []string
	out     []string
}

func readOracleFile(path string) ([]oracleStep, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var steps []oracleStep
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
		case strings.HasPrefix(line, "### "):
			section = strings.TrimPrefix(line, "### ")
		case strings.HasPrefix(line, "$ "):
			steps = append(steps, oracleStep{line: n, section: section, cmd: strings.Fields(line[2:])})
		case strings.HasPrefix(line, "=> ") && len(steps) > 0 && !steps[len(steps)-1].awaitsPicks():
			// The dh script echoes "$ each DST..." only the first time; later rounds print
			// "DST NAME" lines and the "=>" line after whatever command came before.
			prev := &steps[len(steps)-1]
			each := oracleStep{line: n, section: section, cmd: []string{"each"}}
			var rest []string
			for i, l := range prev.out {
				if f := strings.Fields(l); len(f) == 2 && isAddr(f[0]) && !strings.Contains(strings.Join(prev.out[i:], "\n"), "=> ") {
					each.cmd = append(each.cmd, f[0])
				} else {
					rest = append(rest, l)
				}
			}
			prev.out = rest
			each.out = []string{line}
			steps = append(steps, each)
		case len(steps) > 0:
			steps[len(steps)-1].out = append(steps[len(steps)-1].out, line)
		}
	}
	return steps, sc.Err()
}

// awaitsPicks reports whether the step opens connections whose "=>" line is still to come.
func (st oracleStep) awaitsPicks() bool {
	switch st.cmd[0] {
	case "cli", "hold", "each":
		return st.expected() == nil
	}
	return false
}

func isAddr(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// oracle is the replay state: the services and destinations ipvsadm made, the held
// connections, and the kernel's trash of deleted destinations.
type oracle struct {
	t               *testing.T
	services        map[string]*oracleService
	trash           map[string]*Dest // service key + " " + dest address
	holds           map[string][]heldConn
	expireQuiescent bool
	clock           time.Time
	nextPort        uint16
	picks           int
	step            oracleStep
}

type oracleService struct {
	key   string // "TCP 192.168.10.100:1001", "UDP ...", "FWM 1"
	proto uint8
	vip   netip.AddrPort
	cfg   ServiceConfig
	dests []*Dest // kernel list order
	svc   *Service
}

type heldConn struct{ d *Dest }

func newOracle(t *testing.T) *oracle {
	return &oracle{
		t:        t,
		services: map[string]*oracleService{},
		trash:    map[string]*Dest{},
		holds:    map[string][]heldConn{},
		clock:    time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		nextPort: 32768,
	}
}

func (o *oracle) fatalf(format string, args ...any) {
	o.t.Helper()
	o.t.Fatalf("line %d (%s) $ %s: %s", o.step.line, o.step.section, strings.Join(o.step.cmd, " "), fmt.Sprintf(format, args...))
}

// failed reports whether the command printed an exit status: the kernel changed nothing.
func (st oracleStep) failed() bool {
	for _, l := range st.out {
		if strings.HasPrefix(l, "[rc=") {
			return true
		}
	}
	return false
}

// expected returns the "=> name ..." pick list printed by the step.
func (st oracleStep) expected() []string {
	for _, l := range st.out {
		if rest, ok := strings.CutPrefix(l, "=> "); ok {
			return strings.Fields(rest)
		}
	}
	return nil
}

func (o *oracle) run(st oracleStep) {
	o.step = st
	if st.failed() {
		return
	}
	switch st.cmd[0] {
	case "ipvsadm":
		o.ipvsadm(st.cmd[1:])
	case "cli":
		o.connect(st.cmd[1], st.cmd[2], st.cmd[3:], "")
	case "hold":
		o.connect("tcp", st.cmd[2], st.cmd[3:], st.cmd[1])
	case "release":
		for _, h := range o.holds[st.cmd[1]] {
			h.d.SetActive(false) // FIN both ways: TIME_WAIT, inactive
		}
		delete(o.holds, st.cmd[1])
	case "each":
		o.each(st.cmd[1:])
	case "sysctl":
		o.sysctl(st.cmd[1:])
	case "conns":
	default:
		o.fatalf("unknown command")
	}
}

func (o *oracle) sysctl(args []string) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "net.ipv4.vs.expire_quiescent_template="); ok {
			o.expireQuiescent = v == "1"
			for _, s := range o.services {
				o.update(s)
			}
		}
	}
}

// serviceKey turns -t/-u/-f arguments into the key the listings print.
func serviceKey(flag, arg string) (key string, proto uint8, vip netip.AddrPort, err error) {
	switch flag {
	case "-t", "-u":
		vip, err = netip.ParseAddrPort(arg)
		proto, key = protoTCP, "TCP "+arg
		if flag == "-u" {
			proto, key = protoUDP, "UDP "+arg
		}
	case "-f":
		key = "FWM " + arg
	default:
		err = fmt.Errorf("not a service option: %s", flag)
	}
	return key, proto, vip, err
}

func (o *oracle) ipvsadm(args []string) {
	var (
		op, key, sched string
		proto          uint8
		vip            netip.AddrPort
		rs             string
		weight         = 1
		upper, lower   int32
		cfg            ServiceConfig
		list           = map[string]bool{}
	)
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() string {
			i++
			if i >= len(args) {
				o.fatalf("%s needs a value", a)
			}
			return args[i]
		}
		switch a {
		case "-A", "-E", "-a", "-e", "-d", "-D", "-L", "-l":
			op = a
		case "-t", "-u", "-f":
			var err error
			if key, proto, vip, err = serviceKey(a, next()); err != nil {
				o.fatalf("%v", err)
			}
		case "-s":
			sched = next()
		case "-p":
			cfg.Persistence = 360 * time.Second
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				n, _ := strconv.Atoi(next())
				cfg.Persistence = time.Duration(n) * time.Second
			}
		case "-M":
			cfg.PrefixLen4 = maskBits(o, next())
		case "-b":
			for _, f := range strings.Split(next(), ",") {
				switch f {
				case "sh-fallback", "mh-fallback", "flag-1":
					cfg.Flags |= Flag1
				case "sh-port", "mh-port", "flag-2":
					cfg.Flags |= Flag2
				case "flag-3":
					cfg.Flags |= Flag3
				}
			}
		case "-r":
			rs = next()
		case "-w":
			weight, _ = strconv.Atoi(next())
		case "-x":
			n, _ := strconv.Atoi(next())
			upper = int32(n)
		case "-y":
			n, _ := strconv.Atoi(next())
			lower = int32(n)
		case "-m", "-g", "-i", "-n":
		default:
			list[a] = true
		}
	}
	switch op {
	case "-A":
		if sched == "" {
			sched = DefaultScheduler
		}
		cfg.Scheduler = sched
		s := &oracleService{key: key, proto: proto, vip: vip, cfg: cfg}
		o.services[key] = s
		o.update(s)
	case "-D":
		s := o.service(key)
		for _, d := range s.dests {
			o.trash[key+" "+d.Addr.String()] = d
		}
		delete(o.services, key)
	case "-a", "-e", "-d":
		s := o.service(key)
		addr := o.destAddr(s, rs)
		i, found := o.find(s, addr)
		switch op {
		case "-a":
			if found {
				o.fatalf("destination %v exists", addr)
			}
			d := o.trash[key+" "+addr.String()]
			if d != nil {
				delete(o.trash, key+" "+addr.String())
				d.SetWeight(weight)
				d.SetThresholds(upper, lower)
			} else {
				d = NewDest(addr, weight)
				d.UThreshold, d.LThreshold = upper, lower
			}
			s.dests = append([]*Dest{d}, s.dests...)
		case "-e":
			if !found {
				o.fatalf("no destination %v", addr)
			}
			s.dests[i].SetWeight(weight)
			s.dests[i].SetThresholds(upper, lower)
		case "-d":
			if !found {
				o.fatalf("no destination %v", addr)
			}
			o.trash[key+" "+addr.String()] = s.dests[i]
			s.dests = append(s.dests[:i:i], s.dests[i+1:]...)
		}
		o.update(s)
	case "-L", "-l":
		o.checkListing(key, list)
	default:
		o.fatalf("unsupported ipvsadm command")
	}
}

// maskBits turns -M (dotted IPv4 mask or prefix length) into a prefix length.
func maskBits(o *oracle, m string) int {
	if a, err := netip.ParseAddr(m); err == nil {
		b := a.As4()
		return bits.OnesCount32(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
	}
	n, err := strconv.Atoi(m)
	if err != nil {
		o.fatalf("bad -M %q", m)
	}
	return n
}

func (o *oracle) service(key string) *oracleService {
	s := o.services[key]
	if s == nil {
		o.fatalf("no service %q", key)
	}
	return s
}

// destAddr applies ipvsadm's port rule: the service port unless given (fwmark services
// keep the given one).
func (o *oracle) destAddr(s *oracleService, rs string) netip.AddrPort {
	if ap, err := netip.ParseAddrPort(rs); err == nil {
		return ap
	}
	a, err := netip.ParseAddr(rs)
	if err != nil {
		o.fatalf("bad real server %q", rs)
	}
	return netip.AddrPortFrom(a, s.vip.Port())
}

func (o *oracle) find(s *oracleService, addr netip.AddrPort) (int, bool) {
	for i, d := range s.dests {
		if d.Addr == addr {
			return i, true
		}
	}
	return 0, false
}

func (o *oracle) update(s *oracleService) {
	cfg := s.cfg
	cfg.ExpireQuiescent = o.expireQuiescent
	var err error
	if s.svc == nil {
		s.svc, err = NewService(cfg, s.dests)
	} else {
		err = s.svc.Update(cfg, s.dests)
	}
	if err != nil {
		o.fatalf("%v", err)
	}
}

// connect opens one connection per source, in order, like the guest's probe client.
func (o *oracle) connect(proto, dst string, srcs []string, hold string) {
	s := o.byVIP(proto, dst)
	var got []string
	for _, src := range srcs {
		f := Flow{Proto: s.proto, Dst: s.vip, Src: o.source(src), Now: o.tick()}
		got = append(got, o.schedule(s, f, proto == "tcp", hold))
	}
	o.compare(got)
}

// each is the dh test's helper: one TCP connection from the client to each DST:80 of the
// fwmark service (whichever it is).
func (o *oracle) each(dsts []string) {
	var s *oracleService
	for _, x := range o.services {
		s = x
	}
	if s == nil {
		o.fatalf("no service")
	}
	var got []string
	for _, dst := range dsts {
		a, err := netip.ParseAddr(dst)
		if err != nil {
			o.fatalf("bad destination %q", dst)
		}
		f := Flow{Proto: protoTCP, Dst: netip.AddrPortFrom(a, 80), Src: o.source("-"), Now: o.tick()}
		got = append(got, o.schedule(s, f, true, ""))
	}
	o.compare(got)
}

// schedule runs one connection's life as far as the kernel had run it when the next one
// started: TCP connections are established (active) and then closed (TIME_WAIT, inactive)
// unless held; UDP flows stay inactive.
func (o *oracle) schedule(s *oracleService, f Flow, tcp bool, hold string) string {
	c, ok := s.svc.Schedule(f)
	if !ok {
		return "ERR"
	}
	if tcp {
		c.Dest.SetActive(true)
		if hold == "" {
			c.Dest.SetActive(false)
		} else {
			o.holds[hold] = append(o.holds[hold], heldConn{d: c.Dest})
		}
	}
	return rsName(c.Dest.Addr)
}

// rsName is the name the guest's real server i (10.0.0.i) answers with.
func rsName(a netip.AddrPort) string {
	b := a.Addr().As4()
	return fmt.Sprintf("rs%d", b[3])
}

func (o *oracle) compare(got []string) {
	o.t.Helper()
	want := o.step.expected()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		o.fatalf("picks\n got %s\nwant %s", strings.Join(got, " "), strings.Join(want, " "))
	}
	o.picks++
}

func (o *oracle) byVIP(proto, dst string) *oracleService {
	key := "TCP " + dst
	if proto == "udp" {
		key = "UDP " + dst
	}
	return o.service(key)
}

// source turns a probe SRC into an address: "-" is the client's own address, and a
// missing port is chosen like the kernel would (any ephemeral port).
func (o *oracle) source(src string) netip.AddrPort {
	if src == "-" {
		src = "172.16.0.2"
	}
	if ap, err := netip.ParseAddrPort(src); err == nil {
		return ap
	}
	a, err := netip.ParseAddr(src)
	if err != nil {
		o.fatalf("bad source %q", src)
	}
	o.nextPort++
	return netip.AddrPortFrom(a, o.nextPort)
}

func (o *oracle) tick() time.Time {
	o.clock = o.clock.Add(50 * time.Millisecond)
	return o.clock
}

// checkListing compares the counters of every destination the kernel listed, and the
// list order for --nosort.
func (o *oracle) checkListing(onlyKey string, flags map[string]bool) {
	var s *oracleService
	var listed []string
	check := func() {
		if s != nil && flags["--nosort"] {
			var ours []string
			for _, d := range s.dests {
				ours = append(ours, d.Addr.String())
			}
			if strings.Join(ours, " ") != strings.Join(listed, " ") {
				o.fatalf("%s list order: got %v, kernel %v", s.key, ours, listed)
			}
		}
		listed = nil
	}
	for _, line := range o.step.out {
		fields := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "TCP  ") || strings.HasPrefix(line, "UDP  ") || strings.HasPrefix(line, "FWM  "):
			check()
			s = o.service(fields[0] + " " + fields[1])
		case strings.HasPrefix(line, "  -> ") && s != nil && len(fields) >= 5:
			listed = append(listed, fields[1])
			o.checkDest(s, fields, flags)
		}
	}
	check()
	if onlyKey != "" && s == nil {
		o.fatalf("service %s not listed", onlyKey)
	}
}

func (o *oracle) checkDest(s *oracleService, fields []string, flags map[string]bool) {
	addr, err := netip.ParseAddrPort(fields[1])
	if err != nil {
		o.fatalf("bad listed address %q", fields[1])
	}
	i, ok := o.find(s, addr)
	if !ok {
		o.fatalf("%s: kernel lists %v, we do not have it", s.key, addr)
	}
	d := s.dests[i]
	num := func(i int) int64 {
		n, err := strconv.ParseInt(fields[i], 10, 64)
		if err != nil {
			o.fatalf("bad number %q in %v", fields[i], fields)
		}
		return n
	}
	type col struct {
		name      string
		got, want int64
	}
	var cols []col
	switch {
	case flags["--thresholds"]:
		cols = []col{{"Uthreshold", int64(d.UThreshold), num(2)}, {"Lthreshold", int64(d.LThreshold), num(3)},
			{"ActiveConn", d.Active(), num(4)}, {"InActConn", d.Inactive(), num(5)}}
	case flags["--persistent-conn"]:
		cols = []col{{"Weight", int64(d.Weight()), num(2)}, {"PersistConn", d.Persistent(), num(3)},
			{"ActiveConn", d.Active(), num(4)}, {"InActConn", d.Inactive(), num(5)}}
	default:
		cols = []col{{"Weight", int64(d.Weight()), num(3)}, {"ActiveConn", d.Active(), num(4)}, {"InActConn", d.Inactive(), num(5)}}
	}
	for _, c := range cols {
		if c.got != c.want {
			o.fatalf("%s %v %s: got %d, kernel %d", s.key, addr, c.name, c.got, c.want)
		}
	}
}

package agentx

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govs/govs/internal/testutil"
)

func TestOIDs(t *testing.T) {
	o := MustOID(".1.3.6.1.2.1.207")
	if o.String() != "1.3.6.1.2.1.207" || !o.Append(1, 2).HasPrefix(o) || o.HasPrefix(o.Append(1)) {
		t.Errorf("OID %v", o)
	}
	if _, err := ParseOID("1.3.x"); err == nil {
		t.Error("1.3.x parsed")
	}
	for _, tt := range []struct {
		a, b string
		want int
	}{{"1.3.6", "1.3.6", 0}, {"1.3.6", "1.3.6.1", -1}, {"1.3.7", "1.3.6.1", 1}, {"1.3.10", "1.3.9", 1}} {
		if got := Compare(MustOID(tt.a), MustOID(tt.b)); got != tt.want {
			t.Errorf("Compare(%s, %s) = %d", tt.a, tt.b, got)
		}
	}
}

// TestCodecRoundTrip: what the encoder writes, in either byte order, the decoder reads.
func TestCodecRoundTrip(t *testing.T) {
	for _, order := range []byteOrder{bigEndian, littleEndian} {
		e := encoder{order: order}
		e.oid(MustOID("1.3.6.1.2.1.207.1.1"), true)
		e.oid(MustOID("2.5"), false)
		e.octets([]byte("abcde"))
		e.u32(7)
		d := decoder{b: e.b, order: order}
		o1, inc := d.oid()
		o2, _ := d.oid()
		s := d.octets()
		n := d.u32()
		if d.err != nil || o1.String() != "1.3.6.1.2.1.207.1.1" || !inc || o2.String() != "2.5" || string(s) != "abcde" || n != 7 || len(d.b) != 0 {
			t.Errorf("%v: %v %v %v %q %d rest %d err %v", order, o1, inc, o2, s, n, len(d.b), d.err)
		}
	}
}

// FuzzDecode: any payload the master could send, a request or a set to test, is read
// without a panic, and a short one is an error.
func FuzzDecode(f *testing.F) {
	e := encoder{order: bigEndian}
	e.u16(0)
	e.u16(5)
	e.oid(MustOID("1.3.6.1.2.1.207"), true)
	e.oid(nil, false)
	f.Add(e.pdu(pduGetBulk, 1, 2, 3))
	f.Add([]byte{1, 6, 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 9, 0, 0, 0})
	set := encoder{order: bigEndian}
	if err := set.variable(Variable{Name: settableRoot.Append(1, 0), Type: Integer, Value: int32(3)}); err != nil {
		f.Fatal(err)
	}
	f.Add(set.pdu(pduTestSet, 1, 2, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseHeader(b)
		if err != nil {
			return
		}
		payload := b[headerLen:]
		if len(payload) > int(h.PayloadLen) {
			payload = payload[:h.PayloadLen]
		}
		a := New(Options{Source: func() []Variable { return sampleVars() },
			Setters: []Setter{&settable{values: map[string]int32{settableRoot.Append(1, 0).String(): 1}}}})
		d := decoder{b: payload, order: h.order}
		d.context(h)
		if h.Type != pduTestSet {
			_, _ = a.answer(h.Type, &d)
			return
		}
		if vars := d.variables(); d.err == nil {
			a.testSet(h.Transaction, vars)
		}
	})
}

var (
	bigEndian    byteOrder = binary.BigEndian
	littleEndian byteOrder = binary.LittleEndian
)

func sampleVars() []Variable {
	base := MustOID("1.3.6.1.4.1.99999.1")
	return []Variable{
		{Name: base.Append(1, 0), Type: Integer, Value: int32(-5)},
		{Name: base.Append(2, 0), Type: OctetString, Value: []byte("govs")},
		{Name: base.Append(3, 1), Type: Counter32, Value: uint32(7)},
		{Name: base.Append(3, 2), Type: Counter64, Value: uint64(1) << 40},
		{Name: base.Append(4, 0), Type: IPAddress, Value: netip.MustParseAddr("10.1.2.3")},
		{Name: base.Append(5, 0), Type: TimeTicks, Value: uint32(12345)},
		{Name: base.Append(6, 0), Type: Gauge32, Value: uint32(9)},
		{Name: base.Append(7, 0), Type: ObjectID, Value: MustOID("1.3.6.1.2.1.207")},
	}
}

// TestAgentUnderSnmpd: net-snmp's snmpd is the master; snmpget, snmpgetnext, snmpwalk
// and snmpbulkwalk see the subagent's variables with their types, a set is refused, a
// notification reaches the master's trap sink, and the agent opens a new session when
// snmpd comes back after a restart.
func TestAgentUnderSnmpd(t *testing.T) {
	testutil.Integration(t)
	testutil.NeedCommand(t, "snmpd")
	testutil.NeedCommand(t, "snmpwalk")
	m := startSnmpd(t)
	a := New(Options{Address: "unix:" + m.socket, Name: "govs test", Subtrees: []OID{MustOID("1.3.6.1.4.1.99999")}, Source: sampleVars})
	runAgent(t, a)

	want := `.1.3.6.1.4.1.99999.1.1.0 = INTEGER: -5
.1.3.6.1.4.1.99999.1.2.0 = STRING: "govs"
.1.3.6.1.4.1.99999.1.3.1 = Counter32: 7
.1.3.6.1.4.1.99999.1.3.2 = Counter64: 1099511627776
.1.3.6.1.4.1.99999.1.4.0 = IpAddress: 10.1.2.3
.1.3.6.1.4.1.99999.1.5.0 = Timeticks: (12345) 0:02:03.45
.1.3.6.1.4.1.99999.1.6.0 = Gauge32: 9
.1.3.6.1.4.1.99999.1.7.0 = OID: .1.3.6.1.2.1.207
`
	for _, tool := range []string{"snmpwalk", "snmpbulkwalk"} {
		var got string
		if !testutil.Eventually(10*time.Second, func() bool { got = m.tool(t, tool, "1.3.6.1.4.1.99999"); return got == want }) {
			t.Errorf("%s:\n%s\nwant:\n%s", tool, got, want)
		}
	}
	if got := m.tool(t, "snmpget", "1.3.6.1.4.1.99999.1.2.0", "1.3.6.1.4.1.99999.1.9.0"); !strings.Contains(got, `STRING: "govs"`) || !strings.Contains(got, ".1.3.6.1.4.1.99999.1.9.0 = No Such Object") {
		t.Errorf("snmpget:\n%s", got)
	}
	if got := m.tool(t, "snmpgetnext", "1.3.6.1.4.1.99999.1.3.1"); !strings.Contains(got, ".1.3.6.1.4.1.99999.1.3.2 = Counter64") {
		t.Errorf("snmpgetnext:\n%s", got)
	}
	if got := m.tool(t, "snmpset", "1.3.6.1.4.1.99999.1.1.0", "i", "3"); !strings.Contains(got, "notWritable") && !strings.Contains(got, "noAccess") {
		t.Errorf("snmpset was not refused:\n%s", got)
	}

	trapOID := MustOID("1.3.6.1.4.1.99999.0.1")
	if err := a.Notify(trapOID, Variable{Name: MustOID("1.3.6.1.4.1.99999.1.1.0"), Type: Integer, Value: int32(-5)}); err != nil {
		t.Fatal(err)
	}
	m.waitTrap(t, trapOID)

	// TCP, snmp_socket's other stream transport. (snmp_socket takes udp: too, as
	// keepalived's does, but net-snmp's master cannot send requests to a subagent over
	// UDP: "unknown addr type".)
	for i, addr := range []string{"tcp:" + m.tcp} {
		root := MustOID("1.3.6.1.4.1.99990").Append(uint32(i))
		b := New(Options{Address: addr, Name: "govs test " + addr, Subtrees: []OID{root}, Source: func() []Variable {
			return []Variable{{Name: root.Append(1, 0), Type: Integer, Value: int32(i)}}
		}})
		bctx, bcancel := context.WithCancel(context.Background())
		bdone := make(chan error, 1)
		go func() { bdone <- b.Run(bctx) }()
		want := fmt.Sprintf(".%s.1.0 = INTEGER: %d\n", root, i)
		var got string
		if !testutil.Eventually(10*time.Second, func() bool { got = m.tool(t, "snmpwalk", root.String()); return got == want }) {
			t.Errorf("over %s: %q, want %q", addr, got, want)
		}
		bcancel()
		<-bdone
	}

	// The master restarts: the agent registers again (after retryEvery at most).
	m.restart(t)
	if !testutil.Eventually(retryEvery+10*time.Second, func() bool { return m.tool(t, "snmpwalk", "1.3.6.1.4.1.99999") == want }) {
		t.Errorf("no variables after snmpd restarted:\n%s", m.tool(t, "snmpwalk", "1.3.6.1.4.1.99999"))
	}
}

// TestNotifyBeforeSession: a notification raised before the session is registered (as
// VRRP's first states are, the agent starting with them) waits for it instead of being
// written while the agent awaits the master's answer to Register, which the master's
// answer to the notification would then be taken for: the agent registers, and the
// notification reaches the trap sink.
func TestNotifyBeforeSession(t *testing.T) {
	testutil.Integration(t)
	testutil.NeedCommand(t, "snmpd")
	testutil.NeedCommand(t, "snmpwalk")
	m := startSnmpd(t)
	a := New(Options{Address: "unix:" + m.socket, Name: "govs test", Subtrees: []OID{MustOID("1.3.6.1.4.1.99999")}, Source: sampleVars})
	trapOID := MustOID("1.3.6.1.4.1.99999.0.1")
	for range 3 {
		if err := a.Notify(trapOID); err != nil {
			t.Fatal(err)
		}
	}
	runAgent(t, a)
	m.waitTrap(t, trapOID)
	if got := m.tool(t, "snmpget", "1.3.6.1.4.1.99999.1.2.0"); !strings.Contains(got, `STRING: "govs"`) {
		t.Errorf("the subagent did not register:\n%s", got)
	}
}

// waitTrap reads the trap sink until notification trap (of 1.3.6.1.4.1.99999) comes;
// snmpd sends its own coldStart too.
func (m *master) waitTrap(t *testing.T, trap OID) {
	t.Helper()
	// The OID as BER writes it: 1.3 is 0x2b, 99999 is 0x86 0x8d 0x1f.
	ours := []byte{0x2b, 6, 1, 4, 1, 0x86, 0x8d, 0x1f}
	for _, sub := range trap[7:] {
		ours = append(ours, byte(sub))
	}
	buf := make([]byte, 2048)
	_ = m.traps.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		n, _, err := m.traps.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no trap %s from snmpd: %v", trap, err)
		}
		if bytes.Contains(buf[:n], ours) && bytes.Contains(buf[:n], []byte("public")) {
			return
		}
	}
}

// master is an snmpd of the test's own, on loopback, with AgentX on a unix socket and
// a TCP port.
type master struct {
	conf, socket, addr, tcp string
	cmd                     *exec.Cmd
	traps                   net.PacketConn
}

func startSnmpd(t *testing.T) *master {
	t.Helper()
	dir := t.TempDir()
	traps, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { traps.Close() })
	addr := freeAddr(t, "udp")
	m := &master{conf: filepath.Join(dir, "snmpd.conf"), socket: filepath.Join(dir, "agentx"), addr: addr, traps: traps,
		tcp: freeAddr(t, "tcp")}
	conf := fmt.Sprintf("master agentx\nagentXSocket %s,tcp:%s\nagentaddress udp:%s\nrocommunity public 127.0.0.1\nrwcommunity private 127.0.0.1\ntrap2sink %s public\n",
		m.socket, m.tcp, addr, traps.LocalAddr())
	if err := os.WriteFile(m.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	m.start(t)
	t.Cleanup(func() { m.stop() })
	return m
}

func (m *master) start(t *testing.T) {
	t.Helper()
	m.cmd = exec.Command("snmpd", "-f", "-Lo", "-C", "-c", m.conf, "-I", "-smux,mteTrigger,mteTriggerConf")
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !testutil.Eventually(10*time.Second, func() bool { _, err := os.Stat(m.socket); return err == nil }) {
		t.Fatal("snmpd did not make its AgentX socket")
	}
}

func (m *master) stop() {
	m.cmd.Process.Kill()
	m.cmd.Wait()
	os.Remove(m.socket)
}

func (m *master) restart(t *testing.T) {
	m.stop()
	m.start(t)
}

// tool runs an net-snmp command line tool against the master; set writes with the
// private community.
func (m *master) tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	community := "public"
	if name == "snmpset" {
		community = "private"
	}
	out, _ := exec.Command(name, append([]string{"-v2c", "-c", community, "-On", "-t", "2", "-r", "0", m.addr}, args...)...).CombinedOutput()
	return string(out)
}

// freeAddr is a loopback port free a moment ago, for snmpd to listen on.
func freeAddr(t *testing.T, network string) string {
	t.Helper()
	var addr string
	if network == "tcp" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = l.Addr().String()
		l.Close()
	} else {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = c.LocalAddr().String()
		c.Close()
	}
	return addr
}

// TestRequestDuringRegistration: a master that asks for the first subtree before it
// answers the second Register (snmpd does, when a walk arrives meanwhile) gets its answer,
// and the agent registers the second subtree on the same session.
func TestRequestDuringRegistration(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "master")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	first, second := MustOID("1.3.6.1.4.1.99999"), MustOID("1.3.6.1.4.1.99998")
	a := New(Options{Address: "unix:" + sock, Subtrees: []OID{first, second}, Source: sampleVars})
	runAgent(t, a)

	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	answer := func(h header) { // success, as the master answers Open and Register
		e := encoder{order: bigEndian}
		e.u32(0)
		e.u16(0)
		e.u16(0)
		conn.Write(e.pdu(pduResponse, 7, h.Transaction, h.Pkt))
	}
	for i, want := range []uint8{pduOpen, pduRegister, pduRegister} {
		h, _, err := readPDU(conn)
		if err != nil || h.Type != want {
			t.Fatalf("PDU %d: type %d (%v), want %d", i, h.Type, err, want)
		}
		if i == 2 {
			// Before answering the second Register: a GetNext in the first subtree.
			e := encoder{order: bigEndian}
			e.oid(first, false)
			e.oid(nil, false)
			conn.Write(e.pdu(pduGetNext, 7, 40, 41))
			r, payload, err := readPDU(conn)
			if err != nil || r.Type != pduResponse || r.Pkt != 41 {
				t.Fatalf("the GetNext got type %d packet %d (%v)", r.Type, r.Pkt, err)
			}
			if !bytes.Contains(payload, []byte("govs")) && !bytes.Contains(payload, []byte{0xff, 0xff, 0xff, 0xfb}) {
				t.Errorf("the GetNext's answer has no variable of the subtree: % x", payload)
			}
		}
		answer(h)
	}
	if !testutil.Eventually(5*time.Second, func() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.registered }) {
		t.Fatal("the agent did not complete its registration")
	}
}

// runAgent runs a until the test ends.
func runAgent(t *testing.T, a *Agent) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

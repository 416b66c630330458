package agentx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultAddress is net-snmp's master agent socket, keepalived's default snmp_socket.
const DefaultAddress = "unix:/var/agentx/master"

// retryEvery is how long the agent waits before it connects again to a master it lost
// or could not reach (net-snmp's agentxPingInterval default).
const retryEvery = 15 * time.Second

// requestTimeout bounds the master's answer to Open and Register.
const requestTimeout = 5 * time.Second

// Options configure an Agent.
type Options struct {
	// Address is the master's socket: "unix:/path", "/path", "tcp:HOST:PORT" or
	// "udp:HOST:PORT" (snmp_socket's forms) [DefaultAddress].
	Address string
	// Name describes the subagent to the master (Open's description).
	Name string
	// Subtrees are registered with the master; Source gives their variables.
	Subtrees []OID
	// Source returns every variable of the subtrees, sorted by name (Compare).
	Source func() []Variable
	// Setters answer the sets of their subtrees' variables; every other variable is
	// not writable.
	Setters []Setter
	Logger  *slog.Logger
}

// Agent is a subagent session, connected again whenever the master goes away.
type Agent struct {
	opts  Options
	log   *slog.Logger
	start time.Time

	mu      sync.Mutex // guards the fields below; held while a PDU is written
	conn    net.Conn
	session uint32
	pkt     uint32
	// registered says the session is open and its subtrees registered: only then may
	// a notification go, or the master's answer to it would be read as the answer to
	// Open or Register. Until then notifications wait in pending.
	registered bool
	pending    []notification

	// txn is the set under way; only the goroutine reading the master's PDUs uses it.
	txn *setTxn
}

// setTxn is a set the master runs (RFC 2741 7.2.4): the variables TestSet passed,
// and what sets back those CommitSet set.
type setTxn struct {
	id        uint32 // the transaction ID
	vars      []Variable
	committed bool
	undo      []func() error
}

// notification is one waiting for the session, with the uptime it was raised at.
type notification struct {
	uptime uint32
	raised time.Time
	trap   OID
	vars   []Variable
}

// The notifications raised while there is no session wait for the next one, up to
// maxPending of them and for at most maxPendingAge: a master that comes back later gets
// none of its past.
const (
	maxPending    = 256
	maxPendingAge = 30 * time.Second
)

// New returns an agent; Run connects it.
func New(opts Options) *Agent {
	if opts.Address == "" {
		opts.Address = DefaultAddress
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Agent{opts: opts, log: opts.Logger.With("component", "snmp"), start: time.Now()}
}

// Run keeps a session with the master until ctx ends: it connects, opens the session,
// registers the subtrees and answers the master's requests, and starts again after
// retryEvery when the master is gone or refuses.
func (a *Agent) Run(ctx context.Context) error {
	for {
		err := a.session1(ctx)
		if ctx.Err() != nil {
			return nil
		}
		a.log.Warn("AgentX master agent: no session; trying again", "address", a.opts.Address, "in", retryEvery, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retryEvery):
		}
	}
}

// dial connects to the master; over UDP (keepalived's documented example) each PDU is
// a datagram, read whole.
func dial(ctx context.Context, addr string) (net.Conn, io.Reader, error) {
	var d net.Dialer
	network, address := "unix", addr
	for _, n := range []string{"tcp", "udp", "unix"} {
		if rest, ok := strings.CutPrefix(addr, n+":"); ok {
			network, address = n, rest
		}
	}
	c, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, nil, err
	}
	if network == "udp" {
		return c, &datagrams{c: c, buf: make([]byte, 65536)}, nil
	}
	return c, c, nil
}

// datagrams reads a datagram connection as a stream of its datagrams' bytes.
type datagrams struct {
	c   net.Conn
	buf []byte
	r   bytes.Reader
}

func (d *datagrams) Read(p []byte) (int, error) {
	if d.r.Len() == 0 {
		n, err := d.c.Read(d.buf)
		if err != nil {
			return 0, err
		}
		d.r.Reset(d.buf[:n])
	}
	return d.r.Read(p)
}

// session1 is one session, from connecting to losing the master.
func (a *Agent) session1(ctx context.Context) error {
	conn, in, err := dial(ctx, a.opts.Address)
	if err != nil {
		return err
	}
	// Stopping says goodbye (Close, reason shutdown) before it hangs up.
	stop := context.AfterFunc(ctx, func() {
		a.write(pduClose, 0, 0, true, func(e *encoder) { e.u8(5); e.b = append(e.b, 0, 0, 0) })
		conn.Close()
	})
	defer stop()
	defer conn.Close()
	a.mu.Lock()
	a.conn, a.session, a.pkt = conn, 0, 0
	a.mu.Unlock()
	a.txn = nil // a set of the last session ends with it
	defer func() {
		a.mu.Lock()
		a.conn, a.registered = nil, false
		a.mu.Unlock()
	}()

	e := encoder{order: binary.BigEndian}
	e.u8(0) // the master's default timeout
	e.b = append(e.b, 0, 0, 0)
	e.oid(nil, false)
	e.octets([]byte(a.opts.Name))
	h, err := a.request(conn, in, pduOpen, e)
	if err != nil {
		return fmt.Errorf("opening a session: %w", err)
	}
	a.mu.Lock()
	a.session = h.Session
	a.mu.Unlock()
	for _, tree := range a.opts.Subtrees {
		e := encoder{order: binary.BigEndian}
		e.u8(0)   // timeout: the session's
		e.u8(127) // priority: the default
		e.u8(0)   // no range
		e.u8(0)
		e.oid(tree, false)
		if _, err := a.request(conn, in, pduRegister, e); err != nil {
			return fmt.Errorf("registering %s: %w", tree, err)
		}
	}
	a.log.Info("AgentX session open", "address", a.opts.Address, "subtrees", len(a.opts.Subtrees))
	a.flushPending()
	return a.serve(in)
}

// request sends one of the subagent's own PDUs and reads the master's response, before
// serve runs.
func (a *Agent) request(conn net.Conn, in io.Reader, typ uint8, e encoder) (header, error) {
	a.mu.Lock()
	a.pkt++
	pkt, session := a.pkt, a.session
	_ = conn.SetWriteDeadline(time.Now().Add(requestTimeout))
	_, err := conn.Write(e.pdu(typ, session, 0, pkt))
	a.mu.Unlock()
	if err != nil {
		return header{}, err
	}
	_ = conn.SetReadDeadline(time.Now().Add(requestTimeout))
	defer conn.SetReadDeadline(time.Time{})
	// The master may ask for the subtrees already registered before it answers: those
	// requests are answered meanwhile.
	var h header
	var payload []byte
	for {
		if h, payload, err = readPDU(in); err != nil {
			return header{}, err
		}
		if h.Type == pduResponse && h.Pkt == pkt {
			break
		}
		if h.Type == pduResponse {
			return header{}, fmt.Errorf("a response to packet %d, want a response to %d", h.Pkt, pkt)
		}
		if err := a.handle(h, payload); err != nil {
			return header{}, err
		}
	}
	d := decoder{b: payload, order: h.order}
	d.u32() // sysUpTime
	if code := d.u16(); d.err != nil || code != 0 {
		return header{}, fmt.Errorf("refused: %s", responseError(code))
	}
	return h, nil
}

func readPDU(r io.Reader) (header, []byte, error) {
	var hb [headerLen]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return header{}, nil, err
	}
	h, err := parseHeader(hb[:])
	if err != nil {
		return header{}, nil, err
	}
	payload := make([]byte, h.PayloadLen)
	if _, err := io.ReadFull(r, payload); err != nil {
		return header{}, nil, err
	}
	return h, payload, nil
}

// serve answers the master until the connection ends.
func (a *Agent) serve(in io.Reader) error {
	for {
		h, payload, err := readPDU(in)
		if err != nil {
			return err
		}
		if err := a.handle(h, payload); err != nil {
			return err
		}
	}
}

// handle answers one PDU of the master's; it fails when the master closes the session.
func (a *Agent) handle(h header, payload []byte) error {
	d := decoder{b: payload, order: h.order}
	switch h.Type {
	case pduGet, pduGetNext, pduGetBulk:
		d.context(h)
		vars, err := a.answer(h.Type, &d)
		if err != nil {
			a.respond(h, 266, 0, nil) // parseError
			a.log.Warn("AgentX: a request the subagent cannot read", "err", err)
			return nil
		}
		a.respond(h, 0, 0, vars)
	case pduTestSet:
		d.context(h)
		vars := d.variables()
		if d.err != nil {
			a.respond(h, 266, 0, nil) // parseError
			a.log.Warn("AgentX: a set the subagent cannot read", "err", d.err)
			return nil
		}
		status, index := a.testSet(h.Transaction, vars)
		a.respond(h, uint16(status), index, nil)
	case pduCommitSet:
		status, index := a.commitSet(h.Transaction)
		a.respond(h, uint16(status), index, nil)
	case pduUndoSet:
		status, index := a.undoSet(h.Transaction)
		a.respond(h, uint16(status), index, nil)
	case pduCleanupSet:
		a.txn = nil // nothing is held between the phases: no answer, nothing to free
	case pduResponse:
		// Responses to notifications need nothing.
	case pduClose:
		return errors.New("the master closed the session")
	default:
		a.respond(h, 266, 0, nil)
	}
	return nil
}

// setterOf is the Setter whose subtrees hold name, or nil.
func (a *Agent) setterOf(name OID) Setter {
	for _, s := range a.opts.Setters {
		for _, tree := range s.Subtrees() {
			if name.HasPrefix(tree) {
				return s
			}
		}
	}
	return nil
}

// testSet is TestSet: the first variable that fails gives the answer and its index
// (from 1); when none fails, the set waits for CommitSet.
func (a *Agent) testSet(id uint32, vars []Variable) (Status, uint16) {
	a.txn = nil
	for k, v := range vars {
		status := NotWritable
		if s := a.setterOf(v.Name); s != nil {
			status = s.Test(v)
		}
		if status != NoError {
			return status, uint16(k + 1)
		}
	}
	a.txn = &setTxn{id: id, vars: vars}
	return NoError, 0
}

// commitSet is CommitSet: the variables of the set tested are set, in order; one that
// cannot be fails it, and the master asks to undo those set before it.
func (a *Agent) commitSet(id uint32) (Status, uint16) {
	t := a.txn
	if t == nil || t.id != id || t.committed {
		a.log.Warn("AgentX: a commit of no set tested", "transaction", id)
		return commitFailed, 0
	}
	t.committed = true
	for k, v := range t.vars {
		undo, err := a.setterOf(v.Name).Commit(v)
		if err != nil {
			a.log.Warn("AgentX: a set failed", "variable", v.Name.String(), "err", err)
			return commitFailed, uint16(k + 1)
		}
		t.undo = append(t.undo, undo)
		a.log.Info("SNMP set", "variable", v.Name.String(), "value", v.Value)
	}
	return NoError, 0
}

// undoSet is UndoSet: what the set's commit set is set back, the last first.
func (a *Agent) undoSet(id uint32) (Status, uint16) {
	t := a.txn
	if t == nil || t.id != id || !t.committed {
		a.log.Warn("AgentX: an undo of no set committed", "transaction", id)
		return undoFailed, 0
	}
	for k := len(t.undo) - 1; k >= 0; k-- {
		if err := t.undo[k](); err != nil {
			a.log.Warn("AgentX: a set could not be undone", "variable", t.vars[k].Name.String(), "err", err)
			return undoFailed, uint16(k + 1)
		}
		t.undo = t.undo[:k]
	}
	a.log.Info("SNMP set undone", "transaction", id)
	return NoError, 0
}

// answer resolves a Get, GetNext or GetBulk against the variables as they are now.
func (a *Agent) answer(typ uint8, d *decoder) ([]Variable, error) {
	var nonRepeaters, repetitions int
	if typ == pduGetBulk {
		nonRepeaters, repetitions = int(d.u16()), int(d.u16())
	}
	ranges := d.ranges()
	if d.err != nil {
		return nil, d.err
	}
	all := a.opts.Source()
	var out []Variable
	for i, r := range ranges {
		switch {
		case typ == pduGet:
			out = append(out, get(all, r.Start))
		case typ == pduGetNext || i < nonRepeaters:
			out = append(out, next(all, r))
		}
	}
	if typ == pduGetBulk && nonRepeaters < len(ranges) {
		reps := ranges[nonRepeaters:]
		for range min(repetitions, 1024) {
			done := true
			for j, r := range reps {
				v := next(all, r)
				out = append(out, v)
				if v.Type != endOfMibView {
					done = false
					reps[j] = searchRange{Start: v.Name, End: r.End}
				}
			}
			if done {
				break
			}
		}
	}
	return out, nil
}

// get is the variable named o, or noSuchObject.
func get(all []Variable, o OID) Variable {
	i, found := slices.BinarySearchFunc(all, o, func(v Variable, o OID) int { return Compare(v.Name, o) })
	if found {
		return all[i]
	}
	return Variable{Name: o, Type: noSuchObject}
}

// next is the first variable in r, or endOfMibView named by r's start.
func next(all []Variable, r searchRange) Variable {
	i, found := slices.BinarySearchFunc(all, r.Start, func(v Variable, o OID) int { return Compare(v.Name, o) })
	if found && !r.Include {
		i++
	}
	if i < len(all) && (len(r.End) == 0 || Compare(all[i].Name, r.End) < 0) {
		return all[i]
	}
	return Variable{Name: r.Start, Type: endOfMibView}
}

// respond answers request h in its byte order.
func (a *Agent) respond(h header, code, index uint16, vars []Variable) {
	a.write(pduResponse, h.Transaction, h.Pkt, false, func(e *encoder) {
		e.order = h.order
		e.u32(a.uptime())
		e.u16(code)
		e.u16(index)
		for _, v := range vars {
			if err := e.variable(v); err != nil {
				a.log.Error("AgentX: a variable cannot be encoded", "err", err)
			}
		}
	})
}

func (a *Agent) uptime() uint32 { return uint32(time.Since(a.start) / (10 * time.Millisecond)) }

// write sends a PDU built by fill on the current connection: the subagent's own (a new
// packet ID), or an answer to the master's packet pkt. A write the master does not take
// within requestTimeout, or that fails, ends the session (serve's read fails next), so
// that a stuck master never holds up the caller.
func (a *Agent) write(typ uint8, transaction, pkt uint32, own bool, fill func(e *encoder)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.writeLocked(typ, transaction, pkt, own, fill)
}

func (a *Agent) writeLocked(typ uint8, transaction, pkt uint32, own bool, fill func(e *encoder)) error {
	if a.conn == nil {
		return errors.New("no session with the master agent")
	}
	e := encoder{order: binary.BigEndian}
	fill(&e)
	if own {
		a.pkt++
		pkt = a.pkt
	}
	_ = a.conn.SetWriteDeadline(time.Now().Add(requestTimeout))
	if _, err := a.conn.Write(e.pdu(typ, a.session, transaction, pkt)); err != nil {
		a.conn.Close()
		return err
	}
	return nil
}

// sysUpTime and snmpTrapOID are the first two variables of every notification.
var (
	sysUpTime   = MustOID("1.3.6.1.2.1.1.3.0")
	snmpTrapOID = MustOID("1.3.6.1.6.3.1.1.4.1.0")
)

// Notify sends the notification trap with vars through the master, which forwards it to
// its trap sinks. Raised before the session is registered (govs starts its daemons
// with the agent, keepalived opens its session first), it waits for the session.
func (a *Agent) Notify(trap OID, vars ...Variable) error {
	n := notification{uptime: a.uptime(), raised: time.Now(), trap: trap, vars: vars}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.registered {
		if len(a.pending) == maxPending {
			a.pending = a.pending[1:]
		}
		a.pending = append(a.pending, n)
		return nil
	}
	return a.notifyLocked(n)
}

func (a *Agent) notifyLocked(n notification) error {
	return a.writeLocked(pduNotify, 0, 0, true, func(e *encoder) {
		all := append([]Variable{{Name: sysUpTime, Type: TimeTicks, Value: n.uptime}, {Name: snmpTrapOID, Type: ObjectID, Value: n.trap}}, n.vars...)
		for _, v := range all {
			if err := e.variable(v); err != nil {
				a.log.Error("AgentX: a notification variable cannot be encoded", "err", err)
			}
		}
	})
}

// flushPending marks the session registered and sends the notifications that waited
// for it, in order, those younger than maxPendingAge.
func (a *Agent) flushPending() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.registered = true
	pending := a.pending
	a.pending = nil
	for _, n := range pending {
		if time.Since(n.raised) > maxPendingAge {
			continue
		}
		if err := a.notifyLocked(n); err != nil {
			a.log.Warn("AgentX: a waiting notification was not sent", "err", err)
			return
		}
	}
}

// responseError names RFC 2741's response error codes.
func responseError(code uint16) string {
	names := map[uint16]string{256: "openFailed", 257: "notOpen", 258: "indexWrongType", 259: "indexAlreadyAllocated",
		260: "indexNoneAvailable", 261: "indexNotAllocated", 262: "unsupportedContext", 263: "duplicateRegistration",
		264: "unknownRegistration", 265: "unknownAgentCaps", 266: "parseError", 267: "requestDenied", 268: "processingError"}
	if n, ok := names[code]; ok {
		return n
	}
	return fmt.Sprintf("error %d", code)
}

package vrrp

import (
	"encoding/binary"
	"fmt"
)

// The kernel's process events connector (linux/connector.h, linux/cn_proc.h).
const (
	cnIdxProc = 1 // CN_IDX_PROC
	cnValProc = 1 // CN_VAL_PROC

	procCNMcastListen = 1 // PROC_CN_MCAST_LISTEN
	procCNMcastIgnore = 2 // PROC_CN_MCAST_IGNORE

	procEventFork = 0x00000001
	procEventExec = 0x00000002
	procEventComm = 0x00000200
	procEventExit = 0x80000000

	nlmsgHdrLen  = 16 // struct nlmsghdr
	cnMsgHdrLen  = 20 // struct cn_msg without data
	procEventHdr = 16 // what, cpu, timestamp_ns of struct proc_event
	nlmsgError   = 2  // NLMSG_ERROR
	nlmsgNoop    = 1  // NLMSG_NOOP
)

// procEvent is one decoded proc_event: the fields of the kinds process tracking uses.
type procEvent struct {
	what uint32
	// pid/tgid of exec, exit and comm (a thread when they differ).
	pid, tgid int
	// fork: the parent and the child (a new thread when childPID != childTGID).
	parentPID, parentTGID, childPID, childTGID int
	comm                                       string // comm: the new name
}

// decodeProcEvents decodes a datagram of netlink messages from the proc connector.
// Messages of other connectors, acknowledgements and event kinds not tracked are
// skipped; a message whose lengths do not fit is an error naming its offset. It reads
// only within b and never panics.
func decodeProcEvents(b []byte) ([]procEvent, error) {
	var out []procEvent
	ne := binary.NativeEndian
	for off := 0; off < len(b); {
		if len(b)-off < nlmsgHdrLen {
			return out, fmt.Errorf("proc connector: %d bytes at offset %d are too short for a netlink header", len(b)-off, off)
		}
		msgLen := int(ne.Uint32(b[off:]))
		typ := ne.Uint16(b[off+4:])
		if msgLen < nlmsgHdrLen || msgLen > len(b)-off {
			return out, fmt.Errorf("proc connector: netlink length %d at offset %d does not fit the %d bytes left", msgLen, off, len(b)-off)
		}
		msg := b[off+nlmsgHdrLen : off+msgLen]
		off += (msgLen + 3) &^ 3 // NLMSG_ALIGN
		if typ == nlmsgError || typ == nlmsgNoop {
			continue
		}
		if len(msg) < cnMsgHdrLen {
			return out, fmt.Errorf("proc connector: message at offset %d has %d bytes, too short for cn_msg", off, len(msg))
		}
		idx, val, ack := ne.Uint32(msg), ne.Uint32(msg[4:]), ne.Uint32(msg[12:])
		dataLen := int(ne.Uint16(msg[16:]))
		if idx != cnIdxProc || val != cnValProc || ack != 0 {
			continue
		}
		data := msg[cnMsgHdrLen:]
		if dataLen > len(data) {
			return out, fmt.Errorf("proc connector: cn_msg data length %d exceeds the %d bytes present", dataLen, len(data))
		}
		data = data[:dataLen]
		if len(data) < procEventHdr {
			continue // the PROC_EVENT_NONE acknowledgement of the subscription is shorter
		}
		ev, ok := decodeProcEvent(ne.Uint32(data), data[procEventHdr:])
		if ok {
			out = append(out, ev)
		}
	}
	return out, nil
}

// decodeProcEvent reads the event_data union for the kinds tracked; ok is false for
// another kind or a union too short for its kind.
func decodeProcEvent(what uint32, d []byte) (procEvent, bool) {
	ne := binary.NativeEndian
	word := func(i int) int { return int(int32(ne.Uint32(d[4*i:]))) }
	ev := procEvent{what: what}
	switch what {
	case procEventFork:
		if len(d) < 16 {
			return ev, false
		}
		ev.parentPID, ev.parentTGID, ev.childPID, ev.childTGID = word(0), word(1), word(2), word(3)
	case procEventExec, procEventExit:
		if len(d) < 8 {
			return ev, false
		}
		ev.pid, ev.tgid = word(0), word(1)
	case procEventComm:
		if len(d) < 8+16 {
			return ev, false
		}
		ev.pid, ev.tgid = word(0), word(1)
		name := d[8 : 8+16]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		ev.comm = string(name)
	default:
		return ev, false
	}
	return ev, true
}

// encodeProcListen is the message that subscribes a connector socket to process
// events, or ends the subscription: a netlink header, a cn_msg for CN_IDX_PROC and
// the operation (PROC_CN_MCAST_LISTEN or PROC_CN_MCAST_IGNORE).
func encodeProcListen(portID uint32, op uint32) []byte {
	ne := binary.NativeEndian
	b := make([]byte, nlmsgHdrLen+cnMsgHdrLen+4)
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], 3) // NLMSG_DONE, as the kernel's own users send it
	ne.PutUint32(b[12:], portID)
	c := b[nlmsgHdrLen:]
	ne.PutUint32(c[0:], cnIdxProc)
	ne.PutUint32(c[4:], cnValProc)
	ne.PutUint16(c[16:], 4)
	ne.PutUint32(c[cnMsgHdrLen:], op)
	return b
}

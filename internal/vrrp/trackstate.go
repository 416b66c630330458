package vrrp

import "maps"

// ProcessState is a vrrp_track_process's live state, as keepalived's SNMP shows it
// (vrrpProcessCurProc, vrrpProcessResult).
type ProcessState struct {
	// Processes is how many running processes match the block now.
	Processes int
	// Quorum is the state the instances see: in quorum, once terminate_delay or
	// fork_delay has confirmed a change of the count.
	Quorum bool
}

// TrackProcessStates are the running configuration's vrrp_track_processes' states, by
// name; nil before Run has read the processes.
func (n *Node) TrackProcessStates() map[string]ProcessState {
	if tr := n.tracker(); tr != nil {
		return tr.processStates()
	}
	return nil
}

// BFDStates are the bfd_instance sessions' states as SetBFD last reported them (Up or
// not), by name; a session never reported is missing, which is down.
func (n *Node) BFDStates() map[string]bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return maps.Clone(n.bfds)
}

// setProcessCount records a vrrp_track_process's number of matching processes. It
// wakes nobody: only the quorum, which setProcess records, moves priorities.
func (t *tracker) setProcessCount(name string, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.procCounts == nil {
		t.procCounts = map[string]int{}
	}
	t.procCounts[name] = n
}

func (t *tracker) processStates() map[string]ProcessState {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]ProcessState, len(t.values.procs))
	for name, up := range t.values.procs {
		out[name] = ProcessState{Processes: t.procCounts[name], Quorum: up}
	}
	return out
}
